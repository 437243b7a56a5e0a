/* The record encoder: number, address and string formatting, escaping,
 * VARLEN walking, and the JSON shape. */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "json.h"
#include "nfc.h"

static char out[4096];

static const char *ipv6(const char *hex)
{
	uint8_t a[16];

	for (int i = 0; i < 16; i++)
		sscanf(hex + 2 * i, "%2hhx", &a[i]);
	out[nfc_fmt_ipv6(out, a)] = '\0';
	return out;
}

static void test_ipv6_rfc5952(void)
{
	CU_ASSERT_STRING_EQUAL(ipv6("20010db8000000000000000000000001"), "2001:db8::1");
	CU_ASSERT_STRING_EQUAL(ipv6("00000000000000000000000000000000"), "::");
	CU_ASSERT_STRING_EQUAL(ipv6("00000000000000000000000000000001"), "::1");
	CU_ASSERT_STRING_EQUAL(ipv6("20010db8000000010001000100010001"), "2001:db8:0:1:1:1:1:1");
	CU_ASSERT_STRING_EQUAL(ipv6("20010db8000000000001000000000001"), "2001:db8::1:0:0:1");
	CU_ASSERT_STRING_EQUAL(ipv6("20010db8000000000000000100000000"), "2001:db8::1:0:0");
	CU_ASSERT_STRING_EQUAL(ipv6("fe800000000000000000000000000000"), "fe80::");
	CU_ASSERT_STRING_EQUAL(ipv6("00000000000000000000ffffc0000201"), "::ffff:192.0.2.1");
	CU_ASSERT_STRING_EQUAL(ipv6("20010DB8AAAABBBBCCCCDDDDEEEE0ABC"), "2001:db8:aaaa:bbbb:cccc:dddd:eeee:abc");
}

static void test_numbers(void)
{
	uint8_t v4[4] = { 255, 0, 10, 1 };

	out[nfc_fmt_u64(out, 0)] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "0");
	out[nfc_fmt_u64(out, 18446744073709551615ULL)] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "18446744073709551615");
	out[nfc_fmt_u64(out, 1000)] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "1000");
	out[nfc_fmt_ipv4(out, v4)] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "255.0.10.1");
}

/* nfc_fmt_u64 against printf at every power of ten and of two, one either
 * side of each (the digit count and the 32-bit / 8-digit splits change
 * there), and over a pseudo-random spread of magnitudes. */
static void check_u64(uint64_t v)
{
	char want[32];

	snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
	out[nfc_fmt_u64(out, v)] = '\0';
	if (strcmp(out, want)) {
		fprintf(stderr, "nfc_fmt_u64(%s) gave %s\n", want, out);
		CU_FAIL("nfc_fmt_u64 differs from printf");
	}
}

static void test_u64_boundaries(void)
{
	uint64_t p = 1, x = 0x9e3779b97f4a7c15ULL;

	for (int i = 0; i < 20; i++, p *= 10) {
		check_u64(p - 1);
		check_u64(p);
		check_u64(p + 1);
	}
	for (int i = 0; i < 64; i++) {
		check_u64((1ULL << i) - 1);
		check_u64(1ULL << i);
		check_u64((1ULL << i) + 1);
	}
	check_u64(UINT64_MAX);
	check_u64(UINT64_MAX - 1);
	for (int i = 0; i < 100000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		check_u64(x >> (x & 63));
	}
}

/* nfc_fmt_ipv6 against inet_ntop (glibc follows RFC 5952 too) for addresses
 * with every pattern of zero groups, the other groups of every digit count. */
static void test_ipv6_zero_runs(void)
{
	static const unsigned vals[] = { 0x1, 0xab, 0xcde, 0xf012 };
	char want[INET6_ADDRSTRLEN];
	uint8_t a[16];

	for (unsigned mask = 0; mask < 256; mask++) {
		for (unsigned v = 0; v < 4; v++) {
			for (unsigned i = 0; i < 8; i++) {
				unsigned g = mask & (1u << i) ? 0 : vals[(v + i) % 4];

				a[2 * i] = (uint8_t)(g >> 8);
				a[2 * i + 1] = (uint8_t)g;
			}
			inet_ntop(AF_INET6, a, want, sizeof(want));
			/* glibc writes the deprecated IPv4-compatible form (::a.b.c.d)
			 * when exactly the first six groups are zero; RFC 5952 keeps
			 * dotted text for IPv4-mapped addresses only */
			if ((mask & 0x7f) == 0x3f)
				snprintf(want, sizeof(want), "::%x:%x", vals[(v + 6) % 4], mask & 0x80 ? 0 : vals[(v + 7) % 4]);
			out[nfc_fmt_ipv6(out, a)] = '\0';
			if (strcmp(out, want)) {
				fprintf(stderr, "nfc_fmt_ipv6 gave %s, inet_ntop %s\n", out, want);
				CU_FAIL("nfc_fmt_ipv6 differs from inet_ntop");
			}
		}
	}
}

/* The exporter's text, made once per origin, is what the record carries. */
static void test_origin_text(void)
{
	struct nfc_origin o;

	memset(&o, 0, sizeof(o));
	nfc_origin_text(&o);
	CU_ASSERT_EQUAL(o.addr_text_len, 0);
	o.family = AF_INET;
	o.addr[0] = 10, o.addr[3] = 255;
	nfc_origin_text(&o);
	CU_ASSERT_EQUAL(o.addr_text_len, 10);
	CU_ASSERT_NSTRING_EQUAL(o.addr_text, "10.0.0.255", 10);
	o.family = AF_INET6;
	memset(o.addr, 0xff, 16);
	nfc_origin_text(&o);
	CU_ASSERT_EQUAL(o.addr_text_len, 39);
	CU_ASSERT_NSTRING_EQUAL(o.addr_text, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 39);
}

static void test_escape(void)
{
	const uint8_t s[] = "a\"b\\c\n\x01\xc3\xa9\xff";

	out[nfc_json_escape(out, s, sizeof(s) - 1)] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "a\\\"b\\\\c\\n\\u0001\xc3\xa9\\u00ff");
	/* stops at NUL (fixed-length strings are NUL padded) */
	out[nfc_json_escape(out, (const uint8_t *)"ab\0cd", 5)] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "ab");
	/* overlong encoding and a lone surrogate are not UTF-8 */
	out[nfc_json_escape(out, (const uint8_t *)"\xc0\xaf\xed\xa0\x80", 5)] = '\0';
	CU_ASSERT_STRING_EQUAL(out, "\\u00c0\\u00af\\u00ed\\u00a0\\u0080");
}

static void record(struct nfc_template *t, const uint8_t *p, size_t len)
{
	struct nfc_buf b = { 0 };

	CU_ASSERT_EQUAL_FATAL(nfc_template_measure(t, p, len), (long)len);
	CU_ASSERT_EQUAL_FATAL(nfc_json_record(t, p, len, NULL, &b), NFC_OK);
	memcpy(out, b.data, b.len);
	out[b.len] = '\0';
	nfc_buf_free(&b);
}

static void test_record_kinds(void)
{
	static const struct nfc_field f[] = {
		{ "IPV4_SRC_ADDR", NFC_FIELD_IPV4, 4 },
		{ "pad", NFC_FIELD_SKIP, 1 },
		{ "IN_BYTES", NFC_FIELD_UINT, 8 },
		{ "delta", NFC_FIELD_INT, 2 },
		{ "IN_SRC_MAC", NFC_FIELD_MAC, 6 },
		{ "IF_NAME", NFC_FIELD_STRING, 4 },
		{ "odd", NFC_FIELD_IPV4, 3 },
		{ "na\"me", NFC_FIELD_BYTES, 2 },
		{ "empty", NFC_FIELD_UINT, 0 },
	};
	static const uint8_t rec[] = { 10, 0, 0, 1, 0xee, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 0xff, 0xfe,
	                               0x00, 0x1b, 0x21, 0x3c, 0x4d, 0x5e, 'e', 't', 'h', 0, 1, 2, 3, 0xab, 0xcd };
	struct nfc_template *t = nfc_template_new(NULL, f, 9);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(nfc_template_record_len(t), sizeof(rec));
	record(t, rec, sizeof(rec));
	CU_ASSERT_STRING_EQUAL(out, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IN_BYTES\":256,\"delta\":-2,"
	                            "\"IN_SRC_MAC\":\"00:1b:21:3c:4d:5e\",\"IF_NAME\":\"eth\","
	                            "\"odd\":\"010203\",\"na\\\"me\":\"abcd\"}");
	/* a record one byte short does not fit */
	CU_ASSERT(nfc_template_measure(t, rec, sizeof(rec) - 1) < 0);
	nfc_template_put(t);
}

static void test_varlen(void)
{
	static const struct nfc_field f[] = {
		{ "applicationName", NFC_FIELD_STRING, 0, NFC_FIELD_F_VARLEN, 0, 0, 0 },
		{ "x", NFC_FIELD_UINT, 1 },
		{ "blob", NFC_FIELD_BYTES, 0, NFC_FIELD_F_VARLEN, 0, 0, 0 },
	};
	uint8_t rec[400];
	struct nfc_template *t = nfc_template_new(NULL, f, 3);
	size_t n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(nfc_template_record_len(t), 0);
	rec[n++] = 3;
	memcpy(rec + n, "ssh", 3);
	n += 3;
	rec[n++] = 7;
	rec[n++] = 255; /* long form: 2-byte length */
	rec[n++] = 0;
	rec[n++] = 2;
	rec[n++] = 0xde;
	rec[n++] = 0xad;
	record(t, rec, n);
	CU_ASSERT_STRING_EQUAL(out, "{\"applicationName\":\"ssh\",\"x\":7,\"blob\":\"dead\"}");
	/* a length prefix pointing past the end */
	rec[0] = 200;
	CU_ASSERT(nfc_template_measure(t, rec, n) < 0);
	/* empty string stays, empty bytes key is left out */
	rec[0] = 0;
	rec[1] = 9;
	rec[2] = 0;
	record(t, rec, 3);
	CU_ASSERT_STRING_EQUAL(out, "{\"applicationName\":\"\",\"x\":9}");
	nfc_template_put(t);
}

/* Zero-length strings still render as "": the space reserved must cover
 * them (under ASan an undersized reservation is a heap overflow). */
static void test_zero_length_strings(void)
{
	static struct nfc_field f[201];
	static const uint8_t rec[4] = { 0, 0, 1, 0 };
	struct nfc_template *t;
	struct nfc_buf b = { 0 };
	size_t n = 0;

	for (int i = 0; i < 200; i++)
		f[i] = (struct nfc_field){ "interfaceName", NFC_FIELD_STRING, 0 };
	f[200] = (struct nfc_field){ "x", NFC_FIELD_UINT, 4 };
	t = nfc_template_new(NULL, f, 201);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	/* an exact-size buffer: the encoder must reserve what it writes */
	b.data = malloc(1);
	b.cap = 1;
	CU_ASSERT_EQUAL(nfc_json_record(t, rec, sizeof(rec), NULL, &b), NFC_OK);
	/* the repeats are renamed: interfaceName, interfaceName_2, ... */
	for (size_t i = 0; i + 4 <= b.len; i++)
		if (!memcmp(b.data + i, "\":\"\"", 4))
			n++;
	CU_ASSERT_EQUAL(n, 200);
	CU_ASSERT_NSTRING_EQUAL(b.data, "{\"interfaceName\":\"\",\"interfaceName_2\":\"\",", 41);
	CU_ASSERT_PTR_NOT_NULL(memmem(b.data, b.len, "\"interfaceName_200\":\"\"", 22));
	CU_ASSERT_NSTRING_EQUAL(b.data + b.len - 8, "\"x\":256}", 8);
	nfc_buf_free(&b);
	nfc_template_put(t);
}

/* IPFIX kinds: floats, booleans, the four dateTime kinds (NTP for micro and
 * nano), and the derived fields computed from the datagram's origin. */
static void test_ipfix_kinds_and_derived(void)
{
	static const struct nfc_field f[] = {
		{ "samplingProbability", NFC_FIELD_FLOAT, 8, 0, 0, 0, 0 },
		{ "f32", NFC_FIELD_FLOAT, 4, 0, 0, 0, 0 },
		{ "nan", NFC_FIELD_FLOAT, 4, 0, 0, 0, 0 },
		{ "b1", NFC_FIELD_BOOL, 1, 0, 0, 0, 0 },
		{ "b2", NFC_FIELD_BOOL, 1, 0, 0, 0, 0 },
		{ "flowStartSeconds", NFC_FIELD_TIME_S, 4, 0, 0, 0, 0 },
		{ "flowStartMilliseconds", NFC_FIELD_TIME_MS, 8, 0, 0, 0, 0 },
		{ "flowStartMicroseconds", NFC_FIELD_TIME_US, 8, 0, 0, 0, 0 },
		{ "flowStartNanoseconds", NFC_FIELD_TIME_NS, 8, 0, 0, 0, 0 },
		{ "FIRST_SWITCHED", NFC_FIELD_UINT, 4, 0, 0, 0, 0 },
		{ "IN_BYTES", NFC_FIELD_UINT, 4, NFC_FIELD_F_SCALE, 0, 0, 0 },
		{ "flowStartDeltaMicroseconds", NFC_FIELD_UINT, 4, 0, 0, 0, 0 },
		{ "exporter", NFC_FIELD_EXPORTER, 0, 0, 0, 0, 0 },
		{ "SAMPLING_INTERVAL", NFC_FIELD_SAMPLING, 0, 0, 0, 0, 0 },
		{ "a", NFC_FIELD_TIME_SECS, 0, 0, 0, 6, 0 },
		{ "b", NFC_FIELD_TIME_SECS, 0, 0, 0, 8, 0 },
		{ "c", NFC_FIELD_UPTIME_SECS, 0, 0, 0, 9, 0 },
		{ "d", NFC_FIELD_DELTA_SECS, 0, 0, 0, 11, 0 },
	};
	/* 0.25; 1.5f; NaN; true; false; 1700000000 s; 1700000000123 ms;
	 * NTP 1700000000.5 s (seconds + 2208988800, fraction 2^31) twice;
	 * uptime 90000 ms; 1000 bytes; delta 2500000 us */
	static const uint8_t rec[] = {
		0x3f, 0xd0, 0, 0, 0, 0, 0, 0, 0x3f, 0xc0, 0, 0, 0x7f, 0xc0, 0, 0, 1, 2,
		0x65, 0x53, 0xf1, 0x00, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b,
		0xe8, 0xfe, 0x6f, 0x80, 0x80, 0, 0, 0, 0xe8, 0xfe, 0x6f, 0x80, 0x80, 0, 0, 0,
		0, 1, 0x5f, 0x90, 0, 0, 0x03, 0xe8, 0, 0x26, 0x25, 0xa0,
	};
	struct nfc_origin o;
	struct nfc_template *t = nfc_template_new(NULL, f, sizeof(f) / sizeof(f[0]));
	struct nfc_buf b = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(nfc_template_record_len(t), sizeof(rec));
	memset(&o, 0, sizeof(o));
	o.family = AF_INET;
	o.addr[0] = 192, o.addr[1] = 0, o.addr[2] = 2, o.addr[3] = 9;
	o.export_ms = 1700000100000ULL;
	o.uptime_ms = 100000; /* the flow started 10 s before the export */
	o.has_uptime = 1;
	o.sampling = 10;
	nfc_origin_text(&o);
	CU_ASSERT_EQUAL_FATAL(nfc_json_record(t, rec, sizeof(rec), &o, &b), NFC_OK);
	nfc_buf_append(&b, "", 1);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"samplingProbability\":0.25,\"f32\":1.5,\"nan\":null,\"b1\":true,"
	                       "\"b2\":false,\"flowStartSeconds\":1700000000,\"flowStartMilliseconds\":1700000000123,"
	                       "\"flowStartMicroseconds\":1700000000500000,\"flowStartNanoseconds\":1700000000500000000,"
	                       "\"FIRST_SWITCHED\":90000,\"IN_BYTES\":10000,\"flowStartDeltaMicroseconds\":2500000,"
	                       "\"exporterIPv4Address\":\"192.0.2.9\",\"SAMPLING_INTERVAL\":10,\"a\":1700000000,"
	                       "\"b\":1700000000,\"c\":1700000090,\"d\":1700000097}");
	/* without an origin the derived keys are left out */
	nfc_buf_truncate(&b, 0);
	CU_ASSERT_EQUAL_FATAL(nfc_json_record(t, rec, sizeof(rec), NULL, &b), NFC_OK);
	nfc_buf_append(&b, "", 1);
	CU_ASSERT_PTR_NULL(strstr(b.data, "exporterIP"));
	CU_ASSERT_PTR_NULL(strstr(b.data, "\"c\":"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"a\":1700000000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"IN_BYTES\":1000,"));
	/* IPv6 exporter: the other key */
	nfc_buf_truncate(&b, 0);
	o.family = AF_INET6;
	memset(o.addr, 0, 16);
	o.addr[0] = 0x20, o.addr[1] = 0x01, o.addr[2] = 0x0d, o.addr[3] = 0xb8, o.addr[15] = 1;
	nfc_origin_text(&o);
	CU_ASSERT_EQUAL_FATAL(nfc_json_record(t, rec, sizeof(rec), &o, &b), NFC_OK);
	nfc_buf_append(&b, "", 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"exporterIPv6Address\":\"2001:db8::1\""));
	nfc_buf_free(&b);
	nfc_template_put(t);
	/* a derived field must read an earlier, fixed-length field */
	{
		static const struct nfc_field bad[] = { { "a", NFC_FIELD_TIME_SECS, 0, 0, 0, 0, 0 },
		                                        { "x", NFC_FIELD_UINT, 4, 0, 0, 0, 0 } };

		CU_ASSERT_PTR_NULL(nfc_template_new(NULL, bad, 2));
	}
}

/* A layout of zero bytes is refused: a decoder could never step past it. */
static void test_empty_template(void)
{
	static const struct nfc_field f[] = { { "a", NFC_FIELD_UINT, 0 }, { "b", NFC_FIELD_STRING, 0 } };

	CU_ASSERT_PTR_NULL(nfc_template_new(NULL, f, 2));
	CU_ASSERT_PTR_NULL(nfc_template_new(NULL, f, 0));
}

static void test_template_refcount(void)
{
	static const struct nfc_field f[] = { { "a", NFC_FIELD_UINT, 1 } };
	struct nfc_template *t = nfc_template_new(NULL, f, 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	nfc_template_get(t);
	nfc_template_put(t);
	CU_ASSERT_EQUAL(atomic_load(&t->refs), 1);
	nfc_template_put(t);
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "IPv6 text per RFC 5952", test_ipv6_rfc5952 },
		{ "numbers and IPv4", test_numbers },
		{ "u64 at every digit and width boundary", test_u64_boundaries },
		{ "IPv6 zero runs against inet_ntop", test_ipv6_zero_runs },
		{ "exporter text once per origin", test_origin_text },
		{ "JSON string escaping", test_escape },
		{ "record of every kind", test_record_kinds },
		{ "variable-length fields", test_varlen },
		{ "zero-length strings", test_zero_length_strings },
		{ "IPFIX kinds and derived fields", test_ipfix_kinds_and_derived },
		{ "empty layouts refused", test_empty_template },
		{ "template reference counts", test_template_refcount },
		{ NULL, NULL }
	};

	return nfc_run_tests("json", tests);
}
