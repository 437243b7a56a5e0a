/* The Prometheus metrics endpoint, [core] metrics=ADDR:PORT (core/metrics.c). */
#ifndef NFC_METRICS_H
#define NFC_METRICS_H

#include <stddef.h>
#include <sys/socket.h>

struct nfc_ctx;

/* Every metric name starts with this. */
#define NFC_METRICS_PREFIX "netflow_concentrator_"
/* The endpoint serves the exporter series of at most this many exporters
 * (streams) per decoder, the most recently seen. */
#define NFC_METRICS_EXPORTERS_MAX 256

/* ADDR:PORT ("127.0.0.1:9108", "[::]:9108", "0.0.0.0:9108") to an address;
 * NFC_EINVAL with the reason in err. */
int nfc_metrics_parse(const char *spec, struct sockaddr_storage *sa, char *err, size_t errlen);
/* Serve GET /metrics for these instances (the arrays outlive the server). */
int nfc_metrics_start(const char *spec, struct nfc_ctx *const *in, size_t nin, struct nfc_ctx *const *dec,
                      size_t ndec, struct nfc_ctx *const *out, size_t nout);
void nfc_metrics_stop(void);

#endif
