/* --status's reading of the metrics endpoint (core/status_read.c), for
 * core/status.c: one answer parsed into what the tables show. Private to
 * the core. */
#ifndef NFC_STATUS_INT_H
#define NFC_STATUS_INT_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "json.h"
#include "metrics.h"

#define STATUS_BODY_MAX (32u << 20) /* bytes of one answer */
#define STATUS_MAX_INST 64
#define STATUS_MAX_SERIES (16 * NFC_METRICS_EXPORTERS_MAX)

/* The values kept per input, per output and per exporter stream (the
 * series names are in status_read.c, in this order). */
enum { IN_DATAGRAMS, IN_RECORDS, IN_MALFORMED, IN_KERNEL_DROPS };
enum { OUT_DELIVERED, OUT_QUEUED, OUT_SPOOL, OUT_FAILING, OUT_LOSSES }; /* the losses: OUT_LOSSES.. */
#define NCOLS 8
enum { E_DATAGRAMS, E_RECORDS, E_MISSING, E_TEMPLATES, E_LAST_SEEN, E_NO_TEMPLATE, E_N };

struct inst {
	int output;
	char name[64], plugin[64], status[256];
	unsigned long long v[NCOLS];
};

/* One exporter stream of one decoder. */
struct series {
	char decoder[64], versions[32], addr[INET6_ADDRSTRLEN];
	int family;
	uint8_t bin[16];
	unsigned port, domain;
	unsigned long long v[E_N];
};

struct snap {
	char version[32], abi[16];
	struct inst inst[STATUS_MAX_INST];
	size_t ninst;
	struct series *s; /* sorted by nfc_status_series_cmp once parsed */
	size_t ns, cap, hint;
};

/* An HTTP answer into sn (zeroed; the answer is modified in place): 0 if it
 * is a 200 with our metrics. Free sn->s afterwards, in any case. */
int nfc_status_parse(struct snap *sn, char *http);
/* By address, then domain (an address's streams together, its domains in
 * order), then decoder and port. */
int nfc_status_series_cmp(const void *a, const void *b);
const struct inst *nfc_status_inst_find(const struct snap *sn, int output, const char *name);
/* GET /metrics from the endpoint (a wildcard address means this host),
 * at most STATUS_BODY_MAX bytes, NUL-terminated; the reason in err. */
int nfc_status_fetch(const struct sockaddr_storage *sa, struct nfc_buf *out, char *err, size_t errlen);

#endif
