/*
 * The NetFlow v9 and IPFIX decoders (one template decoder, flowlib/tdec.c)
 * through the core's real decode path: both plugins are loaded by the core's
 * loader from NETFLOW_CONCENTRATOR_PLUGIN_DIR (set by make check), crafted
 * datagrams go through nfc_decode_datagram() and records come out of
 * nfc_batch_json(), exactly as an output sees them. Counters are read by
 * the names the decoders registered (ctx->counter_names).
 *
 * Each case builds its datagrams with the small builders below and asserts
 * the exact JSON, or exact counts and counters. Every case starts fresh
 * decoder instances (their counters at 0) with the parameters it needs; by
 * default save_templates=no, so nothing is read from or written to the
 * state directory (a temporary one) except by the restart cases.
 *
 * Expected values are written out by hand from the RFCs (3954, 7011, 5103,
 * 5476) and docs/flow-fields.md, never computed by the code under test.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../unit/cunit_main.h"
#include "json.h"
#include "loader.h"
#include "nfc.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static struct nfc_loaded_plugin *lp_v9, *lp_ipfix;
static struct nfc_ctx *in_ctx;        /* stands for the input instance */
static struct nfc_ctx *v9, *ipx;      /* the current decoder instances */
static struct nfc_worker w0, w1;      /* two input workers (index 0 and 1) */
static char state_dir[64];

/* Where and when the datagrams the helpers send come from. */
static const char *g_src = "192.0.2.1";
static uint16_t g_port = 40000;
static time_t g_recv = 1700000100;
static struct nfc_worker *g_w = &w0;
/* Header fields of the datagrams the builders write. */
static uint32_t hdr_secs = 1700000000, hdr_uptime = 1000000, hdr_seq;

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define VL 65535u
#define EXP4 ",\"exporterIPv4Address\":\"192.0.2.1\""

/* ------------------------------------------------------------------------ */
/* Decoder instances                                                        */

/* Write one parameter ("key=value") into the instance, through the
 * plugin's own parameter table. */
static void set_param(struct nfc_ctx *ctx, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
	const char *val = eq ? eq + 1 : "";

	for (const struct nfc_param *p = ctx->plugin->params; p && p->name; p++) {
		char *dst = (char *)ctx->inst + p->offset;
		char *end;

		if (strlen(p->name) != klen || strncmp(p->name, kv, klen))
			continue;
		switch (p->type) {
		case NFC_PARAM_BOOL:
			*(int *)dst = !strcmp(val, "yes");
			return;
		case NFC_PARAM_INT:
			*(long long *)dst = strtoll(val, NULL, 10);
			return;
		case NFC_PARAM_SIZE: {
			unsigned long long v = strtoull(val, &end, 10);

			if (*end == 'k')
				v <<= 10;
			else if (*end == 'M')
				v <<= 20;
			else if (*end == 'G')
				v <<= 30;
			*(unsigned long long *)dst = v;
			return;
		}
		default:
			break;
		}
	}
	fprintf(stderr, "test_tdec: no parameter %s\n", kv);
	abort();
}

static void dec_free(struct nfc_ctx **ctx)
{
	if (!*ctx)
		return;
	(*ctx)->plugin->decoder->stop((*ctx)->inst);
	nfc_ctx_free(*ctx);
	*ctx = NULL;
}

static struct nfc_ctx *dec_start(struct nfc_loaded_plugin *lp, const char *name, const char *const *kv)
{
	struct nfc_ctx *ctx = nfc_ctx_new(name, lp);

	if (!ctx || nfc_ctx_apply_defaults(ctx) < 0)
		abort();
	set_param(ctx, "save_templates=no");
	for (; *kv; kv++)
		set_param(ctx, *kv);
	if (lp->d.decoder->start(ctx->inst, ctx) < 0) {
		fprintf(stderr, "test_tdec: %s start() failed\n", name);
		abort();
	}
	ctx->started = 1;
	return ctx;
}

/* Fresh v9 and IPFIX instances, both with the parameters given
 * ("key=value", ..., NULL; save_templates=no unless given), and the core's
 * decode path pointing at them. */
static void fresh(const char *first, ...)
{
	const char *kv[32];
	struct nfc_ctx *decs[2];
	size_t n = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *p = first; p && n < N(kv) - 1; p = va_arg(ap, const char *))
		kv[n++] = p;
	va_end(ap);
	kv[n] = NULL;
	dec_free(&v9);
	dec_free(&ipx);
	v9 = dec_start(lp_v9, "netflow_v9", kv);
	ipx = dec_start(lp_ipfix, "ipfix", kv);
	decs[0] = v9;
	decs[1] = ipx;
	if (nfc_pipeline_init(NULL, 0, decs, 2) < 0)
		abort();
	g_src = "192.0.2.1";
	g_port = 40000;
	g_recv = 1700000100;
	g_w = &w0;
	hdr_secs = 1700000000;
	hdr_uptime = 1000000;
}

static struct nfc_ctx *dec_of(int ver)
{
	return ver == 9 ? v9 : ipx;
}

static void tick(int ver)
{
	struct nfc_ctx *c = dec_of(ver);

	c->plugin->decoder->tick(c->inst);
}

/* A decoder counter by the name it registered. */
static uint64_t ctr(int ver, const char *name)
{
	struct nfc_ctx *c = dec_of(ver);

	for (int i = 0; i < c->ncounters; i++)
		if (!strcmp(c->counter_names[i], name))
			return nfc_counter_read(c, i);
	fprintf(stderr, "test_tdec: %s has no counter %s\n", c->name, name);
	CU_FAIL("counter not registered");
	return UINT64_MAX;
}

static uint64_t in_ctr(int id)
{
	return nfc_counter_read(in_ctx, id);
}

/* ------------------------------------------------------------------------ */
/* Datagram builders                                                        */

struct msg {
	uint8_t b[65536];
	size_t len;
	size_t set; /* offset of the open set's header */
	int ver;
};

struct f {
	uint16_t id, len;
	uint32_t pen;
};

static void put8(struct msg *m, uint8_t v)
{
	m->b[m->len++] = v;
}

static void put16(struct msg *m, uint16_t v)
{
	put8(m, (uint8_t)(v >> 8));
	put8(m, (uint8_t)v);
}

static void put32(struct msg *m, uint32_t v)
{
	put16(m, (uint16_t)(v >> 16));
	put16(m, (uint16_t)v);
}

static void put64(struct msg *m, uint64_t v)
{
	put32(m, (uint32_t)(v >> 32));
	put32(m, (uint32_t)v);
}

static void putb(struct msg *m, const void *p, size_t n)
{
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

/* A fixed-length text field: the text, NUL-padded to n bytes. */
static void putstr(struct msg *m, const char *s, size_t n)
{
	size_t l = strlen(s);

	memset(m->b + m->len, 0, n);
	memcpy(m->b + m->len, s, l < n ? l : n);
	m->len += n;
}

/* A variable-length field: 1-byte length, or 255 and a 2-byte length when
 * long3 or the value is 255 bytes or more. */
static void putvar(struct msg *m, const void *p, size_t n, int long3)
{
	if (n >= 255 || long3) {
		put8(m, 255);
		put16(m, (uint16_t)n);
	} else {
		put8(m, (uint8_t)n);
	}
	putb(m, p, n);
}

static void putip(struct msg *m, const char *a)
{
	uint8_t v[16];

	if (strchr(a, ':')) {
		inet_pton(AF_INET6, a, v);
		putb(m, v, 16);
	} else {
		inet_pton(AF_INET, a, v);
		putb(m, v, 4);
	}
}

/* Message header: v9 (count patched by end), IPFIX (length patched by end). */
static void m_start(struct msg *m, int ver, uint32_t domain)
{
	m->len = 0;
	m->ver = ver;
	m->set = 0;
	put16(m, (uint16_t)ver);
	put16(m, 0);
	if (ver == 9)
		put32(m, hdr_uptime);
	put32(m, hdr_secs);
	put32(m, hdr_seq++);
	put32(m, domain);
}

static void set_begin(struct msg *m, uint16_t id)
{
	m->set = m->len;
	put16(m, id);
	put16(m, 0);
}

static void set_end(struct msg *m)
{
	size_t l = m->len - m->set;

	m->b[m->set + 2] = (uint8_t)(l >> 8);
	m->b[m->set + 3] = (uint8_t)l;
}

static uint16_t tset(const struct msg *m)
{
	return m->ver == 9 ? 0 : 2;
}

static uint16_t oset(const struct msg *m)
{
	return m->ver == 9 ? 1 : 3;
}

static void put_fields(struct msg *m, const struct f *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (m->ver == 10 && f[i].pen) {
			put16(m, (uint16_t)(f[i].id | 0x8000));
			put16(m, f[i].len);
			put32(m, f[i].pen);
		} else {
			put16(m, f[i].id);
			put16(m, f[i].len);
		}
	}
}

/* One template record (inside a template set). */
static void put_tmpl(struct msg *m, uint16_t tid, const struct f *f, size_t n)
{
	put16(m, tid);
	put16(m, (uint16_t)n);
	put_fields(m, f, n);
}

/* One options template record (inside an options template set). */
static void put_otmpl(struct msg *m, uint16_t tid, const struct f *scope, size_t ns, const struct f *opt,
                      size_t no)
{
	put16(m, tid);
	if (m->ver == 9) {
		put16(m, (uint16_t)(ns * 4));
		put16(m, (uint16_t)(no * 4));
	} else {
		put16(m, (uint16_t)(ns + no));
		put16(m, (uint16_t)ns);
	}
	put_fields(m, scope, ns);
	put_fields(m, opt, no);
}

static size_t m_end(struct msg *m)
{
	if (m->ver == 10) {
		m->b[2] = (uint8_t)(m->len >> 8);
		m->b[3] = (uint8_t)m->len;
	}
	return m->len;
}

/* A whole message: one template set of one template. */
static void tmpl_msg(struct msg *m, int ver, uint32_t domain, uint16_t tid, const struct f *f, size_t n)
{
	m_start(m, ver, domain);
	set_begin(m, tset(m));
	put_tmpl(m, tid, f, n);
	set_end(m);
	m_end(m);
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */

static void make_source(struct sockaddr_storage *ss, const char *addr, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
	}
}

/* Decode bytes from g_src:g_port, received at g_recv, on worker g_w, into
 * a fresh batch (*out, released with nfc_batch_put). */
static int decode_raw(const uint8_t *p, size_t len, struct nfc_batch **out)
{
	struct nfc_datagram dg;
	struct nfc_batch *b = nfc_batch_get();

	CU_ASSERT_FATAL(b != NULL);
	memset(&dg, 0, sizeof(dg));
	dg.data = p;
	dg.len = len;
	dg.received.tv_sec = g_recv;
	dg.received.tv_nsec = 250000000;
	make_source(&dg.source, g_src, g_port);
	*out = b;
	return nfc_decode_datagram(g_w, b, &dg);
}

static int decode(const struct msg *m, struct nfc_batch **out)
{
	return decode_raw(m->b, m->len, out);
}

/* Decode and return how many records came out (the batch is released). */
static size_t decode_count(const struct msg *m, int want_rc)
{
	struct nfc_batch *b;
	int rc = decode(m, &b);
	size_t n = nfc_batch_count(b);

	CU_ASSERT_EQUAL(rc, want_rc);
	nfc_batch_put(b);
	return n;
}

/* The JSON of record i, in a static buffer. */
static const char *json_of(const struct nfc_batch *b, size_t i)
{
	static char text[8192];
	struct nfc_buf buf;

	if (i >= nfc_batch_count(b))
		return "(no such record)";
	if (nfc_buf_init(&buf, 256) < 0)
		return "(no memory)";
	if (nfc_batch_json(b, i, &buf) < 0 || buf.len >= sizeof(text)) {
		nfc_buf_free(&buf);
		return "(encode failed)";
	}
	memcpy(text, buf.data, buf.len);
	text[buf.len] = '\0';
	nfc_buf_free(&buf);
	return text;
}

#define CHECK_JSON(b, i, want) check_json(b, i, want, __LINE__)

static void check_json(const struct nfc_batch *b, size_t i, const char *want, int line)
{
	const char *got = json_of(b, i);

	if (strcmp(got, want))
		fprintf(stderr, "\nline %d record %zu:\n  got  %s\n  want %s\n", line, i, got, want);
	CU_ASSERT_STRING_EQUAL(got, want);
}

/* Decode m, expect rc and exactly one record of this JSON. */
#define EXPECT1(m, rc, want) expect1(m, rc, want, __LINE__)

static void expect1(const struct msg *m, int rc, const char *want, int line)
{
	struct nfc_batch *b;
	int got = decode(m, &b);

	if (got != rc || nfc_batch_count(b) != 1)
		fprintf(stderr, "\nline %d: rc %d (want %d), %zu records (want 1)\n", line, got, rc,
		        nfc_batch_count(b));
	CU_ASSERT_EQUAL(got, rc);
	CU_ASSERT_EQUAL(nfc_batch_count(b), 1);
	if (nfc_batch_count(b) >= 1)
		check_json(b, 0, want, line);
	nfc_batch_put(b);
}

/* ------------------------------------------------------------------------ */
/* Variable-length fields                                                   */

static void test_varlen_ipfix(void)
{
	static const struct f t[] = { { 8, 4, 0 }, { 82, VL, 0 }, { 96, VL, 0 }, { 1, 4, 0 }, { 100, VL, 6876 } };
	static struct msg m;
	char a300[300], want[1024];
	struct nfc_batch *b;

	fresh(NULL);
	memset(a300, 'a', sizeof(a300));
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, t, N(t));
	set_end(&m);
	set_begin(&m, 256);
	/* 1-byte prefixes, a 3-byte prefix for a short value, an empty field */
	putip(&m, "10.0.0.1");
	putvar(&m, "eth0", 4, 0);
	putvar(&m, "hello", 5, 1);
	put32(&m, 100);
	putvar(&m, "", 0, 0);
	/* an empty string, a 3-byte prefix of 300, 3 bytes of enterprise data */
	putip(&m, "10.0.0.2");
	putvar(&m, "", 0, 0);
	putvar(&m, a300, 300, 0);
	put32(&m, 200);
	putvar(&m, "\x01\x02\x03", 3, 0);
	/* a 255 + u16 prefix of 0 */
	putip(&m, "10.0.0.3");
	putvar(&m, "x", 1, 1);
	putvar(&m, "", 0, 1);
	put32(&m, 300);
	putvar(&m, "", 0, 1);
	put8(&m, 0); /* padding, shorter than the smallest record (12 bytes) */
	put8(&m, 0);
	set_end(&m);
	m_end(&m);

	CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
	CU_ASSERT_EQUAL_FATAL(nfc_batch_count(b), 3);
	CHECK_JSON(b, 0, "{\"sourceIPv4Address\":\"10.0.0.1\",\"interfaceName\":\"eth0\",\"applicationName\":\"hello\","
	                 "\"octetDeltaCount\":100" EXP4 "}");
	snprintf(want, sizeof(want),
	         "{\"sourceIPv4Address\":\"10.0.0.2\",\"interfaceName\":\"\",\"applicationName\":\"%.300s\","
	         "\"octetDeltaCount\":200,\"ie_6876_100\":\"010203\"" EXP4 "}", a300);
	CHECK_JSON(b, 1, want);
	CHECK_JSON(b, 2, "{\"sourceIPv4Address\":\"10.0.0.3\",\"interfaceName\":\"x\",\"applicationName\":\"\","
	                 "\"octetDeltaCount\":300" EXP4 "}");
	nfc_batch_put(b);

	/* a record whose 3-byte prefix runs past the set: the records before
	 * it stay, the rest of the set is not decoded */
	m_start(&m, 10, 1);
	set_begin(&m, 256);
	putip(&m, "10.0.0.4");
	putvar(&m, "lo", 2, 0);
	putvar(&m, "", 0, 0);
	put32(&m, 400);
	putvar(&m, "", 0, 0);
	putip(&m, "10.0.0.5");
	put8(&m, 255);
	put16(&m, 1000);
	putb(&m, a300, 20);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
	CU_ASSERT_EQUAL(nfc_batch_count(b), 1);
	CHECK_JSON(b, 0, "{\"sourceIPv4Address\":\"10.0.0.4\",\"interfaceName\":\"lo\",\"applicationName\":\"\","
	                 "\"octetDeltaCount\":400" EXP4 "}");
	nfc_batch_put(b);
}

/* H3C: v9 field length 65535 is a variable-length field (RFC 7011 style). */
static void test_varlen_v9(void)
{
	static const struct f t[] = { { 8, 4, 0 }, { 236, VL, 0 }, { 1, 4, 0 } };
	static struct msg m;
	char b256[256], want[1024];
	struct nfc_batch *b;

	fresh(NULL);
	memset(b256, 'b', sizeof(b256));
	m_start(&m, 9, 0);
	set_begin(&m, 0);
	put_tmpl(&m, 256, t, N(t));
	set_end(&m);
	set_begin(&m, 256);
	putip(&m, "10.0.0.1");
	putvar(&m, "vrf-red", 7, 0);
	put32(&m, 100);
	putip(&m, "10.0.0.2");
	putvar(&m, b256, 256, 0);
	put32(&m, 200);
	putip(&m, "10.0.0.3");
	putvar(&m, "blue", 4, 1);
	put32(&m, 300);
	put8(&m, 0); /* 3 bytes of padding */
	put8(&m, 0);
	put8(&m, 0);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
	CU_ASSERT_EQUAL_FATAL(nfc_batch_count(b), 3);
	CHECK_JSON(b, 0, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"VRFname\":\"vrf-red\",\"IN_BYTES\":100" EXP4 "}");
	snprintf(want, sizeof(want), "{\"IPV4_SRC_ADDR\":\"10.0.0.2\",\"VRFname\":\"%.256s\",\"IN_BYTES\":200" EXP4 "}",
	         b256);
	CHECK_JSON(b, 1, want);
	CHECK_JSON(b, 2, "{\"IPV4_SRC_ADDR\":\"10.0.0.3\",\"VRFname\":\"blue\",\"IN_BYTES\":300" EXP4 "}");
	nfc_batch_put(b);
	CU_ASSERT_EQUAL(ctr(9, "templates"), 1);
	CU_ASSERT_EQUAL(ctr(9, "malformed_templates"), 0);
}

/* ------------------------------------------------------------------------ */
/* Reduced-size encoding, wrong sizes, repeated and enterprise elements     */

static void test_reduced_size(void)
{
	static const struct f ti[] = { { 1, 2, 0 }, { 2, 3, 0 }, { 8, 2, 0 }, { 12, 4, 0 }, { 27, 4, 0 }, { 56, 4, 0 },
		                       { 4, 2, 0 } };
	static const struct f ti2[] = { { 1, 4, 0 }, { 2, 8, 0 }, { 7, 1, 0 } };
	static const struct f tv[] = { { 1, 2, 0 }, { 2, 4, 0 }, { 8, 16, 0 }, { 27, 4, 0 }, { 7, 1, 0 } };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	static struct msg m;

	fresh(NULL);
	/* IPFIX: counters in 2 and 3 bytes, addresses and a MAC in other sizes */
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, ti, N(ti));
	put_tmpl(&m, 257, ti2, N(ti2));
	set_end(&m);
	set_begin(&m, 256);
	put16(&m, 0x1234);
	put8(&m, 1);
	put16(&m, 0);
	put16(&m, 0x0a01);
	putip(&m, "10.0.0.2");
	put32(&m, 0x20010db8);
	put32(&m, 0xaabbccdd);
	put16(&m, 6);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"octetDeltaCount\":4660,\"packetDeltaCount\":65536,\"sourceIPv4Address\":\"0a01\","
	                    "\"destinationIPv4Address\":\"10.0.0.2\",\"sourceIPv6Address\":\"20010db8\","
	                    "\"sourceMacAddress\":\"aabbccdd\",\"protocolIdentifier\":6" EXP4 "}");
	m_start(&m, 10, 1);
	set_begin(&m, 257);
	put32(&m, 0xfffffffeu);
	put64(&m, 1ull << 40);
	put8(&m, 80);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"octetDeltaCount\":4294967294,\"packetDeltaCount\":1099511627776,"
	                    "\"sourceTransportPort\":80" EXP4 "}");

	/* v9: IN_BYTES in 2 bytes, an IPv4 address in 16, an IPv6 one in 4 */
	m_start(&m, 9, 0);
	set_begin(&m, 0);
	put_tmpl(&m, 256, tv, N(tv));
	set_end(&m);
	set_begin(&m, 256);
	put16(&m, 1500);
	put32(&m, 3);
	putb(&m, v6, 16);
	put32(&m, 0x0a000001);
	put8(&m, 53);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"IN_BYTES\":1500,\"IN_PKTS\":3,\"IPV4_SRC_ADDR\":\"20010db8000000000000000000000001\","
	                    "\"IPV6_SRC_ADDR\":\"0a000001\",\"L4_SRC_PORT\":53" EXP4 "}");
}

static void test_repeated_elements(void)
{
	static const struct f ti[] = { { 8, 4, 0 }, { 8, 4, 0 }, { 1, 4, 0 }, { 1, 4, 0 }, { 1, 2, 0 }, { 1, 2, 9 },
		                       { 1, 2, 9 } };
	static const struct f tv[] = { { 8, 4, 0 }, { 8, 4, 0 }, { 2, 4, 0 }, { 2, 4, 0 } };
	static struct msg m;

	fresh(NULL);
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, ti, N(ti));
	set_end(&m);
	set_begin(&m, 256);
	putip(&m, "10.0.0.1");
	putip(&m, "10.0.0.2");
	put32(&m, 1);
	put32(&m, 2);
	put16(&m, 3);
	put16(&m, 4);
	put16(&m, 5);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"sourceIPv4Address_2\":\"10.0.0.2\","
	                    "\"octetDeltaCount\":1,\"octetDeltaCount_2\":2,\"octetDeltaCount_3\":3,"
	                    "\"ie_9_1\":4,\"ie_9_1_2\":5" EXP4 "}");

	m_start(&m, 9, 0);
	set_begin(&m, 0);
	put_tmpl(&m, 256, tv, N(tv));
	set_end(&m);
	set_begin(&m, 256);
	putip(&m, "10.0.0.1");
	putip(&m, "10.0.0.2");
	put32(&m, 7);
	put32(&m, 8);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_SRC_ADDR_2\":\"10.0.0.2\",\"IN_PKTS\":7,"
	                    "\"IN_PKTS_2\":8" EXP4 "}");
}

/* Enterprise elements nobody knows are kept by their length, under
 * ie_<pen>_<id>, and what follows them is still decoded right; RFC 5103
 * reverse elements (PEN 29305) are named reverse<Name>. */
static void test_enterprise(void)
{
	static const struct f t[] = { { 8, 4, 0 },       { 12235, 6, 9 },  { 5, 4, 2636 },   { 100, VL, 6876 },
		                      { 1, 4, 0 },       { 1, 8, 29305 },  { 2, 4, 29305 },  { 540, 2, 29305 },
		                      { 19, 8, 29305 },  { 12, 4, 0 } };
	/* long IANA names: "reverse" + 38 and + 37 characters */
	static const struct f tlong[] = { { 8, 4, 0 }, { 480, 4, 29305 }, { 383, 8, 29305 } };
	static struct msg m;

	fresh(NULL);
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, t, N(t));
	put_tmpl(&m, 257, tlong, N(tlong));
	set_end(&m);
	set_begin(&m, 256);
	putip(&m, "10.0.0.1");
	putb(&m, "\x01\x02\x03\x04\x05\x06", 6);
	put32(&m, 7);
	putvar(&m, "\xab\xcd", 2, 0);
	put32(&m, 1000);
	put64(&m, 5000);
	put32(&m, 50);
	put16(&m, 258);
	put64(&m, 9);
	putip(&m, "10.0.0.2");
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"ie_9_12235\":\"010203040506\",\"ie_2636_5\":7,"
	                    "\"ie_6876_100\":\"abcd\",\"octetDeltaCount\":1000,\"reverseOctetDeltaCount\":5000,"
	                    "\"reversePacketDeltaCount\":50,\"reverse_ie_540\":258,"
	                    "\"reversePostMCastPacketDeltaCount\":9,\"destinationIPv4Address\":\"10.0.0.2\"" EXP4 "}");
	CU_ASSERT_EQUAL(ctr(10, "templates"), 2);

	m_start(&m, 10, 1);
	set_begin(&m, 257);
	putip(&m, "10.0.0.1");
	put32(&m, 11);
	put64(&m, 12);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"reverseAddressPortMappingPerUserHighThreshold\":11,"
	                    "\"reverseDistinctCountOfDestinationIPv6Address\":12" EXP4 "}");
}

/* ------------------------------------------------------------------------ */
/* Template lifecycle: withdrawal, redefinition                             */

static const struct f T_AB[] = { { 8, 4, 0 }, { 1, 4, 0 } }; /* source address, bytes */

/* One data set of template tid with records (address 10.0.0.<i>, bytes v[i]). */
static void data_msg(struct msg *m, int ver, uint32_t domain, uint16_t tid, const uint32_t *v, size_t n)
{
	m_start(m, ver, domain);
	set_begin(m, tid);
	for (size_t i = 0; i < n; i++) {
		put32(m, 0x0a000000u | (uint32_t)(i + 1));
		put32(m, v[i]);
	}
	set_end(m);
	m_end(m);
}

static void data1(struct msg *m, int ver, uint32_t domain, uint16_t tid, uint32_t v)
{
	data_msg(m, ver, domain, tid, &v, 1);
}

static const char *ab_json(int ver, unsigned i, uint32_t v)
{
	static char s[256];

	snprintf(s, sizeof(s), ver == 9 ? "{\"IPV4_SRC_ADDR\":\"10.0.0.%u\",\"IN_BYTES\":%u" EXP4 "}"
	                                 : "{\"sourceIPv4Address\":\"10.0.0.%u\",\"octetDeltaCount\":%u" EXP4 "}",
	         i, v);
	return s;
}

/* IPFIX: count 0 withdraws one template, id 2 withdraws all; data for a
 * withdrawn template is held, not decoded with the old layout. */
static void test_withdrawal(void)
{
	static const struct f t257[] = { { 12, 4, 0 }, { 2, 4, 0 } };
	static struct msg m;
	struct nfc_batch *b;

	fresh(NULL);
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, T_AB, N(T_AB));
	put_tmpl(&m, 257, t257, N(t257));
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	data1(&m, 10, 1, 256, 5);
	EXPECT1(&m, NFC_OK, ab_json(10, 1, 5));
	data1(&m, 10, 1, 257, 6);
	EXPECT1(&m, NFC_OK, "{\"destinationIPv4Address\":\"10.0.0.1\",\"packetDeltaCount\":6" EXP4 "}");

	/* withdraw 256 */
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put16(&m, 256);
	put16(&m, 0);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "template_withdrawals"), 1);
	data1(&m, 10, 1, 256, 7);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "held_sets"), 1);
	data1(&m, 10, 1, 257, 8);
	EXPECT1(&m, NFC_OK, "{\"destinationIPv4Address\":\"10.0.0.1\",\"packetDeltaCount\":8" EXP4 "}");

	/* withdraw all (template id 2 in set 2) */
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put16(&m, 2);
	put16(&m, 0);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "template_withdrawals"), 2);
	data1(&m, 10, 1, 257, 9);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "held_sets"), 2);

	/* announced again: the held data of both comes out, once each, in the
	 * order it was held */
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, T_AB, N(T_AB));
	put_tmpl(&m, 257, t257, N(t257));
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
	CU_ASSERT_EQUAL(nfc_batch_count(b), 2);
	CHECK_JSON(b, 0, ab_json(10, 1, 7));
	CHECK_JSON(b, 1, "{\"destinationIPv4Address\":\"10.0.0.1\",\"packetDeltaCount\":9" EXP4 "}");
	nfc_batch_put(b);
	CU_ASSERT_EQUAL(ctr(10, "replayed_sets"), 2);
	CU_ASSERT_EQUAL(ctr(10, "no_template"), 0);

	/* a withdrawal and a new definition of the same id in one set */
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put16(&m, 256);
	put16(&m, 0);
	put_tmpl(&m, 256, t257, N(t257));
	set_end(&m);
	set_begin(&m, 256);
	putip(&m, "10.9.9.9");
	put32(&m, 10);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"destinationIPv4Address\":\"10.9.9.9\",\"packetDeltaCount\":10" EXP4 "}");
	CU_ASSERT_EQUAL(ctr(10, "template_withdrawals"), 3);
	/* withdrawing what is not there changes nothing */
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put16(&m, 999);
	put16(&m, 0);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "template_withdrawals"), 3);
}

/* RFC 7011 8.1: template id 3 in an options template set withdraws all
 * options templates; the data templates stay (and id 2 keeps the options
 * templates). */
static void test_withdraw_all_kinds(void)
{
	static const struct f sc[] = { { 149, 4, 0 } }, op[] = { { 34, 4, 0 } };
	static struct msg m;

	fresh("options_records=yes", NULL);
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, T_AB, N(T_AB));
	set_end(&m);
	set_begin(&m, 3);
	put_otmpl(&m, 300, sc, 1, op, 1);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	/* all options templates */
	m_start(&m, 10, 1);
	set_begin(&m, 3);
	put16(&m, 3);
	put16(&m, 0);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "template_withdrawals"), 1);
	data1(&m, 10, 1, 256, 1);
	EXPECT1(&m, NFC_OK, ab_json(10, 1, 1));
	data1(&m, 10, 1, 300, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0); /* held */
	/* options template again, then all data templates */
	m_start(&m, 10, 1);
	set_begin(&m, 3);
	put_otmpl(&m, 300, sc, 1, op, 1);
	set_end(&m);
	set_begin(&m, 2);
	put16(&m, 2);
	put16(&m, 0);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1); /* the held options record */
	CU_ASSERT_EQUAL(ctr(10, "template_withdrawals"), 2);
	data1(&m, 10, 1, 256, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0); /* held */
	m_start(&m, 10, 1);
	set_begin(&m, 300);
	put32(&m, 1);
	put32(&m, 10);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"observationDomainId\":1,\"samplingInterval\":10" EXP4 "}");
}

/* A template id redefined with another layout: data after it uses the new
 * layout, records already emitted keep the old one. */
static void test_redefinition(void)
{
	static const struct f tb[] = { { 1, 8, 0 }, { 4, 1, 0 } };
	static struct msg m;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		struct nfc_batch *b1, *b2;
		char old[256];

		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		data1(&m, ver, 1, 256, 1234);
		CU_ASSERT_EQUAL(decode(&m, &b1), NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b1), 1);
		snprintf(old, sizeof(old), "%s", ab_json(ver, 1, 1234));
		CHECK_JSON(b1, 0, old);

		tmpl_msg(&m, ver, 1, 256, tb, N(tb));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates"), 2);
		m_start(&m, ver, 1);
		set_begin(&m, 256);
		put64(&m, 1ull << 33);
		put8(&m, 17);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode(&m, &b2), NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b2), 1);
		CHECK_JSON(b2, 0, ver == 9 ? "{\"IN_BYTES\":8589934592,\"PROTOCOL\":17" EXP4 "}"
		                           : "{\"octetDeltaCount\":8589934592,\"protocolIdentifier\":17" EXP4 "}");
		/* the first batch still renders with the layout it was decoded with */
		CHECK_JSON(b1, 0, old);
		nfc_batch_put(b2);
		CHECK_JSON(b1, 0, old);
		nfc_batch_put(b1);

		/* the exporter's periodic resend of the same layout is no change */
		tmpl_msg(&m, ver, 1, 256, tb, N(tb));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates"), 2);
	}
}

/* ------------------------------------------------------------------------ */
/* Set padding                                                              */

/* Bytes after the last set: zeros are padding (Cisco ACI pads with 64,
 * Palo Alto with 1220), anything else that does not make a set is
 * malformed; the records before are kept either way. */
static void test_trailing_bytes(void)
{
	static struct msg m;

	for (int ver = 9; ver <= 10; ver++) {
		fresh(NULL);
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		for (int garbage = 0; garbage <= 1; garbage++) {
			uint64_t bad0 = in_ctr(NFC_C_MALFORMED);

			data1(&m, ver, 1, 256, 7);
			memset(m.b + m.len, garbage ? 0xee : 0, 64);
			m.len += 64;
			m_end(&m);
			CU_ASSERT_EQUAL(decode_count(&m, garbage ? NFC_EMALFORMED : NFC_OK), 1);
			CU_ASSERT_EQUAL(in_ctr(NFC_C_MALFORMED), bad0 + (uint64_t)garbage);
		}
	}
}

static void test_padding(void)
{
	/* options: an interface (INPUT_SNMP / ingressInterface), not sampling */
	static const struct f sc[] = { { 1, 4, 0 } }, op[] = { { 10, 4, 0 } };
	static struct msg m;
	struct nfc_batch *b;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		uint64_t bad0 = in_ctr(NFC_C_MALFORMED);

		/* template set: zero padding of 2 bytes, and of 4 bytes */
		m_start(&m, ver, 1);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 256, T_AB, N(T_AB));
		put16(&m, 0);
		set_end(&m);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 257, T_AB, N(T_AB));
		put32(&m, 0);
		set_end(&m);
		/* options template set padded to 4 bytes */
		set_begin(&m, oset(&m));
		put_otmpl(&m, 258, sc, 1, op, 1);
		if ((m.len - m.set) % 4)
			put16(&m, 0);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates"), 3);
		CU_ASSERT_EQUAL(ctr(ver, "malformed_templates"), 0);

		/* data set: 3 zero bytes after 2 records; 7 garbage bytes after 1 */
		m_start(&m, ver, 1);
		set_begin(&m, 256);
		put32(&m, 0x0a000001);
		put32(&m, 1);
		put32(&m, 0x0a000002);
		put32(&m, 2);
		put8(&m, 0);
		put16(&m, 0);
		set_end(&m);
		set_begin(&m, 257);
		put32(&m, 0x0a000003);
		put32(&m, 3);
		putb(&m, "\xff\xff\xff\xff\xff\xff\xff", 7);
		set_end(&m);
		/* an options data set padded too */
		set_begin(&m, 258);
		put32(&m, 0);
		put32(&m, 64);
		put16(&m, 0);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b), 3);
		CHECK_JSON(b, 0, ab_json(ver, 1, 1));
		CHECK_JSON(b, 1, ab_json(ver, 2, 2));
		CHECK_JSON(b, 2, ab_json(ver, 3, 3));
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(ctr(ver, "options_records"), 1);
		CU_ASSERT_EQUAL(in_ctr(NFC_C_MALFORMED), bad0);
	}
}

/* ------------------------------------------------------------------------ */
/* Data before its template                                                 */

static void check_origin(const struct nfc_batch *b, size_t i, time_t recv, const char *addr, uint16_t port,
                         uint64_t export_ms)
{
	struct sockaddr_storage ss, want;
	struct timespec t = nfc_batch_record_time(b, i);
	socklen_t l = nfc_batch_record_exporter(b, i, &ss);

	CU_ASSERT_EQUAL(t.tv_sec, recv);
	CU_ASSERT_EQUAL(t.tv_nsec, 250000000);
	make_source(&want, addr, port);
	CU_ASSERT(l > 0);
	CU_ASSERT_EQUAL(ss.ss_family, want.ss_family);
	if (want.ss_family == AF_INET)
		CU_ASSERT(!memcmp(&ss, &want, sizeof(struct sockaddr_in)));
	CU_ASSERT_EQUAL(nfc_batch_record_export_time(b, i), export_ms);
}

/* Data first, template after it in the same datagram: the record comes out
 * once, with the datagram's own origin. */
static void test_order_in_datagram(void)
{
	static struct msg m;
	struct nfc_batch *b;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		uint64_t rec0 = in_ctr(NFC_C_RECORDS);

		g_recv = 1700000123;
		m_start(&m, ver, 1);
		set_begin(&m, 256);
		put32(&m, 0x0a000001);
		put32(&m, 77);
		set_end(&m);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 256, T_AB, N(T_AB));
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		CU_ASSERT_EQUAL_FATAL(nfc_batch_count(b), 1);
		CHECK_JSON(b, 0, ab_json(ver, 1, 77));
		check_origin(b, 0, 1700000123, "192.0.2.1", 40000, 1700000000000ull);
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 1);
		CU_ASSERT_EQUAL(ctr(ver, "replayed_sets"), 1);
		/* the input counts each record once */
		CU_ASSERT(in_ctr(NFC_C_RECORDS) == rec0 + 1); /* each replayed record counted once in records */

		/* template first, then data (another domain: a stream of its own) */
		m_start(&m, ver, 2);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 256, T_AB, N(T_AB));
		set_end(&m);
		set_begin(&m, 256);
		put32(&m, 0x0a000001);
		put32(&m, 78);
		set_end(&m);
		m_end(&m);
		rec0 = in_ctr(NFC_C_RECORDS);
		EXPECT1(&m, NFC_OK, ab_json(ver, 1, 78));
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 1);
		CU_ASSERT_EQUAL(in_ctr(NFC_C_RECORDS), rec0 + 1);
	}
}

/* Data in one datagram, its template in a later one: held, replayed once
 * with the held datagram's receive time, sender and header. */
static void test_hold_across_datagrams(void)
{
	static const struct f tv[] = { { 8, 4, 0 }, { 22, 4, 0 } };
	static const struct f ti[] = { { 8, 4, 0 }, { 1, 4, 0 } };
	static struct msg m;
	struct nfc_batch *b;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		const uint32_t v[2] = { 990000, 995000 };
		uint64_t rec0;

		/* datagram A: from port 40001, received at ...200, exported at ...150 */
		g_port = 40001;
		g_recv = 1700000200;
		hdr_secs = 1700000150;
		hdr_uptime = 1000000;
		data_msg(&m, ver, 1, 256, v, 2);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 1);
		/* datagram B, the template: another port, time and uptime */
		g_port = 40002;
		g_recv = 1700000300;
		hdr_secs = 1700000290;
		hdr_uptime = 2000000;
		if (ver == 9)
			tmpl_msg(&m, ver, 1, 256, tv, N(tv));
		else
			tmpl_msg(&m, ver, 1, 256, ti, N(ti));
		rec0 = in_ctr(NFC_C_RECORDS);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		CU_ASSERT(in_ctr(NFC_C_RECORDS) == rec0 + 2); /* each replayed record counted once in records */
		CU_ASSERT_EQUAL_FATAL(nfc_batch_count(b), 2);
		if (ver == 9) {
			/* FIRST_SWITCHED made absolute with A's header:
			 * 1700000150000 - (1000000 - 990000) ms */
			CHECK_JSON(b, 0, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"FIRST_SWITCHED\":990000" EXP4
			                 ",\"flowStartSeconds\":1700000140}");
			CHECK_JSON(b, 1, "{\"IPV4_SRC_ADDR\":\"10.0.0.2\",\"FIRST_SWITCHED\":995000" EXP4
			                 ",\"flowStartSeconds\":1700000145}");
		} else {
			CHECK_JSON(b, 0, ab_json(10, 1, 990000));
			CHECK_JSON(b, 1, ab_json(10, 2, 995000));
		}
		check_origin(b, 0, 1700000200, "192.0.2.1", 40001, 1700000150000ull);
		check_origin(b, 1, 1700000200, "192.0.2.1", 40001, 1700000150000ull);
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(ctr(ver, "replayed_sets"), 1);
		/* the same template again: nothing more comes out */
		if (ver == 9)
			tmpl_msg(&m, ver, 1, 256, tv, N(tv));
		else
			tmpl_msg(&m, ver, 1, 256, ti, N(ti));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "replayed_sets"), 1);
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 0);
		/* two data sets of two unknown templates in one datagram, then
		 * both templates in one datagram: each set once, in order */
		m_start(&m, ver, 1);
		set_begin(&m, 300);
		put32(&m, 0x0a000001);
		put32(&m, 1);
		set_end(&m);
		set_begin(&m, 301);
		put32(&m, 0x0a000001);
		put32(&m, 2);
		set_end(&m);
		set_begin(&m, 300);
		put32(&m, 0x0a000001);
		put32(&m, 3);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		m_start(&m, ver, 1);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 301, ti, N(ti));
		put_tmpl(&m, 300, ti, N(ti));
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b), 3);
		CHECK_JSON(b, 0, ab_json(ver, 1, 2));
		CHECK_JSON(b, 1, ab_json(ver, 1, 1));
		CHECK_JSON(b, 2, ab_json(ver, 1, 3));
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 4);
		CU_ASSERT_EQUAL(ctr(ver, "replayed_sets"), 4);
	}
}

/* Held data older than hold_seconds is dropped by tick(), counted in
 * no_template, and never emitted. */
static void test_hold_expiry(void)
{
	static struct msg m;

	fresh("hold_seconds=1", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		data1(&m, ver, 1, 256, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		tick(ver); /* too young: kept */
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 0);
	}
	sleep(2);
	for (int ver = 9; ver <= 10; ver++) {
		tick(ver);
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 1);
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "replayed_sets"), 0);
		data1(&m, ver, 1, 256, 2);
		EXPECT1(&m, NFC_OK, ab_json(ver, 1, 2));
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 1);
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 1);
	}
}

/* hold_sets and hold_bytes per exporter: the oldest held set is dropped
 * (counted); a set larger than hold_bytes is not held at all. */
static void test_hold_limits(void)
{
	static struct msg m;
	static uint32_t v[80];
	struct nfc_batch *b;

	for (size_t i = 0; i < N(v); i++)
		v[i] = (uint32_t)(1000 + i);
	fresh("hold_sets=2", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		for (uint32_t i = 1; i <= 3; i++) {
			data1(&m, ver, 1, 256, i);
			CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		}
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 3);
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 1);
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b), 2);
		CHECK_JSON(b, 0, ab_json(ver, 1, 2));
		CHECK_JSON(b, 1, ab_json(ver, 1, 3));
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(ctr(ver, "replayed_sets"), 2);
	}

	/* sets of 400 bytes (50 records), hold_bytes 1000: one fits, two do not */
	fresh("hold_bytes=1000", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		for (uint32_t i = 0; i < 3; i++) {
			data_msg(&m, ver, 1, 256, v + i, 50);
			CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		}
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 3);
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 2);
		/* 1040 bytes: never held */
		m_start(&m, ver, 1);
		set_begin(&m, 256);
		for (size_t i = 0; i < 130; i++) {
			put32(&m, 0x0a000001);
			put32(&m, 1);
		}
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 3);
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 3);
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b), 50);
		CHECK_JSON(b, 0, ab_json(ver, 1, 1002));
		CHECK_JSON(b, 49, ab_json(ver, 50, 1051));
		nfc_batch_put(b);
	}

	/* hold_sets=0: nothing is held */
	fresh("hold_sets=0", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		data1(&m, ver, 1, 256, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 0);
		CU_ASSERT_EQUAL(ctr(ver, "no_template"), 1);
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	}
}

/* ------------------------------------------------------------------------ */
/* NetFlow v9 vendor types                                                  */

static void test_v9_vendor_types(void)
{
	static const struct f t[] = { { 8, 4, 0 },     { 40000, 16, 0 }, { 56701, 32, 0 }, { 57000, 4, 0 },
		                      { 57001, 3, 0 }, { 40001, 4, 0 },  { 33000, 4, 0 } };
	static struct msg m;

	fresh(NULL);
	tmpl_msg(&m, 9, 0, 256, t, N(t));
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	m_start(&m, 9, 0);
	set_begin(&m, 256);
	putip(&m, "10.0.0.1");
	putstr(&m, "alice", 16);
	putstr(&m, "ssl", 32);
	put32(&m, 42);
	putb(&m, "\x01\x02\x03", 3);
	putip(&m, "10.1.1.1");
	put32(&m, 0xdeadbeef);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"NF_F_USERNAME\":\"alice\",\"PANOS_APPID\":\"ssl\","
	                    "\"v9_57000\":42,\"v9_57001\":\"010203\",\"v9_40001\":\"10.1.1.1\","
	                    "\"NF_F_INGRESS_ACL_ID\":\"deadbeef\"" EXP4 "}");
}

/* Cisco ASA NSEL: firewall event, translated addresses and ports, event
 * time in ms; NF_F_FLOW_CREATE_TIME_MSEC (152) gives flowStartSeconds. */
static void test_v9_nsel(void)
{
	static const struct f t[] = { { 148, 4, 0 }, { 8, 4, 0 },   { 12, 4, 0 },  { 7, 2, 0 },   { 11, 2, 0 },
		                      { 4, 1, 0 },   { 233, 1, 0 }, { 225, 4, 0 }, { 226, 4, 0 }, { 227, 2, 0 },
		                      { 228, 2, 0 }, { 323, 8, 0 }, { 152, 8, 0 } };
	static struct msg m;

	fresh(NULL);
	m_start(&m, 9, 0);
	set_begin(&m, 0);
	put_tmpl(&m, 263, t, N(t));
	set_end(&m);
	set_begin(&m, 263);
	put32(&m, 123456);
	putip(&m, "10.0.0.1");
	putip(&m, "198.51.100.10");
	put16(&m, 51000);
	put16(&m, 443);
	put8(&m, 6);
	put8(&m, 1); /* flow created */
	putip(&m, "203.0.113.5");
	putip(&m, "198.51.100.10");
	put16(&m, 61000);
	put16(&m, 443);
	put64(&m, 1699999999123ull);
	put64(&m, 1699999990456ull);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"NF_F_CONN_ID\":123456,\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\":\"198.51.100.10\","
	                    "\"L4_SRC_PORT\":51000,\"L4_DST_PORT\":443,\"PROTOCOL\":6,\"NF_F_FW_EVENT\":1,"
	                    "\"NF_F_XLATE_SRC_ADDR_IPV4\":\"203.0.113.5\",\"NF_F_XLATE_DST_ADDR_IPV4\":\"198.51.100.10\","
	                    "\"NF_F_XLATE_SRC_PORT\":61000,\"NF_F_XLATE_DST_PORT\":443,"
	                    "\"NF_F_EVENT_TIME_MSEC\":1699999999123,\"NF_F_FLOW_CREATE_TIME_MSEC\":1699999990456" EXP4
	                    ",\"flowStartSeconds\":1699999990}");
}

/* ------------------------------------------------------------------------ */
/* Options data: sampling, options records, renormalization                 */

static const struct f T_FLOW[] = { { 8, 4, 0 }, { 1, 4, 0 }, { 2, 4, 0 } };

static void flow_msg(struct msg *m, int ver, uint32_t domain, uint32_t bytes, uint32_t pkts)
{
	m_start(m, ver, domain);
	set_begin(m, tset(m));
	put_tmpl(m, 256, T_FLOW, N(T_FLOW));
	set_end(m);
	set_begin(m, 256);
	putip(m, "10.0.0.1");
	put32(m, bytes);
	put32(m, pkts);
	set_end(m);
	m_end(m);
}

/* v9: options template with a scope of length 0 (Juniper SRX), padded set;
 * SAMPLING_INTERVAL 100 and FLOW_SAMPLER_ID 1. */
static void v9_sampling_msg(struct msg *m, uint32_t domain)
{
	static const struct f op[] = { { 34, 4, 0 }, { 48, 1, 0 } };

	m_start(m, 9, domain);
	set_begin(m, 1);
	put_otmpl(m, 300, NULL, 0, op, N(op));
	put16(m, 0); /* padding to 4 bytes */
	set_end(m);
	set_begin(m, 300);
	put32(m, 100);
	put8(m, 1);
	put8(m, 0);
	put16(m, 0);
	set_end(m);
	m_end(m);
}

/* IPFIX: scope observationDomainId, samplingPacketInterval 1 and
 * samplingPacketSpace 99 (RFC 5476: 1 packet in 100). */
static void ipfix_sampling_msg(struct msg *m, uint32_t domain)
{
	static const struct f sc[] = { { 149, 4, 0 } }, op[] = { { 305, 4, 0 }, { 306, 4, 0 } };

	m_start(m, 10, domain);
	set_begin(m, 3);
	put_otmpl(m, 400, sc, 1, op, N(op));
	set_end(m);
	set_begin(m, 400);
	put32(m, domain);
	put32(m, 1);
	put32(m, 99);
	set_end(m);
	m_end(m);
}

static void test_options_sampling(void)
{
	static const struct f own[] = { { 8, 4, 0 }, { 34, 4, 0 } };
	static const struct f sc[] = { { 149, 4, 0 } }, op[] = { { 309, 4, 0 }, { 310, 4, 0 } };
	static struct msg m;

	fresh(NULL);
	v9_sampling_msg(&m, 0);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0); /* not forwarded */
	CU_ASSERT_EQUAL(ctr(9, "options_records"), 1);
	CU_ASSERT_EQUAL(ctr(9, "malformed_templates"), 0);
	flow_msg(&m, 9, 0, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":1000,\"IN_PKTS\":10" EXP4
	                    ",\"SAMPLING_INTERVAL\":100}");
	/* a record with its own SAMPLING_INTERVAL keeps it alone */
	m_start(&m, 9, 0);
	set_begin(&m, 0);
	put_tmpl(&m, 257, own, N(own));
	set_end(&m);
	set_begin(&m, 257);
	putip(&m, "10.0.0.2");
	put32(&m, 7);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.2\",\"SAMPLING_INTERVAL\":7" EXP4 "}");
	/* another source id knows nothing of it */
	flow_msg(&m, 9, 5, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":1000,\"IN_PKTS\":10" EXP4 "}");

	ipfix_sampling_msg(&m, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "options_records"), 1);
	flow_msg(&m, 10, 1, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":1000,\"packetDeltaCount\":10"
	                    EXP4 ",\"samplingInterval\":100}");
	/* samplingSize 10 of samplingPopulation 1000 */
	m_start(&m, 10, 2);
	set_begin(&m, 3);
	put_otmpl(&m, 401, sc, 1, op, N(op));
	set_end(&m);
	set_begin(&m, 401);
	put32(&m, 2);
	put32(&m, 10);
	put32(&m, 1000);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	flow_msg(&m, 10, 2, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":1000,\"packetDeltaCount\":10"
	                    EXP4 ",\"samplingInterval\":100}");
	/* add_sampling=no */
	fresh("add_sampling=no", NULL);
	v9_sampling_msg(&m, 0);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	flow_msg(&m, 9, 0, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":1000,\"IN_PKTS\":10" EXP4 "}");
}

static void test_options_records(void)
{
	static const struct f sc[] = { { 1, 4, 0 }, { 2, 2, 0 }, { 9, 2, 0 } }, op[] = { { 34, 4, 0 } };
	static struct msg m;
	struct nfc_batch *b;

	fresh("options_records=yes", NULL);
	v9_sampling_msg(&m, 0);
	EXPECT1(&m, NFC_OK, "{\"SAMPLING_INTERVAL\":100,\"FLOW_SAMPLER_ID\":1" EXP4 "}");
	CU_ASSERT_EQUAL(ctr(9, "options_records"), 1);
	/* Cisco style: scope fields (system, interface, an unknown scope type) */
	m_start(&m, 9, 0);
	set_begin(&m, 1);
	put_otmpl(&m, 301, sc, N(sc), op, N(op));
	set_end(&m);
	set_begin(&m, 301);
	putip(&m, "192.168.1.1");
	put16(&m, 3);
	put16(&m, 4);
	put32(&m, 50);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"SCOPE_SYSTEM\":3232235777,\"SCOPE_INTERFACE\":3,\"SCOPE_9\":4,"
	                    "\"SAMPLING_INTERVAL\":50" EXP4 "}");
	flow_msg(&m, 9, 0, 1000, 10);
	CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
	CU_ASSERT_EQUAL(nfc_batch_count(b), 1);
	CHECK_JSON(b, 0, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":1000,\"IN_PKTS\":10" EXP4
	                 ",\"SAMPLING_INTERVAL\":50}");
	nfc_batch_put(b);

	ipfix_sampling_msg(&m, 1);
	EXPECT1(&m, NFC_OK, "{\"observationDomainId\":1,\"samplingPacketInterval\":1,\"samplingPacketSpace\":99"
	                    EXP4 "}");
	CU_ASSERT_EQUAL(ctr(10, "options_records"), 1);
}

static void test_renormalize(void)
{
	static struct msg m;

	fresh("renormalize=yes", NULL);
	v9_sampling_msg(&m, 0);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	flow_msg(&m, 9, 0, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":100000,\"IN_PKTS\":1000" EXP4
	                    ",\"SAMPLING_INTERVAL\":100}");
	ipfix_sampling_msg(&m, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	flow_msg(&m, 10, 1, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":100000,\"packetDeltaCount\":1000"
	                    EXP4 ",\"samplingInterval\":100}");
	/* no interval announced: raw */
	flow_msg(&m, 10, 2, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":1000,\"packetDeltaCount\":10"
	                    EXP4 "}");
}

/* ------------------------------------------------------------------------ */
/* Absolute times                                                           */

static void v9_times_msg(struct msg *m, uint32_t first, uint32_t last)
{
	static const struct f t[] = { { 8, 4, 0 }, { 22, 4, 0 }, { 21, 4, 0 } };

	m_start(m, 9, 0);
	set_begin(m, 0);
	put_tmpl(m, 256, t, N(t));
	set_end(m);
	set_begin(m, 256);
	putip(m, "10.0.0.1");
	put32(m, first);
	put32(m, last);
	set_end(m);
	m_end(m);
}

static void test_times_v9(void)
{
	static struct msg m;

	fresh(NULL);
	/* export at 1700000000 s, sysUptime 1000 s */
	v9_times_msg(&m, 990000, 999500);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"FIRST_SWITCHED\":990000,\"LAST_SWITCHED\":999500"
	                    EXP4 ",\"flowStartSeconds\":1699999990,\"flowEndSeconds\":1699999999}");
	/* sysUptime wrapped 2 s ago: the flow started 2 s before the wrap */
	hdr_uptime = 2000;
	v9_times_msg(&m, 0xfffff830u, 1500);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"FIRST_SWITCHED\":4294965296,\"LAST_SWITCHED\":1500"
	                    EXP4 ",\"flowStartSeconds\":1699999996,\"flowEndSeconds\":1699999999}");
	/* just after the wrap; its end a moment after the export (skewed) */
	v9_times_msg(&m, 500, 2500);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"FIRST_SWITCHED\":500,\"LAST_SWITCHED\":2500"
	                    EXP4 ",\"flowStartSeconds\":1699999998,\"flowEndSeconds\":1700000000}");
	fresh("add_times=no", NULL);
	v9_times_msg(&m, 990000, 999500);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"FIRST_SWITCHED\":990000,\"LAST_SWITCHED\":999500" EXP4 "}");
}

static void test_times_ipfix(void)
{
	static const struct f t1[] = { { 8, 4, 0 }, { 152, 8, 0 }, { 153, 8, 0 } };
	static const struct f t2[] = { { 8, 4, 0 }, { 158, 4, 0 }, { 159, 4, 0 } };
	static const struct f t3[] = { { 8, 4, 0 }, { 22, 4, 0 }, { 21, 4, 0 } };
	static const struct f t4[] = { { 150, 4, 0 }, { 153, 8, 0 } };
	static const struct f t5[] = { { 154, 8, 0 }, { 155, 8, 0 } };
	static const struct f t6[] = { { 150, VL, 0 }, { 152, 8, 0 }, { 34, 16, 0 } };
	static const struct f sc[] = { { 149, 4, 0 } }, op[] = { { 160, 8, 0 } };
	static struct msg m;
	const uint64_t ntp = 2208988800ull;

	fresh(NULL);
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 256, t1, N(t1));
	put_tmpl(&m, 257, t2, N(t2));
	put_tmpl(&m, 258, t3, N(t3));
	put_tmpl(&m, 259, t4, N(t4));
	put_tmpl(&m, 260, t5, N(t5));
	put_tmpl(&m, 261, t6, N(t6));
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);

	m_start(&m, 10, 1);
	set_begin(&m, 256);
	putip(&m, "10.0.0.1");
	put64(&m, 1699999990123ull);
	put64(&m, 1699999999999ull);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"flowStartMilliseconds\":1699999990123,"
	                    "\"flowEndMilliseconds\":1699999999999" EXP4
	                    ",\"flowStartSeconds\":1699999990,\"flowEndSeconds\":1699999999}");
	/* deltas before the export time (1700000000 s), in microseconds */
	m_start(&m, 10, 1);
	set_begin(&m, 257);
	putip(&m, "10.0.0.1");
	put32(&m, 5000000);
	put32(&m, 1500000);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"flowStartDeltaMicroseconds\":5000000,"
	                    "\"flowEndDeltaMicroseconds\":1500000" EXP4
	                    ",\"flowStartSeconds\":1699999995,\"flowEndSeconds\":1699999998}");
	/* sysUpTime: nothing to add until systemInitTimeMilliseconds is known */
	m_start(&m, 10, 1);
	set_begin(&m, 258);
	putip(&m, "10.0.0.1");
	put32(&m, 5000);
	put32(&m, 9000);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"flowStartSysUpTime\":5000,\"flowEndSysUpTime\":9000"
	                    EXP4 "}");
	m_start(&m, 10, 1);
	set_begin(&m, 3);
	put_otmpl(&m, 400, sc, 1, op, 1);
	set_end(&m);
	set_begin(&m, 400);
	put32(&m, 1);
	put64(&m, 1699990000000ull);
	set_end(&m);
	set_begin(&m, 258);
	putip(&m, "10.0.0.1");
	put32(&m, 5000);
	put32(&m, 9000);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"flowStartSysUpTime\":5000,\"flowEndSysUpTime\":9000"
	                    EXP4 ",\"flowStartSeconds\":1699990005,\"flowEndSeconds\":1699990009}");
	/* the record has flowStartSeconds itself: only the end is added */
	m_start(&m, 10, 1);
	set_begin(&m, 259);
	put32(&m, 1699999990);
	put64(&m, 1699999999999ull);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"flowStartSeconds\":1699999990,\"flowEndMilliseconds\":1699999999999" EXP4
	                    ",\"flowEndSeconds\":1699999999}");
	/* NTP microseconds */
	m_start(&m, 10, 1);
	set_begin(&m, 260);
	put64(&m, (1699999990ull + ntp) << 32 | 0x80000000u);
	put64(&m, (1699999999ull + ntp) << 32);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"flowStartMicroseconds\":1699999990500000,\"flowEndMicroseconds\":1699999999000000"
	                    EXP4 ",\"flowStartSeconds\":1699999990,\"flowEndSeconds\":1699999999}");
	/* flowStartSeconds and samplingInterval of unusual lengths are still
	 * the record's own keys: none derived beside them */
	ipfix_sampling_msg(&m, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	m_start(&m, 10, 1);
	set_begin(&m, 261);
	putvar(&m, "\x65\x53\xf1\x00", 4, 0);
	put64(&m, 1699999990123ull);
	putb(&m, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x0a", 16);
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"flowStartSeconds\":1700000000,\"flowStartMilliseconds\":1699999990123,"
	                    "\"samplingInterval\":\"0000000000000000000000000000000a\"" EXP4 "}");
}

/* ------------------------------------------------------------------------ */
/* The exporter's address; where templates are shared                      */

static void test_exporter_address(void)
{
	static const struct f t6[] = { { 27, 16, 0 }, { 131, 16, 0 } };
	static const struct f t4[] = { { 8, 4, 0 }, { 130, 4, 0 } };
	static struct msg m;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		const char *want6 = ver == 9 ? "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":5,"
		                               "\"exporterIPv6Address\":\"2001:db8::1\"}"
		                             : "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":5,"
		                               "\"exporterIPv6Address\":\"2001:db8::1\"}";
		const char *want4 = ver == 9 ? "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":6,"
		                               "\"exporterIPv4Address\":\"198.51.100.7\"}"
		                             : "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":6,"
		                               "\"exporterIPv4Address\":\"198.51.100.7\"}";

		g_src = "2001:db8::1";
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		data1(&m, ver, 1, 256, 5);
		EXPECT1(&m, NFC_OK, want6);
		/* IPv4-mapped IPv6 is the IPv4 exporter: same templates, IPv4 key */
		g_src = "198.51.100.7";
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		g_src = "::ffff:198.51.100.7";
		data1(&m, ver, 1, 256, 6);
		EXPECT1(&m, NFC_OK, want4);
	}
	/* records that carry the exporter's address themselves get no second key */
	g_src = "2001:db8::1";
	m_start(&m, 10, 1);
	set_begin(&m, 2);
	put_tmpl(&m, 257, t6, N(t6));
	set_end(&m);
	set_begin(&m, 257);
	putip(&m, "2001:db8::5");
	putip(&m, "2001:db8::99");
	set_end(&m);
	m_end(&m);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv6Address\":\"2001:db8::5\",\"exporterIPv6Address\":\"2001:db8::99\"}");
	g_src = "192.0.2.1";
	for (int ver = 9; ver <= 10; ver++) {
		m_start(&m, ver, 1);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 258, t4, N(t4));
		set_end(&m);
		set_begin(&m, 258);
		putip(&m, "10.0.0.1");
		putip(&m, "192.0.2.200");
		set_end(&m);
		m_end(&m);
		EXPECT1(&m, NFC_OK, ver == 9 ? "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"exporterIPv4Address\":\"192.0.2.200\"}"
		                             : "{\"sourceIPv4Address\":\"10.0.0.1\",\"exporterIPv4Address\":\"192.0.2.200\"}");
	}
	fresh("add_exporter=no", NULL);
	tmpl_msg(&m, 10, 1, 256, T_AB, N(T_AB));
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	data1(&m, 10, 1, 256, 5);
	EXPECT1(&m, NFC_OK, "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":5}");
}

/* Templates are the stream's (address + source id / observation domain):
 * a template learned on worker 0 decodes data on worker 1, another source
 * port of the exporter shares them, another domain does not. */
static void test_template_scope(void)
{
	static struct msg m;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		g_w = &w0;
		g_port = 40000;
		tmpl_msg(&m, ver, 7, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		g_w = &w1;
		g_port = 50000;
		data1(&m, ver, 7, 256, 1);
		EXPECT1(&m, NFC_OK, ab_json(ver, 1, 1));
		g_w = &w0;
		g_port = 40000;
		data1(&m, ver, 7, 256, 2);
		EXPECT1(&m, NFC_OK, ab_json(ver, 1, 2));
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 0);
		/* another domain of the same address */
		data1(&m, ver, 8, 256, 3);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 1);
		/* another address, same domain */
		g_src = "192.0.2.2";
		data1(&m, ver, 7, 256, 4);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 2);
		g_src = "192.0.2.1";
	}
}

/* ------------------------------------------------------------------------ */
/* Malformed input                                                          */

static void test_malformed(void)
{
	static const struct f zero[] = { { 1, 0, 0 }, { 2, 0, 0 } };
	static struct msg m;
	struct nfc_batch *b;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		uint64_t bad0 = in_ctr(NFC_C_MALFORMED);
		size_t len;

		/* a set whose length runs past the end: what came before stays */
		m_start(&m, ver, 1);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 256, T_AB, N(T_AB));
		set_end(&m);
		set_begin(&m, 256);
		put32(&m, 0x0a000001);
		put32(&m, 1);
		put32(&m, 0x0a000002);
		put32(&m, 2);
		set_end(&m);
		put16(&m, 256);
		put16(&m, 200);
		put32(&m, 0x0a000003);
		put32(&m, 3);
		m_end(&m);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_EMALFORMED);
		CU_ASSERT_EQUAL(nfc_batch_count(b), 2);
		CHECK_JSON(b, 0, ab_json(ver, 1, 1));
		CHECK_JSON(b, 1, ab_json(ver, 2, 2));
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(in_ctr(NFC_C_MALFORMED), bad0 + 1);

		/* set lengths 0 and 3 */
		for (uint16_t sl = 0; sl < 4; sl += 3) {
			m_start(&m, ver, 1);
			put16(&m, 256);
			put16(&m, sl);
			put32(&m, 0x0a000001);
			put32(&m, 1);
			m_end(&m);
			CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
		}
		CU_ASSERT_EQUAL(in_ctr(NFC_C_MALFORMED), bad0 + 3);

		/* a template record cut short: the template before it is kept,
		 * and the data set after the template set is decoded */
		m_start(&m, ver, 1);
		set_begin(&m, tset(&m));
		put_tmpl(&m, 257, T_AB, N(T_AB));
		put16(&m, 258);
		put16(&m, 5);
		put16(&m, 8);
		put16(&m, 4);
		put16(&m, 1);
		set_end(&m);
		set_begin(&m, 257);
		put32(&m, 0x0a000001);
		put32(&m, 9);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_EMALFORMED);
		CU_ASSERT_EQUAL(nfc_batch_count(b), 1);
		CHECK_JSON(b, 0, ab_json(ver, 1, 9));
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(ctr(ver, "malformed_templates"), 1);
		CU_ASSERT_EQUAL(in_ctr(NFC_C_MALFORMED), bad0 + 4);
		data1(&m, ver, 1, 258, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0); /* 258 was not learned */

		/* a template of 0 fields (v9; in IPFIX that is a withdrawal), a
		 * template id below 256, a scope larger than the template */
		m_start(&m, ver, 1);
		set_begin(&m, tset(&m));
		put16(&m, 255);
		put16(&m, 1);
		put16(&m, 8);
		put16(&m, 4);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
		CU_ASSERT_EQUAL(ctr(ver, "malformed_templates"), 2);
		m_start(&m, ver, 1);
		set_begin(&m, oset(&m));
		put16(&m, 300);
		if (ver == 9) {
			put16(&m, 3); /* scope length not a multiple of 4 */
			put16(&m, 4);
		} else {
			put16(&m, 1);
			put16(&m, 2); /* 2 scope fields of 1 */
		}
		put16(&m, 8);
		put16(&m, 4);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
		CU_ASSERT_EQUAL(ctr(ver, "malformed_templates"), 3);
		if (ver == 9) {
			m_start(&m, 9, 1);
			set_begin(&m, 0);
			put16(&m, 259);
			put16(&m, 0);
			set_end(&m);
			m_end(&m);
			CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
			CU_ASSERT_EQUAL(ctr(9, "malformed_templates"), 4);
			m_start(&m, 9, 1);
			set_begin(&m, 1);
			put16(&m, 259);
			put16(&m, 0);
			put16(&m, 0);
			set_end(&m);
			m_end(&m);
			CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
			CU_ASSERT_EQUAL(ctr(9, "malformed_templates"), 5);
		} else {
			/* an enterprise bit whose number is cut off */
			m_start(&m, 10, 1);
			set_begin(&m, 2);
			put16(&m, 259);
			put16(&m, 1);
			put16(&m, 0x8001);
			put16(&m, 4);
			set_end(&m);
			m_end(&m);
			CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
			CU_ASSERT_EQUAL(ctr(10, "malformed_templates"), 4);
		}

		/* a template whose records would be 0 bytes: refused, its data held */
		tmpl_msg(&m, ver, 1, 260, zero, N(zero));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates_refused"), 1);
		m_start(&m, ver, 1);
		set_begin(&m, 260);
		put32(&m, 0);
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);

		/* headers cut short */
		for (len = 0; len < (ver == 9 ? 20u : 16u); len++) {
			data1(&m, ver, 1, 257, 1);
			m.len = len;
			CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
		}
		/* an unknown set id is skipped and counted */
		m_start(&m, ver, 1);
		set_begin(&m, 100);
		put32(&m, 0);
		set_end(&m);
		set_begin(&m, 257);
		put32(&m, 0x0a000001);
		put32(&m, 10);
		set_end(&m);
		m_end(&m);
		EXPECT1(&m, NFC_OK, ab_json(ver, 1, 10));
		CU_ASSERT_EQUAL(ctr(ver, "unknown_sets"), 1);
	}

	/* IPFIX: a message length larger than the datagram refuses it whole */
	{
		uint64_t bad0 = in_ctr(NFC_C_MALFORMED), t0 = ctr(10, "templates");

		m_start(&m, 10, 1);
		set_begin(&m, 2);
		put_tmpl(&m, 261, T_AB, N(T_AB));
		set_end(&m);
		set_begin(&m, 261);
		put32(&m, 0x0a000001);
		put32(&m, 1);
		set_end(&m);
		m_end(&m);
		m.b[3] += 1;
		CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
		CU_ASSERT_EQUAL(ctr(10, "templates"), t0);
		m.b[2] = 0;
		m.b[3] = 15; /* shorter than its header */
		CU_ASSERT_EQUAL(decode_count(&m, NFC_EMALFORMED), 0);
		CU_ASSERT_EQUAL(in_ctr(NFC_C_MALFORMED), bad0 + 2);
		/* a length shorter than the datagram: the bytes after it are not
		 * the message's */
		m_end(&m);
		put32(&m, 0xffffffffu);
		put32(&m, 0xffffffffu);
		EXPECT1(&m, NFC_OK, ab_json(10, 1, 1));
	}
}

/* Every prefix of valid messages, and random corruptions of them, decode
 * without crashing (under ASan: without reading outside the datagram). */
static uint32_t rnd_state = 12345;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

static void build_rich(struct msg *m, int ver)
{
	static const struct f t[] = { { 8, 4, 0 }, { 82, VL, 0 }, { 1, 4, 0 }, { 12235, VL, 9 }, { 22, 4, 0 },
		                      { 152, 8, 0 } };
	static const struct f sc[] = { { 149, 4, 0 } }, op[] = { { 34, 4, 0 }, { 160, 8, 0 } };

	m_start(m, ver, 1);
	set_begin(m, oset(m));
	put_otmpl(m, 300, sc, 1, op, N(op));
	set_end(m);
	set_begin(m, 300);
	put32(m, 1);
	put32(m, 10);
	put64(m, 1699990000000ull);
	set_end(m);
	set_begin(m, 257);
	putip(m, "10.0.0.9");
	putvar(m, "held", 4, 0);
	put32(m, 1);
	putvar(m, "\x01", 1, 1);
	put32(m, 5);
	put64(m, 1699999990000ull);
	set_end(m);
	set_begin(m, tset(m));
	put_tmpl(m, 256, t, N(t));
	put_tmpl(m, 257, t, N(t));
	set_end(m);
	set_begin(m, 256);
	for (int i = 0; i < 3; i++) {
		putip(m, "10.0.0.1");
		putvar(m, "ge-0/0/0", 8, i == 1);
		put32(m, 100);
		putvar(m, "\x01\x02", 2, i == 2);
		put32(m, 5);
		put64(m, 1699999990000ull);
	}
	set_end(m);
	m_end(m);
}

static void test_truncated_and_corrupt(void)
{
	static struct msg base, m;

	fresh("options_records=yes", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		build_rich(&base, ver);
		/* whole: the options record, the held record, three records */
		CU_ASSERT_EQUAL(decode_count(&base, NFC_OK), 5);
		for (size_t cut = 0; cut < base.len; cut++) {
			struct nfc_batch *b;

			g_src = "198.51.100.1"; /* a new stream for every prefix */
			m = base;
			m.len = cut;
			/* a fresh observation domain / source id for every prefix */
			m.b[ver == 9 ? 18 : 14] = (uint8_t)(cut >> 8);
			m.b[ver == 9 ? 19 : 15] = (uint8_t)cut;
			if (ver == 10 && cut >= 4) {
				m.b[2] = (uint8_t)(cut >> 8);
				m.b[3] = (uint8_t)cut;
			}
			decode(&m, &b);
			for (size_t i = 0; i < nfc_batch_count(b); i++)
				CU_ASSERT(json_of(b, i)[0] == '{');
			nfc_batch_put(b);
		}
		for (int k = 0; k < 3000; k++) {
			struct nfc_batch *b;
			int flips = 1 + (int)(rnd() % 4);

			g_src = k % 2 ? "198.51.100.2" : "198.51.100.3"; /* templates accumulate */
			m = base;
			for (int j = 0; j < flips; j++)
				m.b[(ver == 9 ? 20 : 16) + rnd() % (base.len - (ver == 9 ? 20 : 16))] ^= (uint8_t)(1u << (rnd() % 8));
			decode(&m, &b);
			for (size_t i = 0; i < nfc_batch_count(b); i++)
				CU_ASSERT(json_of(b, i)[0] == '{');
			nfc_batch_put(b);
		}
		g_src = "192.0.2.1";
	}
}

/* ------------------------------------------------------------------------ */
/* Restart: templates saved in state_dir                                    */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xffffffffu;
}

static const char *state_file(int ver)
{
	static char path[128];

	snprintf(path, sizeof(path), "%s/%s.state", state_dir, ver == 9 ? "netflow_v9" : "ipfix");
	return path;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !(p = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return NULL;
	}
	*len = (size_t)read(fd, p, (size_t)st.st_size);
	close(fd);
	return p;
}

static void spit(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* What each restart case learns before the stop: v9 sampling options and
 * template 256, IPFIX sampling options and template 256. */
static void learn_for_restart(void)
{
	static struct msg m;

	for (int ver = 9; ver <= 10; ver++) {
		if (ver == 9)
			v9_sampling_msg(&m, 1);
		else
			ipfix_sampling_msg(&m, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	}
}

static const char *restored_json(int ver, uint32_t v)
{
	static char s[256];

	snprintf(s, sizeof(s), ver == 9 ? "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":%u" EXP4 ",\"SAMPLING_INTERVAL\":100}"
	                                 : "{\"sourceIPv4Address\":\"10.0.0.1\",\"octetDeltaCount\":%u" EXP4
	                                   ",\"samplingInterval\":100}",
	         v);
	return s;
}

static void test_restart(void)
{
	static const struct f tb[] = { { 1, 8, 0 }, { 4, 1, 0 } };
	static struct msg m;
	struct stat st;

	unlink(state_file(9));
	unlink(state_file(10));
	fresh("save_templates=yes", NULL);
	learn_for_restart();
	dec_free(&v9);
	dec_free(&ipx);
	for (int ver = 9; ver <= 10; ver++) {
		CU_ASSERT_EQUAL(stat(state_file(ver), &st), 0);
		CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	}
	fresh("save_templates=yes", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		CU_ASSERT_EQUAL(ctr(ver, "templates_restored"), 2);
		/* data with no template resend: decoded, sampling known */
		data1(&m, ver, 1, 256, 5);
		EXPECT1(&m, NFC_OK, restored_json(ver, 5));
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 0);
		/* other streams restored nothing */
		data1(&m, ver, 2, 256, 5);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		/* the exporter's template after the restart wins */
		tmpl_msg(&m, ver, 1, 256, tb, N(tb));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		m_start(&m, ver, 1);
		set_begin(&m, 256);
		put64(&m, 77);
		put8(&m, 6);
		set_end(&m);
		m_end(&m);
		EXPECT1(&m, NFC_OK, ver == 9 ? "{\"IN_BYTES\":77,\"PROTOCOL\":6" EXP4 ",\"SAMPLING_INTERVAL\":100}"
		                             : "{\"octetDeltaCount\":77,\"protocolIdentifier\":6" EXP4
		                               ",\"samplingInterval\":100}");
	}
	/* and that is what the next start restores */
	fresh("save_templates=yes", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		m_start(&m, ver, 1);
		set_begin(&m, 256);
		put64(&m, 78);
		put8(&m, 17);
		set_end(&m);
		m_end(&m);
		EXPECT1(&m, NFC_OK, ver == 9 ? "{\"IN_BYTES\":78,\"PROTOCOL\":17" EXP4 ",\"SAMPLING_INTERVAL\":100}"
		                             : "{\"octetDeltaCount\":78,\"protocolIdentifier\":17" EXP4
		                               ",\"samplingInterval\":100}");
	}
	dec_free(&v9);
	dec_free(&ipx);
	/* save_templates=no neither reads nor writes */
	fresh(NULL);
	data1(&m, 9, 1, 256, 5);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(9, "templates_restored"), 0);
}

/* Samplers (v9 FLOW_SAMPLER_ID 48 with SAMPLING_INTERVAL 34): one interval
 * per sampler; records get it while the samplers agree and none when they
 * differ (the record's own sampler is not known at encode time). Interface
 * names (ingressInterface 10 + interfaceName 82) are kept per exporter and
 * saved with the templates. */
static void sampler_msg(struct msg *m, uint8_t id, uint32_t interval)
{
	static const struct f op[] = { { 34, 4, 0 }, { 48, 1, 0 } };

	m_start(m, 9, 0);
	set_begin(m, 1);
	put_otmpl(m, 300, NULL, 0, op, N(op));
	put16(m, 0);
	set_end(m);
	set_begin(m, 300);
	put32(m, interval);
	put8(m, id);
	put8(m, 0);
	put16(m, 0);
	set_end(m);
	m_end(m);
}

static void test_samplers_and_interfaces(void)
{
	static const struct f sc[] = { { 10, 4, 0 } }, op[] = { { 82, VL, 0 } };
	static const char name[] = "TenGigE0/0/0/16.22";
	static struct msg m;
	uint8_t *p;
	size_t len;

	fresh(NULL);
	sampler_msg(&m, 1, 100);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	sampler_msg(&m, 2, 100);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	flow_msg(&m, 9, 0, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":1000,\"IN_PKTS\":10" EXP4
	                    ",\"SAMPLING_INTERVAL\":100}");
	/* sampler 2 now samples 1 in 10: they disagree, no interval is added */
	sampler_msg(&m, 2, 10);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	flow_msg(&m, 9, 0, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":1000,\"IN_PKTS\":10" EXP4 "}");
	/* both at 10 again */
	sampler_msg(&m, 1, 10);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	flow_msg(&m, 9, 0, 1000, 10);
	EXPECT1(&m, NFC_OK, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":1000,\"IN_PKTS\":10" EXP4
	                    ",\"SAMPLING_INTERVAL\":10}");

	/* IPFIX interface names, saved and restored */
	unlink(state_file(10));
	fresh("save_templates=yes", NULL);
	m_start(&m, 10, 1);
	set_begin(&m, 3);
	put_otmpl(&m, 400, sc, N(sc), op, N(op));
	set_end(&m);
	set_begin(&m, 400);
	put32(&m, 185);
	putvar(&m, name, strlen(name), 0);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	CU_ASSERT_EQUAL(ctr(10, "options_records"), 1);
	dec_free(&v9);
	dec_free(&ipx);
	p = slurp(state_file(10), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(memmem(p, len, name, strlen(name)));
	free(p);
	/* restored, then saved again by the next stop without a resend */
	fresh("save_templates=yes", NULL);
	dec_free(&v9);
	dec_free(&ipx);
	p = slurp(state_file(10), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(memmem(p, len, name, strlen(name)));
	free(p);
	fresh(NULL);
}

/* A state file that is corrupt or not ours is reported and ignored whole. */
static void test_restart_corrupt(void)
{
	uint8_t *good[2];
	size_t glen[2];
	static struct msg m;

	unlink(state_file(9));
	unlink(state_file(10));
	fresh("save_templates=yes", NULL);
	learn_for_restart();
	dec_free(&v9);
	dec_free(&ipx);
	good[0] = slurp(state_file(9), &glen[0]);
	good[1] = slurp(state_file(10), &glen[1]);
	CU_ASSERT_FATAL(good[0] && good[1] && glen[0] > 20 && glen[1] > 20);

	for (int variant = 0; variant < 12; variant++) {
		for (int ver = 9; ver <= 10; ver++) {
			const uint8_t *g = good[ver - 9];
			size_t gl = glen[ver - 9], len = gl;
			uint8_t *p = malloc(gl + 4096);

			memcpy(p, g, gl);
			switch (variant) {
			case 0: /* a flipped byte in the body */
				p[20 + (gl - 20) / 2] ^= 0x10;
				break;
			case 1: /* a flipped byte in the checksum */
				p[17] ^= 1;
				break;
			case 2: /* truncated by one byte */
				len = gl - 1;
				break;
			case 3: /* truncated to its header */
				len = 20;
				break;
			case 4: /* truncated inside the header */
				len = 10;
				break;
			case 5: /* empty */
				len = 0;
				break;
			case 6: /* random bytes */
				len = 4096;
				for (size_t i = 0; i < len; i++)
					p[i] = (uint8_t)rnd();
				break;
			case 7: /* another version of the format */
				p[11] = 99;
				break;
			case 8: /* another format altogether */
				len = (size_t)snprintf((char *)p, 4096, "{\"templates\":[{\"id\":256}]}\n");
				break;
			case 9: /* a checksum that matches a body that does not parse:
			         * the good records, then an unknown address family */
				memset(p + gl, 7, 40);
				len = gl + 40;
				break;
			case 10: /* a template of 65535 fields whose fields are missing
			          * (format 2: 23 bytes of key, 0 samplers, 0 names,
			          * 8 of init_ms, then the template count) */
				memset(p + gl, 0, 43);
				p[gl] = 2;                            /* AF_INET */
				p[gl + 35] = 1;                       /* 1 template */
				p[gl + 36] = 1;                       /* id 256 */
				p[gl + 39] = 0xff, p[gl + 40] = 0xff; /* 65535 fields */
				len = gl + 43;
				break;
			case 11: /* a body length that disagrees with the file */
				p[15] += 1;
				break;
			}
			if (variant == 9 || variant == 10) {
				uint32_t blen = (uint32_t)(len - 20), crc = crc32_ieee(p + 20, blen);

				p[12] = (uint8_t)(blen >> 24), p[13] = (uint8_t)(blen >> 16);
				p[14] = (uint8_t)(blen >> 8), p[15] = (uint8_t)blen;
				p[16] = (uint8_t)(crc >> 24), p[17] = (uint8_t)(crc >> 16);
				p[18] = (uint8_t)(crc >> 8), p[19] = (uint8_t)crc;
			}
			spit(state_file(ver), p, len);
			free(p);
		}
		fresh("save_templates=yes", NULL);
		for (int ver = 9; ver <= 10; ver++) {
			if (ctr(ver, "templates_restored") != 0)
				fprintf(stderr, "\ncorrupt state variant %d restored templates (v%d)\n", variant, ver);
			CU_ASSERT_EQUAL(ctr(ver, "templates_restored"), 0);
			data1(&m, ver, 1, 256, 5);
			if (decode_count(&m, NFC_OK) != 0)
				fprintf(stderr, "\ncorrupt state variant %d: data decoded with a restored template (v%d)\n",
				        variant, ver);
			/* the decoder still learns and decodes */
			tmpl_msg(&m, ver, 1, 257, T_AB, N(T_AB));
			CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
			data1(&m, ver, 1, 257, 6);
			EXPECT1(&m, NFC_OK, ab_json(ver, 1, 6));
		}
		dec_free(&v9);
		dec_free(&ipx);
	}
	free(good[0]);
	free(good[1]);

	/* a state_dir that cannot be written: reported at stop, no crash */
	nfc_state_dir_set("/nonexistent/netflow-concentrator-test");
	fresh("save_templates=yes", NULL);
	learn_for_restart();
	dec_free(&v9);
	dec_free(&ipx);
	nfc_state_dir_set(state_dir);
	fresh(NULL);
}

/* ------------------------------------------------------------------------ */
/* Limits                                                                   */

static void test_max_templates(void)
{
	static const struct f tb[] = { { 1, 8, 0 }, { 4, 1, 0 } };
	static struct msg m;

	fresh("max_templates=4", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		m_start(&m, ver, 1);
		set_begin(&m, tset(&m));
		for (uint16_t id = 256; id < 262; id++)
			put_tmpl(&m, id, T_AB, N(T_AB));
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates"), 4);
		CU_ASSERT_EQUAL(ctr(ver, "templates_refused"), 2);
		data1(&m, ver, 1, 259, 1);
		EXPECT1(&m, NFC_OK, ab_json(ver, 1, 1));
		data1(&m, ver, 1, 260, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "held_sets"), 1);
		/* a resend, and a redefinition, of one it has: not refused */
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		tmpl_msg(&m, ver, 1, 257, tb, N(tb));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates_refused"), 2);
		CU_ASSERT_EQUAL(ctr(ver, "templates"), 5);
		/* another exporter has its own allowance */
		tmpl_msg(&m, ver, 2, 261, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates_refused"), 2);
	}
}

static void test_max_exporters(void)
{
	static struct msg m;
	static const char *const who[] = { "192.0.2.11", "192.0.2.12", "192.0.2.13", "192.0.2.14" };

	fresh("max_exporters=3", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		for (int i = 0; i < 3; i++) {
			g_src = who[i];
			tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
			CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		}
		g_src = who[0]; /* A seen again: B is now the least recently seen */
		data1(&m, ver, 1, 256, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1);
		g_src = who[3];
		tmpl_msg(&m, ver, 1, 256, T_AB, N(T_AB));
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "exporters_evicted"), 1);
		g_src = who[1]; /* B was forgotten (and now C makes room for it) */
		data1(&m, ver, 1, 256, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "exporters_evicted"), 2);
		g_src = who[0];
		data1(&m, ver, 1, 256, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1);
		g_src = who[3];
		data1(&m, ver, 1, 256, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1);
		g_src = who[2];
		data1(&m, ver, 1, 256, 1);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		g_src = "192.0.2.1";
	}
}

/* One exporter cannot outgrow template_memory alone: large templates
 * beyond it are refused (no other exporter is there to make room), a
 * redefinition of one it has is not; another exporter evicts it. */
static void big_tmpl_msg(struct msg *m, int ver, uint16_t tid, unsigned nfields, unsigned salt)
{
	m_start(m, ver, 1);
	set_begin(m, tset(m));
	put16(m, tid);
	put16(m, (uint16_t)nfields);
	for (unsigned k = 0; k < nfields; k++) {
		put16(m, (uint16_t)(1 + (k + salt) % 400));
		put16(m, 4);
	}
	set_end(m);
	m_end(m);
}

static void test_template_memory_one_exporter(void)
{
	static struct msg m;

	fresh("template_memory=1M", NULL);
	for (int ver = 9; ver <= 10; ver++) {
		uint64_t ok, refused;

		for (unsigned k = 0; k < 20; k++) {
			big_tmpl_msg(&m, ver, (uint16_t)(256 + k), 4000, k);
			CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		}
		ok = ctr(ver, "templates");
		refused = ctr(ver, "templates_refused");
		CU_ASSERT_EQUAL(ok + refused, 20);
		CU_ASSERT(ok >= 1 && ok <= 6);
		/* a redefinition of the first, smaller: accepted */
		big_tmpl_msg(&m, ver, 256, 3600, 7);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates"), ok + 1);
		CU_ASSERT_EQUAL(ctr(ver, "templates_refused"), refused);
		/* another exporter: the first one makes room */
		g_src = "192.0.2.99";
		big_tmpl_msg(&m, ver, 256, 4000, 3);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
		CU_ASSERT_EQUAL(ctr(ver, "templates"), ok + 2);
		CU_ASSERT_EQUAL(ctr(ver, "exporters_evicted"), 1);
		g_src = "192.0.2.1";
	}
}

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kb = strtol(line + 6, NULL, 10);
	fclose(f);
	return kb;
}

/* One million distinct template announcements (100 per datagram, from
 * 10000 exporter address + domain pairs) to one decoder with the default
 * limits (max_exporters 4096, template_memory 64M): the process grows by
 * less than 128 MB. Then the same through the other decoder, after the
 * first was stopped. Under ASan (quarantine, shadow memory) RSS says
 * nothing: a tenth of the traffic, for leaks and errors only. */
static void million(int ver, unsigned ndg)
{
	static struct msg m;
	static char src[32];
	long before, after;
	struct timespec t0, t1;
	struct nfc_batch *b;

	/* a tenth of the traffic (ASan) still has to evict: a smaller budget */
	if (ndg >= 10000)
		fresh(NULL);
	else
		fresh("template_memory=4M", NULL);
	before = rss_kb();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned e = 0; e < ndg; e++) {
		snprintf(src, sizeof(src), "10.%u.%u.%u", (e >> 14) & 255, (e >> 6) & 255, (e & 63) + 1);
		g_src = src;
		m_start(&m, ver, e % 3);
		set_begin(&m, tset(&m));
		for (unsigned k = 0; k < 100; k++) {
			const struct f t[] = { { 8, 4, 0 }, { 1, (uint16_t)(1 + (e + k) % 8), 0 },
				               { (uint16_t)(10 + k % 50), 4, 0 } };

			put_tmpl(&m, (uint16_t)(256 + k), t, N(t));
		}
		set_end(&m);
		m_end(&m);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		nfc_batch_put(b);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	after = rss_kb();
	CU_ASSERT_EQUAL(ctr(ver, "templates"), (uint64_t)ndg * 100);
	CU_ASSERT_EQUAL(ctr(ver, "templates_refused"), 0);
	CU_ASSERT(ctr(ver, "exporters_evicted") > 0);
	fprintf(stderr, "\n  %s: %u template announcements in %.1f s, %llu exporters evicted, RSS %ld -> %ld kB "
	        "(+%ld MB)", ver == 9 ? "v9" : "IPFIX", ndg * 100,
	        (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	        (unsigned long long)ctr(ver, "exporters_evicted"), before, after, (after - before) / 1024);
#ifndef UNDER_ASAN
	CU_ASSERT(before > 0 && after > 0);
	CU_ASSERT(after - before < 128 * 1024);
#endif
	/* the most recent exporter still decodes without a resend */
	m_start(&m, ver, (ndg - 1) % 3);
	set_begin(&m, 256 + 99);
	put32(&m, 0x0a000001);
	for (unsigned i = 0; i < 1 + (ndg - 1 + 99) % 8; i++)
		put8(&m, 1);
	put32(&m, 2);
	set_end(&m);
	m_end(&m);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1);
	g_src = "192.0.2.1";
	fresh(NULL);
}

static void test_million_templates(void)
{
#ifdef UNDER_ASAN
	const unsigned ndg = 1000;
#else
	const unsigned ndg = 10000;
#endif

	million(10, ndg);
	million(9, ndg);
	fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------------ */
/* Counters and sequence accounting                                         */

static void test_counters(void)
{
	static const char *const common[] = { "options_records", "unknown_sets", "malformed_templates", "templates",
		                              "templates_refused", "template_withdrawals", "held_sets",
		                              "replayed_sets", "no_template", "templates_restored",
		                              "exporters_evicted", "sequence_resets" };
	static struct msg m;
	struct nfc_batch *b;

	fresh(NULL);
	for (int ver = 9; ver <= 10; ver++) {
		for (size_t i = 0; i < N(common); i++)
			CU_ASSERT_EQUAL(ctr(ver, common[i]), 0);
		CU_ASSERT_EQUAL(ctr(ver, ver == 9 ? "sequence_gap_datagrams" : "sequence_gap_records"), 0);
		CU_ASSERT_EQUAL(ctr(ver, ver == 9 ? "sequence_late_datagrams" : "sequence_late_records"), 0);
	}
	/* v9 numbers export packets */
	hdr_seq = 10;
	tmpl_msg(&m, 9, 1, 256, T_AB, N(T_AB));
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	hdr_seq = 11;
	data1(&m, 9, 1, 256, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1);
	hdr_seq = 14; /* 12 and 13 missing */
	data1(&m, 9, 1, 256, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1);
	CU_ASSERT_EQUAL(ctr(9, "sequence_gap_datagrams"), 2);
	hdr_seq = 12; /* late */
	data1(&m, 9, 1, 256, 1);
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 1);
	CU_ASSERT_EQUAL(ctr(9, "sequence_late_datagrams"), 1);
	/* IPFIX numbers data records */
	hdr_seq = 100;
	tmpl_msg(&m, 10, 1, 256, T_AB, N(T_AB));
	CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 0);
	{
		const uint32_t v[3] = { 1, 2, 3 };

		hdr_seq = 100;
		data_msg(&m, 10, 1, 256, v, 3);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 3);
		hdr_seq = 103;
		data_msg(&m, 10, 1, 256, v, 2);
		CU_ASSERT_EQUAL(decode_count(&m, NFC_OK), 2);
		hdr_seq = 110; /* 105..109 missing */
		data_msg(&m, 10, 1, 256, v, 1);
		CU_ASSERT_EQUAL(decode(&m, &b), NFC_OK);
		nfc_batch_put(b);
		CU_ASSERT_EQUAL(ctr(10, "sequence_gap_records"), 5);
	}
	CU_ASSERT_EQUAL(ctr(9, "sequence_resets"), 0);
	CU_ASSERT_EQUAL(ctr(10, "sequence_resets"), 0);
	CU_ASSERT_EQUAL(ctr(9, "templates"), 1);
	CU_ASSERT_EQUAL(ctr(10, "templates"), 1);
}

/* ------------------------------------------------------------------------ */

static int setup(void)
{
	char err[512];

	lp_v9 = nfc_plugin_load(nfc_plugin_dir(NULL), NFC_KIND_DECODER, "netflow_v9", err, sizeof(err));
	if (!lp_v9) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	lp_ipfix = nfc_plugin_load(nfc_plugin_dir(NULL), NFC_KIND_DECODER, "ipfix", err, sizeof(err));
	if (!lp_ipfix) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	if (!lp_v9->d.decoder->tick || !lp_ipfix->d.decoder->tick)
		return -1;
	snprintf(state_dir, sizeof(state_dir), "/tmp/nfc-test-tdec-XXXXXX");
	if (!mkdtemp(state_dir))
		return -1;
	nfc_state_dir_set(state_dir);
	in_ctx = nfc_ctx_new("listener", NULL);
	if (!in_ctx)
		return -1;
	w0.ctx = w1.ctx = in_ctx;
	w0.index = 0;
	w0.slot = 0;
	w1.index = 1;
	w1.slot = 1;
	fresh(NULL);
	return 0;
}

static void teardown(void)
{
	dec_free(&v9);
	dec_free(&ipx);
	nfc_batch_put(w0.side);
	nfc_batch_put(w1.side);
	if (state_dir[0]) {
		unlink(state_file(9));
		unlink(state_file(10));
		rmdir(state_dir);
	}
	nfc_ctx_free(in_ctx);
	nfc_pipeline_free();
	nfc_plugins_unload();
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "variable-length fields, 1- and 3-byte prefixes (IPFIX)", test_varlen_ipfix },
		{ "v9 field length 65535 is variable (H3C)", test_varlen_v9 },
		{ "reduced-size encoding, addresses in other sizes", test_reduced_size },
		{ "the same element twice in a template", test_repeated_elements },
		{ "enterprise and RFC 5103 reverse elements", test_enterprise },
		{ "IPFIX template withdrawal, one and all", test_withdrawal },
		{ "IPFIX withdraw all data / all options templates", test_withdraw_all_kinds },
		{ "redefinition: new layout after, old records keep theirs", test_redefinition },
		{ "set padding: zero, garbage, template sets", test_padding },
		{ "data then template in one datagram", test_order_in_datagram },
		{ "data before template across datagrams", test_hold_across_datagrams },
		{ "held data expires after hold_seconds", test_hold_expiry },
		{ "hold_sets, hold_bytes", test_hold_limits },
		{ "v9 vendor types", test_v9_vendor_types },
		{ "Cisco ASA NSEL records", test_v9_nsel },
		{ "options: sampling interval on flow records", test_options_sampling },
		{ "options_records=yes", test_options_records },
		{ "renormalize=yes", test_renormalize },
		{ "v9 flowStart/EndSeconds from sysUptime, wrap", test_times_v9 },
		{ "IPFIX flowStart/EndSeconds from ms, delta, sysUpTime", test_times_ipfix },
		{ "exporter address: IPv6, IPv4-mapped, carried", test_exporter_address },
		{ "templates shared by workers and ports, not domains", test_template_scope },
		{ "malformed sets, templates, lengths", test_malformed },
		{ "every prefix and random corruptions", test_truncated_and_corrupt },
		{ "restart: saved templates restored, exporter wins", test_restart },
		{ "restart: corrupt state files ignored", test_restart_corrupt },
		{ "samplers and interface names", test_samplers_and_interfaces },
		{ "bytes after the last set", test_trailing_bytes },
		{ "max_templates", test_max_templates },
		{ "max_exporters evicts the least recently seen", test_max_exporters },
		{ "one exporter within template_memory", test_template_memory_one_exporter },
		{ "a million template announcements, bounded memory", test_million_templates },
		{ "counters and sequence accounting", test_counters },
		{ NULL, NULL },
	};
	int rc;

	if (setup() < 0) {
		fprintf(stderr, "test_tdec: setup failed (is NETFLOW_CONCENTRATOR_PLUGIN_DIR set? run through make check)\n");
		teardown();
		return 1;
	}
	rc = nfc_run_tests("tdec", tests);
	teardown();
	return rc;
}
