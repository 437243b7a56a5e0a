/*
 * in_pcap: replay a capture file. Reads pcap or pcapng with libpcap, takes
 * the UDP payload of every frame (optionally only those sent to one port)
 * and hands it to the core as if it had just been received, with the
 * frame's source address and port as the exporter and the capture time as
 * the receive time. When the file is exhausted run() returns NFC_OK: once
 * every input has ended the daemon delivers what is queued and exits.
 *
 * Shape:
 *  - One worker. frame.c parses each frame through a bounds-checked
 *    cursor: link layer (Ethernet with 802.1Q/802.1ad/QinQ tags, Linux
 *    cooked v1 and v2, raw IP, BSD loopback), IPv4 (options skipped) or
 *    IPv6 (extension headers walked), then UDP. Lengths from the frame are
 *    checked against what was captured; nothing is read past the frame.
 *  - What is not a complete UDP datagram is counted and skipped, never
 *    submitted: non_udp (ARP, TCP, ICMP, ESP, ...), other_port (port=),
 *    fragments (IPv4 or IPv6 fragments, the first one included: its UDP
 *    payload is incomplete and fragments are not reassembled), snapped
 *    (the capture's snap length cut the datagram) and malformed_frames
 *    (lengths that contradict each other or the frame).
 *  - libpcap reuses its buffer on every read, so payloads are copied into
 *    an arena allocated in open() and submitted PCAP_BATCH at a time;
 *    nfc_worker_throttle() before each submit keeps the output queues at
 *    most about half full, so a file read faster than the outputs can send
 *    loses nothing.
 *  - A file cut in the middle of a frame (a capture that was interrupted)
 *    is read up to the cut and ends with a warning; any other read error
 *    ends the input with an error.
 *
 * Timestamps are read at nanosecond precision (libpcap scales microsecond
 * files). A frame stamped at exactly 1970-01-01T00:00:00 (some synthetic
 * captures) has no usable time: the core stamps it when it is read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include "frame.h"
#include "nfc/plugin.h"

#define PCAP_BATCH 64              /* datagrams per nfc_submit() */
#define PCAP_ARENA (512 * 1024)    /* payload bytes kept for one submit */

enum { C_FRAMES, C_NON_UDP, C_OTHER_PORT, C_FRAGMENTS, C_SNAPPED, C_MALFORMED, C_COUNT };
static const char *const counter_names[C_COUNT] = {
	"frames", "non_udp", "other_port", "fragments", "snapped", "malformed_frames"
};

struct pcap_in {
	/* parameters, written by the core */
	char *path;
	long long port;

	/* state */
	struct nfc_ctx *ctx;
	pcap_t *pc;
	int linktype;
	int counter[C_COUNT];
	uint64_t count[C_COUNT]; /* the same, for the end-of-file line */
	uint8_t *arena;          /* PCAP_ARENA bytes */
	size_t used;             /* bytes of the arena taken */
	struct nfc_datagram dgs[PCAP_BATCH];
	size_t ndgs;
	uint64_t submitted;
};

#define P(m) offsetof(struct pcap_in, m)
static const struct nfc_param pcap_params[] = {
	{ "path", NFC_PARAM_STRING, NULL, NFC_PARAM_REQUIRED, P(path), 0, 0,
	  "Capture file to replay (pcap or pcapng, as tcpdump -w or Wireshark write it)." },
	{ "port", NFC_PARAM_INT, "0", 0, P(port), 0, 65535,
	  "Only UDP datagrams sent to this destination port (0: every UDP datagram)." },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL },
};
#undef P

static int pcap_check(void *inst, struct nfc_ctx *ctx)
{
	struct pcap_in *pi = inst;

	if (!pi->path || !pi->path[0]) {
		nfc_config_error(ctx, "path", "is empty; give the capture file to replay");
		return NFC_EINVAL;
	}
	/* Caught here, --check-config reports it too, with the line. */
	if (access(pi->path, R_OK) < 0) {
		nfc_config_error(ctx, "path", "cannot read the capture file %s: %s", pi->path, strerror(errno));
		return NFC_EINVAL;
	}
	return NFC_OK;
}

static void pcap_close_input(void *inst)
{
	struct pcap_in *pi = inst;

	if (pi->pc)
		pcap_close(pi->pc);
	pi->pc = NULL;
	free(pi->arena);
	pi->arena = NULL;
}

static int pcap_open_input(void *inst, struct nfc_ctx *ctx, unsigned *nworkers)
{
	struct pcap_in *pi = inst;
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	FILE *fp;
	int i;

	pi->ctx = ctx;
	for (i = 0; i < C_COUNT; i++) {
		pi->counter[i] = nfc_counter_register(ctx, counter_names[i]);
		if (pi->counter[i] < 0) {
			nfc_log(ctx, NFC_LOG_ERR, "cannot register the counter %s", counter_names[i]);
			return pi->counter[i];
		}
	}
	/* fopen() first, so a missing or unreadable file is reported with
	 * errno's words rather than libpcap's. */
	fp = fopen(pi->path, "rb");
	if (!fp) {
		nfc_log(ctx, NFC_LOG_ERR, "cannot open the capture file %s: %s (see [%s] path)", pi->path,
		        strerror(errno), nfc_ctx_name(ctx));
		return NFC_ERROR;
	}
	pi->pc = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pi->pc) {
		fclose(fp); /* not taken over on failure */
		nfc_log(ctx, NFC_LOG_ERR, "%s is not a capture file libpcap can read (pcap or pcapng): %s",
		        pi->path, errbuf);
		return NFC_ERROR;
	}
	pi->linktype = pcap_datalink(pi->pc);
	if (!frame_linktype_supported(pi->linktype)) {
		const char *name = pcap_datalink_val_to_name(pi->linktype);

		nfc_log(ctx, NFC_LOG_ERR, "%s: link type %s (%d) is not supported; captures of Ethernet, "
		        "Linux cooked (any interface), raw IP or BSD loopback are", pi->path, name ? name : "?",
		        pi->linktype);
		goto fail_close;
	}
	pi->arena = malloc(PCAP_ARENA);
	if (!pi->arena) {
		nfc_log(ctx, NFC_LOG_ERR, "out of memory");
		goto fail_close;
	}
	*nworkers = 1;
	return NFC_OK;

fail_close:
	pcap_close_input(pi);
	return NFC_ERROR;
}

static void count(struct pcap_in *pi, int c)
{
	pi->count[c]++;
	nfc_counter_add(pi->ctx, pi->counter[c], 1);
}

/* Hand the pending datagrams to the core, waiting first while an output's
 * queue is more than half full. */
static void flush(struct pcap_in *pi, struct nfc_worker *w)
{
	if (pi->ndgs == 0)
		return;
	nfc_worker_throttle(w);
	nfc_submit(w, pi->dgs, pi->ndgs);
	pi->submitted += pi->ndgs;
	pi->ndgs = 0;
	pi->used = 0;
}

/* Keep one datagram for the next submit (the arena always has room for the
 * largest one once flushed: PCAP_ARENA > 65535). */
static void add(struct pcap_in *pi, struct nfc_worker *w, const struct pcap_pkthdr *ph,
                const struct frame_udp *v)
{
	struct nfc_datagram *dg;

	if (v->len > PCAP_ARENA - pi->used)
		flush(pi, w);
	dg = &pi->dgs[pi->ndgs++];
	memcpy(pi->arena + pi->used, v->payload, v->len);
	dg->data = pi->arena + pi->used;
	dg->len = v->len;
	pi->used += v->len;
	dg->source = v->src;
	dg->received.tv_sec = ph->ts.tv_sec;
	dg->received.tv_nsec = ph->ts.tv_usec; /* nanoseconds: opened with PCAP_TSTAMP_PRECISION_NANO */
	dg->truncated = 0;
	if (pi->ndgs == PCAP_BATCH)
		flush(pi, w);
}

static void log_summary(struct pcap_in *pi, const char *how)
{
	nfc_log(pi->ctx, NFC_LOG_INFO,
	        "%s %s: %llu frames, %llu UDP datagrams replayed; skipped %llu non-UDP, %llu to other ports, "
	        "%llu fragments, %llu cut by the snap length, %llu malformed", how, pi->path,
	        (unsigned long long)pi->count[C_FRAMES], (unsigned long long)pi->submitted,
	        (unsigned long long)pi->count[C_NON_UDP], (unsigned long long)pi->count[C_OTHER_PORT],
	        (unsigned long long)pi->count[C_FRAGMENTS], (unsigned long long)pi->count[C_SNAPPED],
	        (unsigned long long)pi->count[C_MALFORMED]);
}

static int pcap_run(void *inst, struct nfc_worker *w)
{
	struct pcap_in *pi = inst;
	struct pcap_pkthdr *ph;
	const u_char *bytes;
	struct frame_udp v;
	const char *err;
	int rc;

	if (nfc_worker_index(w) != 0 || !pi->pc)
		return NFC_EINVAL;
	while (!nfc_worker_stopping(w)) {
		rc = pcap_next_ex(pi->pc, &ph, &bytes);
		if (rc == 0)
			continue; /* live captures only */
		if (rc == PCAP_ERROR_BREAK) { /* the end of the file */
			flush(pi, w);
			nfc_submit(w, NULL, 0);
			log_summary(pi, "end of");
			return NFC_OK;
		}
		if (rc < 0) {
			err = pcap_geterr(pi->pc);
			flush(pi, w);
			nfc_submit(w, NULL, 0);
			/* A capture interrupted mid-write ends in part of a
			 * frame: what came before it is good. libpcap says
			 * "truncated dump file" (pcap) or "truncated pcapng
			 * dump file". */
			if (strstr(err, "truncated")) {
				nfc_log(pi->ctx, NFC_LOG_WARN, "%s ends in the middle of a frame (%s): "
				        "stopping after frame %llu", pi->path, err,
				        (unsigned long long)pi->count[C_FRAMES]);
				log_summary(pi, "end of");
				return NFC_OK;
			}
			nfc_log(pi->ctx, NFC_LOG_ERR, "%s: read error after frame %llu: %s", pi->path,
			        (unsigned long long)pi->count[C_FRAMES], err);
			log_summary(pi, "stopped reading");
			return NFC_ERROR;
		}
		count(pi, C_FRAMES);
		switch (frame_parse(pi->linktype, (uint16_t)pi->port, bytes, ph->caplen, ph->len, &v)) {
		case FRAME_UDP: /* the core gives an IPv4-mapped sender as IPv4 */
			add(pi, w, ph, &v);
			break;
		case FRAME_NON_UDP:
			count(pi, C_NON_UDP);
			break;
		case FRAME_OTHER_PORT:
			count(pi, C_OTHER_PORT);
			break;
		case FRAME_FRAGMENT:
			count(pi, C_FRAGMENTS);
			nfc_log_remote(pi->ctx, NFC_LOG_WARN, "%s frame %llu: %s: skipped (fragments are not "
			               "reassembled)", pi->path, (unsigned long long)pi->count[C_FRAMES], v.why);
			break;
		case FRAME_SNAPPED:
			count(pi, C_SNAPPED);
			nfc_log_remote(pi->ctx, NFC_LOG_WARN, "%s frame %llu: %u of %u bytes captured (%s): "
			               "skipped; capture with a larger snap length (tcpdump -s 0)", pi->path,
			               (unsigned long long)pi->count[C_FRAMES], ph->caplen, ph->len, v.why);
			break;
		default:
			count(pi, C_MALFORMED);
			nfc_log_remote(pi->ctx, NFC_LOG_WARN, "%s frame %llu: malformed (%s): skipped", pi->path,
			               (unsigned long long)pi->count[C_FRAMES], v.why ? v.why : "?");
			break;
		}
	}
	/* Shutdown before the end: what was read still goes to the outputs. */
	nfc_submit(w, pi->dgs, pi->ndgs);
	pi->submitted += pi->ndgs;
	pi->ndgs = 0;
	log_summary(pi, "stopped before the end of");
	return NFC_OK;
}

static void pcap_describe(void *inst, char *out, size_t outlen)
{
	struct pcap_in *pi = inst;
	const char *link = pcap_datalink_val_to_description(pi->linktype);
	char filter[48];

	if (pi->port)
		snprintf(filter, sizeof(filter), "UDP to port %lld", pi->port);
	else
		snprintf(filter, sizeof(filter), "every UDP datagram");
	snprintf(out, outlen, "capture file %s (%s, %s)", pi->path, link ? link : "?", filter);
}

static const struct nfc_input_ops pcap_ops = {
	.size = sizeof(struct nfc_input_ops),
	.open = pcap_open_input,
	.run = pcap_run,
	.describe = pcap_describe,
	.close = pcap_close_input,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_INPUT,
	.name = "pcap",
	.version = PACKAGE_VERSION,
	.description = "replay the UDP datagrams of a pcap/pcapng capture file, then end",
	.license = "Apache-2.0",
	.flags = 0,
	.instance_size = sizeof(struct pcap_in),
	.params = pcap_params,
	.check = pcap_check,
	.destroy = NULL,
	.input = &pcap_ops,
};
