/*
 * The NetFlow v5 decoder through the core's real decode path: the plugin is
 * loaded by the core's loader from NETFLOW_CONCENTRATOR_PLUGIN_DIR (set by
 * make check), datagrams go through nfc_decode_datagram() and records come
 * out of nfc_batch_json(), exactly as an output sees them.
 *
 * Expected values: the JSON strings below were derived from Wireshark's
 * dissector (tshark 4.0.17 -V) on the same bytes, in
 * ../shared/corpus/tshark/<file>.txt (named at each table), converting
 * StartTime/EndTime seconds back to milliseconds and the hexadecimal TCP
 * flags and ToS to decimal. They are reference data, not computed here.
 *
 * Built with --enable-sanitizers, the program runs under ASan/UBSan and the
 * replay case decodes every file of tests/data, whole and truncated at every
 * length, with the bytes past the datagram poisoned, so a decoder reading
 * beyond its datagram is caught even though the core copies it into a larger
 * arena.
 */
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/cunit_main.h"
#include "json.h"
#include "loader.h"
#include "nfc.h"

static struct nfc_ctx *in_ctx;  /* stands for the input instance */
static struct nfc_ctx *dec_ctx; /* the netflow_v5 decoder instance */
static struct nfc_worker worker;
static char data_dir[4096];
/* Source port and sysUptime of the datagrams the helpers build or send. */
static uint16_t src_port = 40000;
static uint32_t hdr_uptime = 1000000;

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */

static void set_source(struct nfc_datagram *dg, const char *addr, uint8_t last)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&dg->source;

	memset(&dg->source, 0, sizeof(dg->source));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(src_port);
	if (addr)
		inet_pton(AF_INET, addr, &sin->sin_addr);
	else
		sin->sin_addr.s_addr = htonl(0xc0000200u | last); /* 192.0.2.x */
}

/* Decode one datagram from `src` into a fresh batch (returned in *out, to
 * be released with nfc_batch_put). The arena past the datagram's copy is
 * poisoned during the call under ASan. */
static int decode_from(const uint8_t *p, size_t len, const char *src, struct nfc_batch **out)
{
	struct nfc_datagram dg;
	struct nfc_batch *b = nfc_batch_get();
	int rc;

	CU_ASSERT_FATAL(b != NULL);
	memset(&dg, 0, sizeof(dg));
	dg.data = p;
	dg.len = len;
	dg.received.tv_sec = 1700000000;
	set_source(&dg, src, 1);
	/* under ASan the core poisons the arena past the datagram itself */
	rc = nfc_decode_datagram(&worker, b, &dg);
	*out = b;
	return rc;
}

static int decode(const uint8_t *p, size_t len, struct nfc_batch **out)
{
	return decode_from(p, len, "192.0.2.1", out);
}

/* The JSON of record i, in a static buffer. */
static const char *json_of(const struct nfc_batch *b, size_t i)
{
	static char text[4096];
	struct nfc_buf buf;

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

static uint8_t *read_file(const char *rel, size_t *len)
{
	char path[8192];
	struct stat st;
	uint8_t *p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", data_dir, rel);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) < 0 || !(p = malloc(st.st_size ? st.st_size : 1))) {
		fclose(f);
		return NULL;
	}
	*len = fread(p, 1, st.st_size, f);
	fclose(f);
	return p;
}

static uint64_t dec_counter(const char *name)
{
	/* Registering an existing name returns its id. */
	int id = nfc_counter_register(dec_ctx, name);

	return id < 0 ? (uint64_t)-1 : nfc_counter_read(dec_ctx, id);
}

/* ------------------------------------------------------------------------ */
/* Corpus files                                                             */

struct expect {
	size_t index; /* record index within the file */
	const char *json;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The keys added to each record (docs/flow-fields.md), computed here from
 * the header and record bytes as tshark shows them (SysUptime, CurrentSecs,
 * CurrentNSecs, SampleRate, StartTime, EndTime), then cut off the JSON so
 * the rest compares with the tshark-derived strings of the v5 keys.
 */
static void check_added(char *j, const uint8_t *hdr, const uint8_t *rec)
{
	char want[256], *cut = strstr(j, ",\"exporterIPv4Address\":");
	uint64_t export_ms = (uint64_t)be32(hdr + 8) * 1000 + be32(hdr + 12) / 1000000;
	uint32_t uptime = be32(hdr + 4), rate = ((unsigned)hdr[22] << 8 | hdr[23]) & 0x3fff;
	int64_t start = ((int64_t)export_ms - (int32_t)(uptime - be32(rec + 24))) / 1000;
	int64_t end = ((int64_t)export_ms - (int32_t)(uptime - be32(rec + 28))) / 1000;
	int n = snprintf(want, sizeof(want), ",\"exporterIPv4Address\":\"192.0.2.1\"");

	if (rate)
		n += snprintf(want + n, sizeof(want) - n, ",\"SAMPLING_INTERVAL\":%u", rate);
	snprintf(want + n, sizeof(want) - n, ",\"flowStartSeconds\":%lld,\"flowEndSeconds\":%lld}",
	         (long long)start, (long long)end);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cut);
	if (strcmp(cut, want))
		fprintf(stderr, "\nadded keys: got %s\n            want %s\n", cut, want);
	CU_ASSERT_STRING_EQUAL(cut, want);
	strcpy(cut, "}");
}

/*
 * Decode a file of back-to-back v5 datagrams (split by the header count),
 * check every datagram is accepted, the total record count, and the listed
 * records' JSON exactly.
 */
static void check_file(const char *rel, size_t ndatagrams, size_t nrecords, const struct expect *exp,
                       size_t nexp)
{
	size_t len = 0, off = 0, seen_dg = 0, seen_rec = 0, e = 0;
	uint8_t *data = read_file(rel, &len);

	CU_ASSERT_FATAL(data != NULL);
	while (off + 4 <= len) {
		size_t count = (size_t)data[off + 2] << 8 | data[off + 3];
		size_t dlen = 24 + 48 * count;
		struct nfc_batch *b;
		int rc;

		CU_ASSERT_FATAL(off + dlen <= len);
		rc = decode(data + off, dlen, &b);
		CU_ASSERT_EQUAL(rc, NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b), count);
		for (size_t i = 0; i < nfc_batch_count(b); i++, seen_rec++) {
			char *j = (char *)json_of(b, i);

			/* every record: exactly the 18 v5 keys, then the added ones */
			CU_ASSERT(j[0] == '{' && j[strlen(j) - 1] == '}');
			CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"DST_MASK\":"));
			check_added(j, data + off, data + off + 24 + 48 * i);
			if (e < nexp && exp[e].index == seen_rec) {
				if (strcmp(j, exp[e].json))
					fprintf(stderr, "\n%s record %zu:\n  got  %s\n  want %s\n", rel, seen_rec, j,
					        exp[e].json);
				CU_ASSERT_STRING_EQUAL(j, exp[e].json);
				e++;
			}
		}
		nfc_batch_put(b);
		off += dlen;
		seen_dg++;
	}
	CU_ASSERT_EQUAL(off, len);
	CU_ASSERT_EQUAL(seen_dg, ndatagrams);
	CU_ASSERT_EQUAL(seen_rec, nrecords);
	CU_ASSERT_EQUAL(e, nexp); /* every expectation was reached */
	free(data);
}

/* tshark/logstash_Netflow_5_valid_01_27.txt (12 datagrams, 30 records). */
static void test_logstash_netflow5(void)
{
	static const struct expect exp[] = {
		{ 0, "{\"IPV4_SRC_ADDR\":\"10.0.2.2\",\"IPV4_DST_ADDR\":\"10.0.2.15\",\"NEXT_HOP\":\"0.0.0.0\","
		     "\"INPUT\":0,\"OUTPUT\":0,\"IN_PACKETS\":5,\"IN_OCTETS\":230,\"FIRST_SWITCHED\":4294967295,"
		     "\"LAST_SWITCHED\":2577,\"SRC_PORT\":54435,\"DST_PORT\":22,\"TCP_FLAGS\":16,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
		{ 5, "{\"IPV4_SRC_ADDR\":\"10.0.2.15\",\"IPV4_DST_ADDR\":\"10.0.2.2\",\"NEXT_HOP\":\"0.0.0.0\","
		     "\"INPUT\":0,\"OUTPUT\":0,\"IN_PACKETS\":2,\"IN_OCTETS\":80,\"FIRST_SWITCHED\":3378,"
		     "\"LAST_SWITCHED\":3380,\"SRC_PORT\":22,\"DST_PORT\":54837,\"TCP_FLAGS\":17,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
		{ 29, "{\"IPV4_SRC_ADDR\":\"10.0.2.15\",\"IPV4_DST_ADDR\":\"10.0.2.2\",\"NEXT_HOP\":\"0.0.0.0\","
		      "\"INPUT\":0,\"OUTPUT\":0,\"IN_PACKETS\":7,\"IN_OCTETS\":580,\"FIRST_SWITCHED\":61914,"
		      "\"LAST_SWITCHED\":63190,\"SRC_PORT\":22,\"DST_PORT\":54435,\"TCP_FLAGS\":24,\"PROTO\":6,"
		      "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
	};
	uint64_t gap0 = dec_counter("sequence_gap_records"), reset0 = dec_counter("sequence_resets");

	check_file("logstash-codec-netflow/netflow5.dat", 12, 30, exp, sizeof(exp) / sizeof(exp[0]));
	/* Its flow_sequence runs 0, 2, 6, ... 28 with the counts: no gap. Other
	 * files come from other engines or earlier tests reset nothing here. */
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0);
	CU_ASSERT_EQUAL(dec_counter("sequence_resets"), reset0);
}

/* tshark/logstash_Netflow5_Juniper_MX80_898.txt (29 records; sampling 0x03e8). */
static void test_juniper_mx80(void)
{
	static const struct expect exp[] = {
		{ 0, "{\"IPV4_SRC_ADDR\":\"10.0.0.1\",\"IPV4_DST_ADDR\":\"192.168.0.2\",\"NEXT_HOP\":\"192.168.0.2\","
		     "\"INPUT\":542,\"OUTPUT\":536,\"IN_PACKETS\":1,\"IN_OCTETS\":1500,\"FIRST_SWITCHED\":190632000,"
		     "\"LAST_SWITCHED\":190632000,\"SRC_PORT\":443,\"DST_PORT\":61608,\"TCP_FLAGS\":16,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":64497,\"DST_AS\":64496,\"SRC_MASK\":14,\"DST_MASK\":24}" },
		{ 5, "{\"IPV4_SRC_ADDR\":\"66.249.66.131\",\"IPV4_DST_ADDR\":\"192.168.0.1\",\"NEXT_HOP\":\"192.168.0.1\","
		     "\"INPUT\":542,\"OUTPUT\":536,\"IN_PACKETS\":1,\"IN_OCTETS\":52,\"FIRST_SWITCHED\":190611000,"
		     "\"LAST_SWITCHED\":190611000,\"SRC_PORT\":57193,\"DST_PORT\":80,\"TCP_FLAGS\":16,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":15169,\"DST_AS\":64496,\"SRC_MASK\":19,\"DST_MASK\":24}" },
		{ 28, "{\"IPV4_SRC_ADDR\":\"66.249.92.75\",\"IPV4_DST_ADDR\":\"192.168.0.1\",\"NEXT_HOP\":\"192.168.0.1\","
		      "\"INPUT\":542,\"OUTPUT\":536,\"IN_PACKETS\":2,\"IN_OCTETS\":104,\"FIRST_SWITCHED\":190631000,"
		      "\"LAST_SWITCHED\":190631000,\"SRC_PORT\":37387,\"DST_PORT\":80,\"TCP_FLAGS\":16,\"PROTO\":6,"
		      "\"TOS\":0,\"SRC_AS\":15169,\"DST_AS\":64496,\"SRC_MASK\":19,\"DST_MASK\":24}" },
	};

	check_file("logstash-codec-netflow/netflow5_test_juniper_mx80.dat", 1, 29, exp,
	           sizeof(exp) / sizeof(exp[0]));
}

/* tshark/logstash_Netflow5_mikrotik_839.txt (30 records). */
static void test_mikrotik(void)
{
	static const struct expect exp[] = {
		{ 0, "{\"IPV4_SRC_ADDR\":\"10.0.13.1\",\"IPV4_DST_ADDR\":\"192.168.0.98\",\"NEXT_HOP\":\"192.168.0.98\","
		     "\"INPUT\":13,\"OUTPUT\":50,\"IN_PACKETS\":2,\"IN_OCTETS\":104,\"FIRST_SWITCHED\":27346270,"
		     "\"LAST_SWITCHED\":27346270,\"SRC_PORT\":5228,\"DST_PORT\":52734,\"TCP_FLAGS\":16,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
		{ 5, "{\"IPV4_SRC_ADDR\":\"10.0.11.1\",\"IPV4_DST_ADDR\":\"192.168.0.34\",\"NEXT_HOP\":\"192.168.0.34\","
		     "\"INPUT\":13,\"OUTPUT\":39,\"IN_PACKETS\":2,\"IN_OCTETS\":180,\"FIRST_SWITCHED\":27346300,"
		     "\"LAST_SWITCHED\":27346300,\"SRC_PORT\":40026,\"DST_PORT\":27391,\"TCP_FLAGS\":0,\"PROTO\":17,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
		{ 29, "{\"IPV4_SRC_ADDR\":\"10.0.8.1\",\"IPV4_DST_ADDR\":\"192.168.0.1\",\"NEXT_HOP\":\"192.168.0.1\","
		      "\"INPUT\":13,\"OUTPUT\":46,\"IN_PACKETS\":13,\"IN_OCTETS\":11442,\"FIRST_SWITCHED\":27346380,"
		      "\"LAST_SWITCHED\":27346380,\"SRC_PORT\":80,\"DST_PORT\":51826,\"TCP_FLAGS\":82,\"PROTO\":6,"
		      "\"TOS\":40,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
	};

	check_file("logstash-codec-netflow/netflow5_test_microtik.dat", 1, 30, exp, sizeof(exp) / sizeof(exp[0]));
}

/* tshark/goflow2_nfv5_TestDecodeNetFlowV5_data.bin.txt (6 records, engine 8/8). */
static void test_goflow2(void)
{
	static const struct expect exp[] = {
		{ 0, "{\"IPV4_SRC_ADDR\":\"10.128.2.121\",\"IPV4_DST_ADDR\":\"10.128.2.1\",\"NEXT_HOP\":\"0.0.0.0\","
		     "\"INPUT\":9,\"OUTPUT\":2,\"IN_PACKETS\":5,\"IN_OCTETS\":590,\"FIRST_SWITCHED\":8559500,"
		     "\"LAST_SWITCHED\":8559504,\"SRC_PORT\":8080,\"DST_PORT\":47384,\"TCP_FLAGS\":27,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
		{ 2, "{\"IPV4_SRC_ADDR\":\"10.129.2.1\",\"IPV4_DST_ADDR\":\"10.128.2.119\",\"NEXT_HOP\":\"0.0.0.0\","
		     "\"INPUT\":1,\"OUTPUT\":7,\"IN_PACKETS\":3,\"IN_OCTETS\":194,\"FIRST_SWITCHED\":8557993,"
		     "\"LAST_SWITCHED\":8559356,\"SRC_PORT\":49452,\"DST_PORT\":8080,\"TCP_FLAGS\":22,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
		{ 5, "{\"IPV4_SRC_ADDR\":\"10.128.2.121\",\"IPV4_DST_ADDR\":\"10.128.2.1\",\"NEXT_HOP\":\"0.0.0.0\","
		     "\"INPUT\":9,\"OUTPUT\":2,\"IN_PACKETS\":5,\"IN_OCTETS\":2988,\"FIRST_SWITCHED\":8559504,"
		     "\"LAST_SWITCHED\":8559517,\"SRC_PORT\":8080,\"DST_PORT\":47386,\"TCP_FLAGS\":27,\"PROTO\":6,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
	};

	check_file("goflow2/nfv5_TestDecodeNetFlowV5_data.bin", 1, 6, exp, sizeof(exp) / sizeof(exp[0]));
}

/* tshark/pynetflow_PACKET_V5.txt (3 records: ICMP, ..., mDNS). */
static void test_pynetflow_v5(void)
{
	static const struct expect exp[] = {
		{ 0, "{\"IPV4_SRC_ADDR\":\"172.17.0.2\",\"IPV4_DST_ADDR\":\"172.17.0.1\",\"NEXT_HOP\":\"0.0.0.0\","
		     "\"INPUT\":0,\"OUTPUT\":0,\"IN_PACKETS\":10,\"IN_OCTETS\":840,\"FIRST_SWITCHED\":12108,"
		     "\"LAST_SWITCHED\":21110,\"SRC_PORT\":0,\"DST_PORT\":2048,\"TCP_FLAGS\":0,\"PROTO\":1,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
		{ 2, "{\"IPV4_SRC_ADDR\":\"172.17.0.1\",\"IPV4_DST_ADDR\":\"224.0.0.251\",\"NEXT_HOP\":\"0.0.0.0\","
		     "\"INPUT\":0,\"OUTPUT\":0,\"IN_PACKETS\":1,\"IN_OCTETS\":169,\"FIRST_SWITCHED\":57372,"
		     "\"LAST_SWITCHED\":57372,\"SRC_PORT\":5353,\"DST_PORT\":5353,\"TCP_FLAGS\":0,\"PROTO\":17,"
		     "\"TOS\":0,\"SRC_AS\":0,\"DST_AS\":0,\"SRC_MASK\":0,\"DST_MASK\":0}" },
	};

	check_file("python-netflow-v9-softflowd/PACKET_V5.bin", 1, 3, exp, sizeof(exp) / sizeof(exp[0]));
}

/* A file that must be refused whole: rc as given, no record, counted. */
static void check_refused_file(const char *rel, int want_rc)
{
	size_t len = 0;
	uint8_t *data = read_file(rel, &len);
	struct nfc_batch *b;
	uint64_t bad0 = nfc_counter_read(in_ctx, NFC_C_MALFORMED) + nfc_counter_read(in_ctx, NFC_C_UNKNOWN_VERSION);

	CU_ASSERT_FATAL(data != NULL);
	CU_ASSERT_EQUAL(decode(data, len, &b), want_rc);
	CU_ASSERT_EQUAL(nfc_batch_count(b), 0);
	CU_ASSERT_EQUAL(b->used, 0); /* the copy was given back */
	CU_ASSERT_EQUAL(nfc_counter_read(in_ctx, NFC_C_MALFORMED) + nfc_counter_read(in_ctx, NFC_C_UNKNOWN_VERSION),
	                bad0 + 1);
	nfc_batch_put(b);
	free(data);
}

/* Count 55582 and 163 in 1464-byte datagrams (tshark/logstash_Netflow_5_invalid_0[12]_*.txt). */
static void test_invalid_files(void)
{
	check_refused_file("logstash-codec-netflow/netflow5_test_invalid01.dat", NFC_EMALFORMED);
	check_refused_file("logstash-codec-netflow/netflow5_test_invalid02.dat", NFC_EMALFORMED);
	/* 21 bytes of 0xff: version 65535, which no decoder handles (NFC_EINVAL). */
	check_refused_file("python-netflow-v9-softflowd/PACKET_INVALID.bin", NFC_EINVAL);
}

/* ------------------------------------------------------------------------ */
/* Synthetic datagrams                                                      */

static size_t put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return 2;
}

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 4;
}

/* A v5 header announcing `count` records, then `nrec` records whose bytes
 * are all distinct and whose padding is non-zero (it must not show). */
static size_t build_v5(uint8_t *p, unsigned version, unsigned count, size_t nrec, uint32_t seq,
                       uint8_t engine_id)
{
	size_t o = 0;

	o += put16(p + o, version);
	o += put16(p + o, count);
	o += put32(p + o, hdr_uptime);  /* sysUptime */
	o += put32(p + o, 1700000000); /* secs */
	o += put32(p + o, 0);          /* nsecs */
	o += put32(p + o, seq);
	p[o++] = 1; /* engine type */
	p[o++] = engine_id;
	o += put16(p + o, 0x4064); /* sampling: mode 1, interval 100 */
	for (size_t i = 0; i < nrec; i++) {
		uint8_t *r = p + o;

		for (size_t k = 0; k < 48; k++)
			r[k] = (uint8_t)(i * 48 + k + 1);
		o += 48;
	}
	return o;
}

/* A single record with every value checked by hand, including extremes. */
static void test_one_record(void)
{
	static const uint8_t rec[48] = {
		198, 51, 100, 7,               /* src 198.51.100.7 */
		255, 255, 255, 255,            /* dst 255.255.255.255 */
		0, 0, 0, 0,                    /* next hop 0.0.0.0 */
		0xff, 0xff,                    /* input 65535 */
		0x00, 0x01,                    /* output 1 */
		0xff, 0xff, 0xff, 0xff,        /* packets 4294967295 */
		0x00, 0x01, 0x00, 0x00,        /* octets 65536 */
		0x80, 0x00, 0x00, 0x00,        /* first 2147483648 */
		0x00, 0x00, 0x00, 0x00,        /* last 0 */
		0x01, 0xbb,                    /* src port 443 */
		0xd4, 0x31,                    /* dst port 54321 */
		0xaa,                          /* pad1 (non-zero: must not show) */
		0x3f,                          /* TCP flags 63 */
		0x11,                          /* proto 17 */
		0xb8,                          /* tos 184 */
		0xfd, 0xe8,                    /* src AS 65000 */
		0x00, 0x00,                    /* dst AS 0 */
		32, 0,                         /* masks */
		0xbe, 0xef,                    /* pad2 */
	};
	static const char want[] =
		"{\"IPV4_SRC_ADDR\":\"198.51.100.7\",\"IPV4_DST_ADDR\":\"255.255.255.255\",\"NEXT_HOP\":\"0.0.0.0\","
		"\"INPUT\":65535,\"OUTPUT\":1,\"IN_PACKETS\":4294967295,\"IN_OCTETS\":65536,"
		"\"FIRST_SWITCHED\":2147483648,\"LAST_SWITCHED\":0,\"SRC_PORT\":443,\"DST_PORT\":54321,"
		"\"TCP_FLAGS\":63,\"PROTO\":17,\"TOS\":184,\"SRC_AS\":65000,\"DST_AS\":0,\"SRC_MASK\":32,"
		"\"DST_MASK\":0}";
	uint8_t dg[24 + 48];
	struct nfc_batch *b;

	build_v5(dg, 5, 1, 0, 0, 99);
	memcpy(dg + 24, rec, 48);
	CU_ASSERT_EQUAL(decode(dg, sizeof(dg), &b), NFC_OK);
	CU_ASSERT_EQUAL_FATAL(nfc_batch_count(b), 1);
	{
		char *j = (char *)json_of(b, 0);

		check_added(j, dg, dg + 24);
		CU_ASSERT_STRING_EQUAL(j, want);
	}
	nfc_batch_put(b);
}

static void expect_refused(const uint8_t *p, size_t len, int want_rc)
{
	struct nfc_batch *b;
	uint64_t bad0 = nfc_counter_read(in_ctx, NFC_C_MALFORMED);

	CU_ASSERT_EQUAL(decode(p, len, &b), want_rc);
	CU_ASSERT_EQUAL(nfc_batch_count(b), 0);
	if (want_rc == NFC_EMALFORMED)
		CU_ASSERT_EQUAL(nfc_counter_read(in_ctx, NFC_C_MALFORMED), bad0 + 1);
	nfc_batch_put(b);
}

static void test_bad_counts_and_lengths(void)
{
	static uint8_t dg[24 + 48 * 32];
	size_t n;

	/* count 0 with no records, and count 0 followed by a record */
	n = build_v5(dg, 5, 0, 0, 0, 98);
	expect_refused(dg, n, NFC_EMALFORMED);
	n = build_v5(dg, 5, 0, 1, 0, 98);
	expect_refused(dg, n, NFC_EMALFORMED);
	/* count 31 with 31 records: over the format's maximum */
	n = build_v5(dg, 5, 31, 31, 0, 98);
	expect_refused(dg, n, NFC_EMALFORMED);
	/* count 65535 with 30 records */
	n = build_v5(dg, 5, 65535, 30, 0, 98);
	expect_refused(dg, n, NFC_EMALFORMED);
	/* length off by one: short and long, for 1 and 30 records */
	n = build_v5(dg, 5, 1, 1, 0, 98);
	expect_refused(dg, n - 1, NFC_EMALFORMED);
	expect_refused(dg, n + 1, NFC_EMALFORMED);
	n = build_v5(dg, 5, 30, 30, 0, 98);
	expect_refused(dg, n - 1, NFC_EMALFORMED);
	expect_refused(dg, n + 1, NFC_EMALFORMED);
	/* count says 2, one record present; count says 1, two present */
	n = build_v5(dg, 5, 2, 1, 0, 98);
	expect_refused(dg, n, NFC_EMALFORMED);
	n = build_v5(dg, 5, 1, 2, 0, 98);
	expect_refused(dg, n, NFC_EMALFORMED);
	/* truncated headers: every length below 24 that still names version 5 */
	build_v5(dg, 5, 1, 1, 0, 98);
	for (n = 2; n < 24; n++)
		expect_refused(dg, n, NFC_EMALFORMED);
	/* too short for the core to read a version at all */
	expect_refused(dg, 1, NFC_EMALFORMED);
	expect_refused(dg, 0, NFC_EMALFORMED);
	/* the same layout with another version is not ours */
	n = build_v5(dg, 1, 1, 1, 0, 98);
	expect_refused(dg, n, NFC_EINVAL);
}

/* Every valid count 1..30 is accepted with exactly that many records. */
static void test_all_counts(void)
{
	static uint8_t dg[24 + 48 * 30];
	struct nfc_batch *b;

	for (unsigned c = 1; c <= 30; c++) {
		size_t n = build_v5(dg, 5, c, c, 0, 97);

		CU_ASSERT_EQUAL(decode(dg, n, &b), NFC_OK);
		CU_ASSERT_EQUAL(nfc_batch_count(b), c);
		/* record c-1 carries bytes (c-1)*48+1 ...: check its source address */
		if (nfc_batch_count(b) == c) {
			char want[64];
			unsigned base = (c - 1) * 48 + 1;

			snprintf(want, sizeof(want), "{\"IPV4_SRC_ADDR\":\"%u.%u.%u.%u\"", base & 255,
			         (base + 1) & 255, (base + 2) & 255, (base + 3) & 255);
			CU_ASSERT_NSTRING_EQUAL(json_of(b, c - 1), want, strlen(want));
		}
		nfc_batch_put(b);
	}
}

/* ------------------------------------------------------------------------ */
/* Sequence tracking                                                        */

static void send_seq(const char *src, uint8_t engine, uint32_t seq, unsigned count)
{
	static uint8_t dg[24 + 48 * 30];
	struct nfc_batch *b;
	size_t n = build_v5(dg, 5, count, count, seq, engine);

	CU_ASSERT_EQUAL(decode_from(dg, n, src, &b), NFC_OK);
	nfc_batch_put(b);
}

static void test_sequence(void)
{
	uint64_t gap0 = dec_counter("sequence_gap_records");
	uint64_t reset0 = dec_counter("sequence_resets");
	uint64_t late0 = dec_counter("sequence_late_records");

	send_seq("203.0.113.1", 5, 100000, 2); /* first sight: no gap */
	send_seq("203.0.113.1", 5, 100002, 3); /* in order */
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0);
	send_seq("203.0.113.1", 5, 100010, 1); /* 100005..100009 missing: 5 */
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);
	send_seq("203.0.113.1", 5, 100005, 5); /* the late datagram: its 5 flows turn up */
	CU_ASSERT_EQUAL(dec_counter("sequence_late_records"), late0 + 5);
	send_seq("203.0.113.1", 5, 100005, 5); /* a duplicate: nothing was missing any more */
	CU_ASSERT_EQUAL(dec_counter("sequence_late_records"), late0 + 5);
	send_seq("203.0.113.1", 5, 100011, 1); /* expectation was kept: in order */
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);

	/* another exporter, and another engine of the same one, are separate */
	send_seq("203.0.113.2", 5, 7, 1);
	send_seq("203.0.113.1", 6, 0, 1);
	send_seq("203.0.113.2", 5, 8, 1);
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);

	/* exporter restart: back to 0, not a gap */
	send_seq("203.0.113.1", 5, 0, 2);
	CU_ASSERT_EQUAL(dec_counter("sequence_resets"), reset0 + 1);
	send_seq("203.0.113.1", 5, 2, 1);
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);

	/* two probes on one host with the same engine ids, on two source
	 * ports, interleaved: two exporters, no gap */
	for (uint32_t i = 0; i < 5; i++) {
		src_port = 40010;
		send_seq("203.0.113.5", 0, 1000000 + 10 * i, 10);
		src_port = 40011;
		send_seq("203.0.113.5", 0, 100 + 10 * i, 10);
	}
	src_port = 40000;
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);
	CU_ASSERT_EQUAL(dec_counter("sequence_resets"), reset0 + 1);

	/* a reboot: sysUptime went back by minutes; whatever the sequence does
	 * (here it lands "ahead" of a counter past 2^31), it is a reset */
	send_seq("203.0.113.4", 5, 0x90000000u, 30);
	hdr_uptime = 5000;
	send_seq("203.0.113.4", 5, 0, 1);
	CU_ASSERT_EQUAL(dec_counter("sequence_resets"), reset0 + 2);
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);
	send_seq("203.0.113.4", 5, 1, 1); /* tracked from the reboot: in order */
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);
	/* sysUptime wrapping at 2^32 ms is not a reboot */
	hdr_uptime = 0xffffff00u;
	send_seq("203.0.113.4", 5, 2, 1);
	hdr_uptime = 1000;
	send_seq("203.0.113.4", 5, 3, 1);
	CU_ASSERT_EQUAL(dec_counter("sequence_resets"), reset0 + 2);
	hdr_uptime = 1000000;
	/* a forward jump no loss explains (a counter reset without reboot) */
	send_seq("203.0.113.4", 5, 0x40000000u, 1);
	CU_ASSERT_EQUAL(dec_counter("sequence_resets"), reset0 + 3);
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 5);

	/* wrap-around of the sequence at 2^32 is continuity, not a reset */
	send_seq("203.0.113.3", 5, 0xfffffffeu, 2);
	send_seq("203.0.113.3", 5, 0, 3);
	send_seq("203.0.113.3", 5, 4, 1); /* one missing across the wrap */
	CU_ASSERT_EQUAL(dec_counter("sequence_resets"), reset0 + 3);
	CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 6);
	CU_ASSERT_EQUAL(dec_counter("sequence_late_records"), late0 + 5);
}

/* More exporters than the table holds: bounded memory, no crash, still counts. */
static void test_many_exporters(void)
{
	char src[32];

	for (unsigned i = 0; i < 20000; i++) {
		snprintf(src, sizeof(src), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		send_seq(src, 0, 0, 1);
	}
	/* a recent exporter is still tracked: its gap is seen */
	{
		uint64_t gap0 = dec_counter("sequence_gap_records");

		snprintf(src, sizeof(src), "10.0.%u.%u", (19999 >> 8) & 255, 19999 & 255);
		send_seq(src, 0, 3, 1);
		CU_ASSERT_EQUAL(dec_counter("sequence_gap_records"), gap0 + 2);
	}
}

/* ------------------------------------------------------------------------ */
/* Replay of everything in tests/data (under ASan when so configured)      */

static size_t replayed;

static void replay_one(const uint8_t *p, size_t len)
{
	struct nfc_batch *b;

	decode(p, len, &b); /* any result is fine; it must not crash or leak */
	for (size_t i = 0; i < nfc_batch_count(b); i++) {
		const char *j = json_of(b, i);

		CU_ASSERT(j[0] == '{');
	}
	nfc_batch_put(b);
	replayed++;
}

static void replay_dir(const char *dir)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	if (n < 0)
		return;
	for (int i = 0; i < n; i++) {
		char path[8192];
		struct stat st;
		const char *nm = ents[i]->d_name;

		snprintf(path, sizeof(path), "%s/%s", dir, nm);
		if (nm[0] == '.' || !strncmp(nm, "LICENSE", 7) || !strncmp(nm, "NOTICE", 6) || stat(path, &st) < 0) {
			free(ents[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			replay_dir(path);
		} else if (S_ISREG(st.st_mode) && st.st_size <= 65535) {
			FILE *f = fopen(path, "rb");
			uint8_t *p = malloc(st.st_size ? st.st_size : 1);
			size_t len = f && p ? fread(p, 1, st.st_size, f) : 0;

			/* whole, and cut at every length */
			for (size_t cut = 0; cut <= len; cut++)
				replay_one(p, cut);
			free(p);
			if (f)
				fclose(f);
		}
		free(ents[i]);
	}
	free(ents);
}

static void test_replay_all(void)
{
	replayed = 0;
	replay_dir(data_dir);
	CU_ASSERT(replayed > 1000);
}

/* ------------------------------------------------------------------------ */

static int setup(void)
{
	const char *srcdir = getenv("NFC_SRCDIR");
	struct nfc_loaded_plugin *lp;
	char err[512];

	snprintf(data_dir, sizeof(data_dir), "%s/tests/data", srcdir ? srcdir : ".");
	lp = nfc_plugin_load(nfc_plugin_dir(NULL), NFC_KIND_DECODER, "netflow_v5", err, sizeof(err));
	if (!lp) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	dec_ctx = nfc_ctx_new("netflow_v5", lp);
	if (dec_ctx)
		nfc_ctx_apply_defaults(dec_ctx);
	in_ctx = nfc_ctx_new("listener", NULL);
	if (!dec_ctx || !in_ctx)
		return -1;
	if (lp->d.decoder->start(dec_ctx->inst, dec_ctx) < 0) {
		fprintf(stderr, "netflow_v5 start() failed\n");
		return -1;
	}
	if (nfc_pipeline_init(NULL, 0, &dec_ctx, 1) < 0)
		return -1;
	worker.ctx = in_ctx;
	worker.slot = 0;
	return 0;
}

static void teardown(void)
{
	if (dec_ctx && dec_ctx->plugin->decoder->stop)
		dec_ctx->plugin->decoder->stop(dec_ctx->inst);
	nfc_ctx_free(dec_ctx);
	nfc_ctx_free(in_ctx);
	nfc_pipeline_free();
	nfc_plugins_unload();
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "logstash netflow5.dat: 12 datagrams, 30 records", test_logstash_netflow5 },
		{ "Juniper MX80: 29 records", test_juniper_mx80 },
		{ "MikroTik: 30 records", test_mikrotik },
		{ "goflow2: 6 records", test_goflow2 },
		{ "python-netflow PACKET_V5: 3 records", test_pynetflow_v5 },
		{ "invalid corpus files are refused whole", test_invalid_files },
		{ "one record, every field by hand", test_one_record },
		{ "bad counts, lengths and truncated headers", test_bad_counts_and_lengths },
		{ "every count 1..30", test_all_counts },
		{ "sequence gaps, resets, reordering, wrap", test_sequence },
		{ "exporter table stays bounded", test_many_exporters },
		{ "replay tests/data whole and truncated", test_replay_all },
		{ NULL, NULL },
	};
	int rc;

	if (setup() < 0) {
		fprintf(stderr, "test_v5: setup failed (is NETFLOW_CONCENTRATOR_PLUGIN_DIR set? run through make check)\n");
		teardown();
		return 1;
	}
	rc = nfc_run_tests("netflow_v5", tests);
	teardown();
	return rc;
}
