/* The record encoder: number, address and string formatting, escaping,
 * VARLEN walking, and the JSON shape. */
#include <stdio.h>
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
	CU_ASSERT_EQUAL_FATAL(nfc_json_record(t, p, len, &b), NFC_OK);
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
		{ "applicationName", NFC_FIELD_STRING, NFC_FIELD_VARLEN },
		{ "x", NFC_FIELD_UINT, 1 },
		{ "blob", NFC_FIELD_BYTES, NFC_FIELD_VARLEN },
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
	CU_ASSERT_EQUAL(nfc_json_record(t, rec, sizeof(rec), &b), NFC_OK);
	for (size_t i = 0; i + 20 <= b.len; i++)
		if (!memcmp(b.data + i, "\"interfaceName\":\"\"", 18))
			n++;
	CU_ASSERT_EQUAL(n, 200);
	CU_ASSERT_NSTRING_EQUAL(b.data + b.len - 8, "\"x\":256}", 8);
	nfc_buf_free(&b);
	nfc_template_put(t);
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
		{ "JSON string escaping", test_escape },
		{ "record of every kind", test_record_kinds },
		{ "variable-length fields", test_varlen },
		{ "zero-length strings", test_zero_length_strings },
		{ "empty layouts refused", test_empty_template },
		{ "template reference counts", test_template_refcount },
		{ NULL, NULL }
	};

	return nfc_run_tests("json", tests);
}
