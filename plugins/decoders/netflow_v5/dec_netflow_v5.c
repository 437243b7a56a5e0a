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
 * Loss accounting: the header's flow_sequence counts the flows the exporter
 * has exported before this datagram. Per exporter (source address and UDP
 * port, engine type, engine id: two probes on one host are two exporters)
 * the decoder remembers the sequence it expects next and counts flows that
 * did not arrive in "sequence_gap_records". Flows counted missing that turn
 * up later (a datagram that arrived out of order) are counted in
 * "sequence_late_records": flows lost = gap - late. A restart or counter
 * reset is counted in "sequence_resets" and tracking starts afresh, never
 * as a gap: when sysUptime went back by more than a minute (a reboot; its
 * wrap at 2^32 ms is told apart), when the sequence went back by more than a
 * reorder window, or when it jumped forward by more than any plausible loss.
 * The table of exporters has a fixed size; when a bucket's probe window is
 * full, the least recently seen entry is replaced (its next datagram starts
 * tracking afresh). An exporter that restarts on a new source port is a new
 * entry; the old one ages out.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nfc/plugin.h"

#define V5_VERSION 5
#define V5_HEADER_LEN 24
#define V5_RECORD_LEN 48
#define V5_MAX_COUNT 30

/* Exporter table: EXP_SLOTS entries, open addressing with a short probe. */
#define EXP_SLOTS 4096u
#define EXP_PROBE 8u
/* A backward jump of at most this many flows is a late datagram. */
#define SEQ_REORDER_WINDOW (64u * V5_MAX_COUNT)
/* A forward jump of more flows than this is a counter reset, not a loss. */
#define SEQ_MAX_GAP (1u << 24)
/* sysUptime going back by more than this (ms) is a reboot... */
#define UPTIME_REBOOT_MS 60000u
/* ...unless it wrapped at 2^32 ms: the old value within this of the top. */
#define UPTIME_WRAP_MS 3600000u

/* ------------------------------------------------------------------------ */
/* Bounds-checked cursor over the datagram                                  */

struct cursor {
	const uint8_t *p;
	size_t left;
};

/* Return a pointer to the next n bytes and advance, or NULL when fewer than
 * n bytes remain (the cursor is then left unchanged). */
static const uint8_t *cur_take(struct cursor *c, size_t n)
{
	const uint8_t *q;

	if (n > c->left)
		return NULL;
	q = c->p;
	c->p += n;
	c->left -= n;
	return q;
}

static int cur_u8(struct cursor *c, uint8_t *v)
{
	const uint8_t *q = cur_take(c, 1);

	if (!q)
		return NFC_EMALFORMED;
	*v = q[0];
	return NFC_OK;
}

static int cur_u16(struct cursor *c, uint16_t *v)
{
	const uint8_t *q = cur_take(c, 2);

	if (!q)
		return NFC_EMALFORMED;
	*v = (uint16_t)((unsigned)q[0] << 8 | q[1]);
	return NFC_OK;
}

static int cur_u32(struct cursor *c, uint32_t *v)
{
	const uint8_t *q = cur_take(c, 4);

	if (!q)
		return NFC_EMALFORMED;
	*v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
	return NFC_OK;
}

/* ------------------------------------------------------------------------ */
/* The v5 header                                                            */

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

static int v5_read_header(struct cursor *c, struct v5_header *h)
{
	int rc = 0;

	rc |= cur_u16(c, &h->version);
	rc |= cur_u16(c, &h->count);
	rc |= cur_u32(c, &h->uptime);
	rc |= cur_u32(c, &h->secs);
	rc |= cur_u32(c, &h->nsecs);
	rc |= cur_u32(c, &h->sequence);
	rc |= cur_u8(c, &h->engine_type);
	rc |= cur_u8(c, &h->engine_id);
	rc |= cur_u16(c, &h->sampling);
	return rc ? NFC_EMALFORMED : NFC_OK;
}

/* ------------------------------------------------------------------------ */
/* Exporter sequence tracking                                               */

struct exp_key {
	uint8_t family; /* AF_INET, AF_INET6, or 0 when the source is unknown */
	uint8_t engine_type;
	uint8_t engine_id;
	uint8_t port[2]; /* UDP source port, network order */
	uint8_t addr[16];
};

struct exp_slot {
	struct exp_key key;
	uint8_t used;
	uint32_t expected; /* flow_sequence of the next datagram */
	uint32_t uptime;   /* sysUptime of the newest datagram */
	uint64_t missing;  /* flows counted in gaps that have not turned up */
	uint64_t last_use; /* datagram serial, for replacement */
};

struct v5_inst {
	struct nfc_ctx *ctx;
	struct nfc_template *tmpl;
	int c_gap, c_reset, c_late;

	pthread_mutex_t lock; /* protects the exporter table and serial */
	int lock_ready;
	struct exp_slot *slots; /* [EXP_SLOTS] */
	uint64_t serial;
};

/* Build the table key from the datagram's sender; IPv4-mapped IPv6 sources
 * (a dual-stack socket) are folded into plain IPv4 so one exporter has one
 * key. */
static void exp_key_make(struct exp_key *k, const struct sockaddr *sa, const struct v5_header *h)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(k, 0, sizeof(*k));
	k->engine_type = h->engine_type;
	k->engine_id = h->engine_id;
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		k->family = AF_INET;
		memcpy(k->port, &sin->sin_port, 2);
		memcpy(k->addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		memcpy(k->port, &sin6->sin6_port, 2);
		if (!memcmp(sin6->sin6_addr.s6_addr, v4mapped, sizeof(v4mapped))) {
			k->family = AF_INET;
			memcpy(k->addr, sin6->sin6_addr.s6_addr + 12, 4);
		} else {
			k->family = AF_INET6;
			memcpy(k->addr, sin6->sin6_addr.s6_addr, 16);
		}
	}
}

/* FNV-1a over the key bytes (the struct has no padding: all uint8_t). */
static uint32_t exp_hash(const struct exp_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

/* Find the exporter's slot, or claim one (a free slot of the probe window,
 * else the least recently used one). *fresh says the slot has no history. */
static struct exp_slot *exp_lookup(struct v5_inst *v, const struct exp_key *k, int *fresh)
{
	uint32_t home = exp_hash(k) & (EXP_SLOTS - 1);
	struct exp_slot *victim = NULL;
	unsigned i;

	for (i = 0; i < EXP_PROBE; i++) {
		struct exp_slot *s = &v->slots[(home + i) & (EXP_SLOTS - 1)];

		if (!s->used) {
			if (!victim || victim->used)
				victim = s;
			continue;
		}
		if (!memcmp(&s->key, k, sizeof(*k))) {
			*fresh = 0;
			return s;
		}
		if (!victim || (victim->used && s->last_use < victim->last_use))
			victim = s;
	}
	victim->key = *k;
	victim->used = 1;
	*fresh = 1;
	return victim;
}

/* Did sysUptime go back by more than a wrap at 2^32 ms explains? */
static int uptime_rebooted(uint32_t before, uint32_t now)
{
	if (now >= before || before - now <= UPTIME_REBOOT_MS)
		return 0;
	return !(before > UINT32_MAX - UPTIME_WRAP_MS && now < UPTIME_WRAP_MS);
}

/* Account one valid datagram's sequence number. Counters are bumped after
 * the lock is released (they are per thread in the core and need no lock). */
static void exp_track(struct v5_inst *v, const struct sockaddr *sa, const struct v5_header *h)
{
	struct exp_key k;
	struct exp_slot *s;
	uint64_t gap = 0, late = 0;
	int fresh, reset = 0;
	uint32_t ahead, behind;

	exp_key_make(&k, sa, h);
	pthread_mutex_lock(&v->lock);
	s = exp_lookup(v, &k, &fresh);
	s->last_use = ++v->serial;
	if (fresh)
		goto restart;
	if (uptime_rebooted(s->uptime, h->uptime)) {
		reset = 1;
		goto restart;
	}
	/* Sequence numbers wrap at 2^32: compare by distance. */
	ahead = h->sequence - s->expected;
	behind = s->expected - h->sequence;
	if (ahead <= SEQ_MAX_GAP) {
		gap = ahead;
		s->missing += gap;
		goto advance;
	}
	if (behind <= SEQ_REORDER_WINDOW) {
		/* a late datagram: its flows were counted missing */
		late = h->count < s->missing ? h->count : s->missing;
		s->missing -= late;
		goto unlock;
	}
	reset = 1;
restart:
	s->missing = 0;
advance:
	s->expected = h->sequence + h->count;
	s->uptime = h->uptime;
unlock:
	pthread_mutex_unlock(&v->lock);
	if (gap && v->c_gap >= 0)
		nfc_counter_add(v->ctx, v->c_gap, gap);
	if (late && v->c_late >= 0)
		nfc_counter_add(v->ctx, v->c_late, late);
	if (reset && v->c_reset >= 0)
		nfc_counter_add(v->ctx, v->c_reset, 1);
}

/* ------------------------------------------------------------------------ */
/* Plugin callbacks                                                         */

/* The 48-byte v5 record, field by field, in wire order. */
static const struct nfc_field v5_fields[] = {
	{ "IPV4_SRC_ADDR", NFC_FIELD_IPV4, 4 },
	{ "IPV4_DST_ADDR", NFC_FIELD_IPV4, 4 },
	{ "NEXT_HOP", NFC_FIELD_IPV4, 4 },
	{ "INPUT", NFC_FIELD_UINT, 2 },
	{ "OUTPUT", NFC_FIELD_UINT, 2 },
	{ "IN_PACKETS", NFC_FIELD_UINT, 4 },
	{ "IN_OCTETS", NFC_FIELD_UINT, 4 },
	{ "FIRST_SWITCHED", NFC_FIELD_UINT, 4 },
	{ "LAST_SWITCHED", NFC_FIELD_UINT, 4 },
	{ "SRC_PORT", NFC_FIELD_UINT, 2 },
	{ "DST_PORT", NFC_FIELD_UINT, 2 },
	{ "pad1", NFC_FIELD_SKIP, 1 },
	{ "TCP_FLAGS", NFC_FIELD_UINT, 1 },
	{ "PROTO", NFC_FIELD_UINT, 1 },
	{ "TOS", NFC_FIELD_UINT, 1 },
	{ "SRC_AS", NFC_FIELD_UINT, 2 },
	{ "DST_AS", NFC_FIELD_UINT, 2 },
	{ "SRC_MASK", NFC_FIELD_UINT, 1 },
	{ "DST_MASK", NFC_FIELD_UINT, 1 },
	{ "pad2", NFC_FIELD_SKIP, 2 },
};

static void v5_release(struct v5_inst *v)
{
	if (v->tmpl) {
		nfc_template_put(v->tmpl);
		v->tmpl = NULL;
	}
	free(v->slots);
	v->slots = NULL;
	if (v->lock_ready) {
		pthread_mutex_destroy(&v->lock);
		v->lock_ready = 0;
	}
}

static int v5_start(void *inst, struct nfc_ctx *ctx)
{
	struct v5_inst *v = inst;
	int rc;

	v->ctx = ctx;
	v->tmpl = nfc_template_new(ctx, v5_fields, sizeof(v5_fields) / sizeof(v5_fields[0]));
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
	v->slots = calloc(EXP_SLOTS, sizeof(*v->slots));
	if (!v->slots) {
		rc = NFC_ENOMEM;
		goto fail;
	}
	if (pthread_mutex_init(&v->lock, NULL)) {
		rc = NFC_ERROR;
		goto fail;
	}
	v->lock_ready = 1;
	/* A counter that cannot be registered only loses its statistic. */
	v->c_gap = nfc_counter_register(ctx, "sequence_gap_records");
	v->c_reset = nfc_counter_register(ctx, "sequence_resets");
	v->c_late = nfc_counter_register(ctx, "sequence_late_records");
	return NFC_OK;

fail:
	v5_release(v);
	return rc;
}

static int v5_decode(void *inst, struct nfc_decode *d, const uint8_t *p, size_t len)
{
	struct v5_inst *v = inst;
	struct cursor c = { p, len };
	struct v5_header h;
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

	exp_track(v, nfc_decode_source(d), &h);

	for (i = 0; i < h.count; i++) {
		rec = cur_take(&c, V5_RECORD_LEN);
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

static const struct nfc_decoder_ops v5_ops = {
	.size = sizeof(struct nfc_decoder_ops),
	.versions = { V5_VERSION, 0 },
	.start = v5_start,
	.decode = v5_decode,
	.stop = v5_stop,
};

static const struct nfc_param v5_params[] = {
	{ .name = NULL }, /* no parameters */
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
