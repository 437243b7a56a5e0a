/*
 * dec_netflow_v5: the NetFlow version 5 decoder.
 *
 * A v5 datagram is a 24-byte header followed by `count` fixed 48-byte flow
 * records (Cisco's "NetFlow Export Datagram Format", version 5). Every record
 * has the same layout, so the decoder compiles one template at start() and
 * emits each record as a view into the datagram: no copy, no allocation.
 *
 * Wire checks (a datagram failing any of them is refused whole, before any
 * record is emitted, so a corrupt datagram never yields half its records):
 *   - at least the 24 header bytes, version 5;
 *   - count between 1 and 30 (the format's maximum);
 *   - length exactly 24 + 48 * count (a longer datagram is as suspect as a
 *     shorter one: the count and the length disagree, so neither is trusted).
 *
 * JSON keys are the v5 record names of python-netflow-v9-softflowd, which the
 * Sekoia.io NetFlow parser reads (../shared/docs/sekoia-intake.md), in record
 * order. Decision: IPV4_SRC_ADDR, IPV4_DST_ADDR and NEXT_HOP are rendered as
 * dotted-quad strings. The Python library yields integers for all three (its
 * example even shows "NEXT_HOP":0), but the intake documents IP addresses as
 * strings and maps NEXT_HOP as an address; a string is what its parser can
 * use. The two padding areas (byte 36, bytes 46-47) are not rendered.
 *
 * Added to each record (each can be turned off, docs/flow-fields.md):
 * exporterIPv4Address/exporterIPv6Address, SAMPLING_INTERVAL when the header
 * announces one (its low 14 bits), flowStartSeconds/flowEndSeconds from
 * FIRST_SWITCHED/LAST_SWITCHED, sysUptime and the export time.
 *
 * Loss accounting: the header's flow_sequence counts the flows the exporter
 * has exported before this datagram. Per exporter (source address and UDP
 * port, engine type, engine id: two probes on one host are two exporters)
 * flowlib's sequence accounting counts flows that did not arrive in
 * "sequence_gap_records", and those counted missing that turn up later in
 * "sequence_late_records" (lost = gap - late); restarts and counter resets
 * in "sequence_resets". The exporter table is flowlib's, bounded by
 * max_exporters (the least recently seen exporter makes room).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flowlib.h"

#define V5_VERSION 5
#define V5_HEADER_LEN 24
#define V5_RECORD_LEN 48
#define V5_MAX_COUNT 30
#define V5_FIELDS 20
/* A backward jump of at most this many flows is a late datagram. */
#define SEQ_REORDER_WINDOW (64u * V5_MAX_COUNT)

struct v5_header {
	uint16_t version;
	uint16_t count;
	uint32_t uptime;
	uint32_t secs;
	uint32_t nsecs;
	uint32_t sequence;
	uint8_t engine_type;
	uint8_t engine_id;
	uint16_t sampling;
};

static int v5_read_header(struct fl_cur *c, struct v5_header *h)
{
	int rc = 0;

	rc |= fl_u16(c, &h->version);
	rc |= fl_u16(c, &h->count);
	rc |= fl_u32(c, &h->uptime);
	rc |= fl_u32(c, &h->secs);
	rc |= fl_u32(c, &h->nsecs);
	rc |= fl_u32(c, &h->sequence);
	rc |= fl_u8(c, &h->engine_type);
	rc |= fl_u8(c, &h->engine_id);
	rc |= fl_u16(c, &h->sampling);
	return rc ? NFC_EMALFORMED : NFC_OK;
}

struct v5_inst {
	struct fl_cfg cfg; /* parameters (first: FL_PARAMS_ADDED) */
	struct nfc_ctx *ctx;
	struct nfc_template *tmpl;
	struct fl_table *tb;
};

/* Account one valid datagram's sequence number. Counters are bumped after
 * the lock is released (they are per thread in the core and need no lock). */
static void v5_track(struct v5_inst *v, const struct sockaddr *sa, const struct v5_header *h, time_t now)
{
	struct fl_seq_result r;
	struct fl_stream *s;
	struct fl_key k;

	fl_key_make(&k, sa, fl_source_port(sa), (uint32_t)h->engine_type << 8 | h->engine_id);
	s = fl_stream_get(v->tb, &k);
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	fl_seq_track(&s->seq[0], h->sequence, h->count, SEQ_REORDER_WINDOW, h->uptime, 1, &r);
	s->datagrams++;
	s->records += h->count;
	s->last_seen = now;
	pthread_mutex_unlock(&s->lock);
	fl_stream_put(v->tb, s);
	fl_seq_count(v->tb, &r);
}

/* ------------------------------------------------------------------------ */
/* Plugin callbacks                                                         */

/* The 48-byte v5 record, field by field, in wire order. */
#define F(n, k, l) { .name = (n), .kind = (k), .length = (l) }
static const struct nfc_field v5_fields[V5_FIELDS] = {
	F("IPV4_SRC_ADDR", NFC_FIELD_IPV4, 4),
	F("IPV4_DST_ADDR", NFC_FIELD_IPV4, 4),
	F("NEXT_HOP", NFC_FIELD_IPV4, 4),
	F("INPUT", NFC_FIELD_UINT, 2),
	F("OUTPUT", NFC_FIELD_UINT, 2),
	F("IN_PACKETS", NFC_FIELD_UINT, 4),
	F("IN_OCTETS", NFC_FIELD_UINT, 4),
	F("FIRST_SWITCHED", NFC_FIELD_UINT, 4),
	F("LAST_SWITCHED", NFC_FIELD_UINT, 4),
	F("SRC_PORT", NFC_FIELD_UINT, 2),
	F("DST_PORT", NFC_FIELD_UINT, 2),
	F("pad1", NFC_FIELD_SKIP, 1),
	F("TCP_FLAGS", NFC_FIELD_UINT, 1),
	F("PROTO", NFC_FIELD_UINT, 1),
	F("TOS", NFC_FIELD_UINT, 1),
	F("SRC_AS", NFC_FIELD_UINT, 2),
	F("DST_AS", NFC_FIELD_UINT, 2),
	F("SRC_MASK", NFC_FIELD_UINT, 1),
	F("DST_MASK", NFC_FIELD_UINT, 1),
	F("pad2", NFC_FIELD_SKIP, 2),
};
#undef F
#define F_FIRST_SWITCHED 7
#define F_LAST_SWITCHED 8


static void v5_release(struct v5_inst *v)
{
	nfc_template_put(v->tmpl);
	v->tmpl = NULL;
	fl_table_free(v->tb);
	v->tb = NULL;
}

static int v5_start(void *inst, struct nfc_ctx *ctx)
{
	struct v5_inst *v = inst;
	struct nfc_field f[V5_FIELDS + 4];
	size_t n = V5_FIELDS;
	int rc;

	v->ctx = ctx;
	memcpy(f, v5_fields, sizeof(v5_fields));
	if (v->cfg.add_exporter)
		f[n++] = (struct nfc_field){ .name = "exporterIPAddress", .kind = NFC_FIELD_EXPORTER };
	if (v->cfg.add_sampling)
		f[n++] = (struct nfc_field){ .name = "SAMPLING_INTERVAL", .kind = NFC_FIELD_SAMPLING };
	if (v->cfg.add_times) {
		f[n++] = (struct nfc_field){ .name = "flowStartSeconds", .kind = NFC_FIELD_UPTIME_SECS,
		                             .src = F_FIRST_SWITCHED };
		f[n++] = (struct nfc_field){ .name = "flowEndSeconds", .kind = NFC_FIELD_UPTIME_SECS,
		                             .src = F_LAST_SWITCHED };
	}
	v->tmpl = nfc_template_new(ctx, f, n);
	if (!v->tmpl) {
		nfc_log(ctx, NFC_LOG_ERR, "cannot compile the NetFlow v5 record template");
		rc = NFC_ENOMEM;
		goto fail;
	}
	if (nfc_template_record_len(v->tmpl) != V5_RECORD_LEN) {
		nfc_log(ctx, NFC_LOG_ERR, "NetFlow v5 template is %zu bytes, expected %d",
		        nfc_template_record_len(v->tmpl), V5_RECORD_LEN);
		rc = NFC_ERROR;
		goto fail;
	}
	v->tb = fl_table_new(ctx, &v->cfg, NULL, "records", NULL, NULL);
	if (!v->tb) {
		rc = NFC_ENOMEM;
		goto fail;
	}
	return NFC_OK;

fail:
	v5_release(v);
	return rc;
}

static int v5_decode(void *inst, struct nfc_decode *d, const uint8_t *p, size_t len)
{
	struct v5_inst *v = inst;
	struct fl_cur c = { p, len };
	struct v5_header h = { 0 };
	const uint8_t *rec;
	unsigned i;
	int rc;

	if (v5_read_header(&c, &h) < 0) {
		nfc_log_remote(v->ctx, NFC_LOG_DEBUG, "v5: datagram of %zu bytes is shorter than the header",
		               len);
		return NFC_EMALFORMED;
	}
	if (h.version != V5_VERSION) {
		nfc_log_remote(v->ctx, NFC_LOG_DEBUG, "v5: version %u is not 5", h.version);
		return NFC_EMALFORMED;
	}
	if (h.count < 1 || h.count > V5_MAX_COUNT) {
		nfc_log_remote(v->ctx, NFC_LOG_DEBUG, "v5: record count %u is outside 1..%d", h.count,
		               V5_MAX_COUNT);
		return NFC_EMALFORMED;
	}
	if (c.left != (size_t)h.count * V5_RECORD_LEN) {
		nfc_log_remote(v->ctx, NFC_LOG_DEBUG,
		               "v5: datagram of %zu bytes does not hold its %u records (%u bytes expected)",
		               len, h.count, V5_HEADER_LEN + h.count * V5_RECORD_LEN);
		return NFC_EMALFORMED;
	}

	nfc_decode_set_origin(d, V5_VERSION, (uint32_t)h.engine_type << 8 | h.engine_id,
	                      (uint64_t)h.secs * 1000 + h.nsecs / 1000000);
	nfc_decode_set_uptime(d, h.uptime);
	/* two bits of mode, fourteen of interval */
	nfc_decode_set_sampling(d, h.sampling & 0x3fffu);
	v5_track(v, nfc_decode_source(d), &h, nfc_decode_time(d).tv_sec);

	for (i = 0; i < h.count; i++) {
		rec = fl_take(&c, V5_RECORD_LEN);
		if (!rec)
			return NFC_EMALFORMED; /* unreachable: the length was checked */
		rc = nfc_emit(d, v->tmpl, rec, V5_RECORD_LEN);
		if (rc < 0)
			return rc;
	}
	return NFC_OK;
}

static void v5_stop(void *inst)
{
	v5_release(inst);
}

static void v5_exporters(void *inst, size_t max, void (*each)(void *arg, const struct nfc_exporter_info *e),
                         void *arg)
{
	struct v5_inst *v = inst;

	if (v->tb)
		fl_table_exporters(v->tb, max, each, arg);
}

static const struct nfc_decoder_ops v5_ops = {
	.size = sizeof(struct nfc_decoder_ops),
	.versions = { V5_VERSION, 0 },
	.start = v5_start,
	.decode = v5_decode,
	.stop = v5_stop,
	.exporters = v5_exporters,
};

static const struct nfc_param v5_params[] = {
	FL_PARAMS_ADDED(struct v5_inst),
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_DECODER,
	.name = "netflow_v5",
	.version = PACKAGE_VERSION,
	.description = "NetFlow version 5 decoder (fixed 48-byte records)",
	.license = "Apache-2.0",
	.flags = 0,
	.instance_size = sizeof(struct v5_inst),
	.params = v5_params,
	.decoder = &v5_ops,
};
