/* --status's tables from two canned answers of the metrics endpoint
 * (nfc_status_render): one row per exporter address merging its decoders'
 * streams, versions and domains; rates from the difference over the time
 * between the answers (resets, new streams, a full list); the outputs'
 * destination, state and failures; answers that are not our metrics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "metrics.h"
#include "status.h"

#define P NFC_METRICS_PREFIX
#define NOW 1700000100
#define HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n\r\n" \
	"# HELP " P "build_info The running version.\n" P "build_info{version=\"9.9.9\",abi=\"1.0\"} 1\n"

static char out[1 << 16];
static char *ans[2];
static size_t anslen[2];
static FILE *m[2];

/* Start the two answers, each with the HTTP head and the build info. */
static void begin(void)
{
	for (int i = 0; i < 2; i++) {
		m[i] = open_memstream(&ans[i], &anslen[i]);
		CU_ASSERT_FATAL(m[i] != NULL);
		fputs(HEAD, m[i]);
	}
}

static void add(int which, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(int which, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(m[which], fmt, ap);
	va_end(ap);
}

/* One exporter stream's series in answer `which`. */
static void stream(int which, const char *dec, const char *ver, const char *addr, unsigned port, unsigned dom,
                   unsigned long long records, unsigned long long missing, unsigned templates,
                   unsigned long long seen)
{
	static const char *const fam[] = { "records_total", "sequence_missing", "templates", "last_seen_seconds",
		                           "datagrams_total", "no_template_total" };
	unsigned long long v[] = { records, missing, templates, seen, records / 10, 0 };

	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
		add(which, P "exporter_%s{decoder=\"%s\",version=\"%s\",exporter=\"%s\",port=\"%u\",domain=\"%u\"} %llu\n",
		    fam[i], dec, ver, addr, port, dom, v[i]);
}

/* Render the two answers, `seconds` apart; the tables are in out. */
static int render(double seconds)
{
	FILE *f = fmemopen(out, sizeof(out), "w");
	int rc;

	CU_ASSERT_FATAL(f != NULL);
	fclose(m[0]);
	fclose(m[1]);
	rc = nfc_status_render(f, "127.0.0.1:9108", ans[0], ans[1], seconds, NOW);
	fclose(f);
	free(ans[0]);
	free(ans[1]);
	return rc;
}

/* The line of out starting with `start` (then a space), runs of spaces
 * squeezed to one; "" when there is none. */
static const char *row(const char *start)
{
	static char line[512];
	size_t n = 0;

	for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, start, strlen(start)) || p[strlen(start)] != ' ')
			continue;
		for (; *p && *p != '\n' && n + 1 < sizeof(line); p++)
			if (*p != ' ' || (n && line[n - 1] != ' '))
				line[n++] = *p;
		line[n] = '\0';
		return line;
	}
	return "";
}

static void test_merge_and_rates(void)
{
	begin();
	/* v5: two source ports, one engine */
	stream(0, "netflow_v5", "5", "127.0.0.1", 1000, 0, 100, 0, 0, NOW - 5);
	stream(0, "netflow_v5", "5", "127.0.0.1", 1001, 0, 50, 0, 0, NOW - 5);
	stream(1, "netflow_v5", "5", "127.0.0.1", 1000, 0, 300, 0, 0, NOW - 1);
	stream(1, "netflow_v5", "5", "127.0.0.1", 1001, 0, 50, 0, 0, NOW - 3);
	/* one address, v9 source id 1 and IPFIX domains 2, 3 and (new) 4 */
	stream(0, "netflow_v9", "9", "10.0.0.2", 0, 1, 1000, 0, 2, NOW - 2);
	stream(0, "ipfix", "10", "10.0.0.2", 0, 2, 500, 0, 1, NOW - 2);
	stream(0, "ipfix", "10", "10.0.0.2", 0, 3, 0, 0, 1, NOW - 2);
	stream(1, "netflow_v9", "9", "10.0.0.2", 0, 1, 1400, 3, 2, NOW - 4);
	stream(1, "ipfix", "10", "10.0.0.2", 0, 2, 700, 0, 1, NOW - 3);
	stream(1, "ipfix", "10", "10.0.0.2", 0, 3, 100, 4, 1, NOW - 3);
	stream(1, "ipfix", "10", "10.0.0.2", 0, 4, 40, 0, 1, NOW - 3);
	CU_ASSERT_EQUAL_FATAL(render(2.0), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "netflow-concentrator 9.9.9 (plugin ABI 1.0), metrics at "
	                                   "http://127.0.0.1:9108/metrics, rates over 2.0 s\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nEXPORTER  VERSIONS DOMAINS TEMPLATES  RECORDS/S"));
	/* (200 + 0) / 2 s; (400 + 200 + 100 + 40) / 2 s */
	CU_ASSERT_STRING_EQUAL(row("127.0.0.1"), "127.0.0.1 v5 0 0 100 350 0 0 1s ago");
	CU_ASSERT_STRING_EQUAL(row("10.0.0.2"), "10.0.0.2 v9,IPFIX 1,2,3,4 5 370 2240 7 0 3s ago");
	/* by address: 10.0.0.2 before 127.0.0.1 */
	CU_ASSERT(strstr(out, "\n10.0.0.2 ") < strstr(out, "\n127.0.0.1 "));
}

static void test_domains_reset_ipv6(void)
{
	begin();
	stream(0, "ipfix", "10", "2001:db8::1", 0, 0, 500, 0, 1, NOW);
	for (unsigned d = 0; d < 10; d++)
		stream(1, "ipfix", "10", "2001:db8::1", 0, d, d ? 1 : 50, 0, 1, NOW - 200);
	/* a decoder taking two versions */
	stream(1, "mine", "9,10", "192.0.2.7", 0, 7, 3, 0, 0, NOW - 7200);
	CU_ASSERT_EQUAL_FATAL(render(1.0), 0);
	/* too wide as a list; domain 0 went from 500 to 50 (a restart): 50 + 9 new */
	CU_ASSERT_STRING_EQUAL(row("2001:db8::1"), "2001:db8::1 IPFIX 0..9 (10) 10 59.0 59 0 0 3m ago");
	CU_ASSERT_STRING_EQUAL(row("192.0.2.7"), "192.0.2.7 v9,IPFIX 7 0 3.0 3 0 0 2h ago");
}

/* The first answer listed as many streams of the decoder as the endpoint
 * serves: one it did not list may have been there, less recent. */
static void test_full_list(void)
{
	char addr[32];

	begin();
	for (unsigned i = 0; i < NFC_METRICS_EXPORTERS_MAX; i++) {
		snprintf(addr, sizeof(addr), "10.1.%u.%u", i >> 8, i & 255);
		stream(0, "netflow_v9", "9", addr, 0, 0, 10, 0, 1, NOW);
		if (i)
			stream(1, "netflow_v9", "9", addr, 0, 0, 10, 0, 1, NOW);
	}
	stream(1, "netflow_v9", "9", "10.2.0.1", 0, 0, 1000, 0, 1, NOW);
	CU_ASSERT_EQUAL_FATAL(render(1.0), 0);
	CU_ASSERT_STRING_EQUAL(row("10.2.0.1"), "10.2.0.1 v9 0 1 0 1000 0 0 0s ago");
	CU_ASSERT_STRING_EQUAL(row("10.1.0.1"), "10.1.0.1 v9 0 1 0 10 0 0 0s ago");
	CU_ASSERT_STRING_EQUAL(row("10.1.0.0"), "");
}

static void test_instances(void)
{
	static const char *const out_series[] = { "records_total", "queued_records", "spool_records",
		                                  "failing_seconds", "send_errors_total", "queue_overflow_total",
		                                  "lost_at_shutdown_total", "refused_total" };
	const unsigned long long fwd[] = { 70, 5, 6, 12, 1, 2, 3, 4 };

	begin();
	for (int i = 0; i < 2; i++) {
		add(i, "# TYPE " P "input_datagrams_total counter\n");
		add(i, P "input_datagrams_total{instance=\"listener\",plugin=\"udp\"} %d\n", i ? 30 : 10);
		add(i, P "input_records_total{instance=\"listener\",plugin=\"udp\"} %d\n", i ? 400 : 100);
		add(i, P "input_malformed_total{instance=\"listener\",plugin=\"udp\"} 1\n");
		for (size_t c = 0; c < sizeof(out_series) / sizeof(out_series[0]); c++) {
			add(i, P "output_%s{instance=\"forwarder\",plugin=\"sekoia\"} %llu\n", out_series[c], fwd[c]);
			add(i, P "output_%s{instance=\"we\\\"ird\",plugin=\"file\"} %d\n", out_series[c], c ? 0 : 9);
		}
		add(i, P "output_info{instance=\"forwarder\",status=\"dest=192.0.2.1:10514 state=disconnected "
		       "since=never\"} 1\n");
		add(i, P "output_info{instance=\"we\\\"ird\",status=\"dest=/a b/out.json\"} 1\n");
	}
	CU_ASSERT_EQUAL_FATAL(render(0.5), 0);
	CU_ASSERT_STRING_EQUAL(row("listener"), "listener udp 40.0 600 30 400 1 0");
	CU_ASSERT_STRING_EQUAL(row("forwarder"),
	                       "forwarder sekoia failing for 12 s (disconnected) 5 6 70 10 192.0.2.1:10514");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "192.0.2.1:10514\n          since=never\n"));
	CU_ASSERT_STRING_EQUAL(row("we\"ird"), "we\"ird file delivering 0 0 9 0 /a b/out.json");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "(no exporter seen yet)"));
}

static void test_not_metrics(void)
{
	begin();
	fclose(m[1]);
	free(ans[1]);
	m[1] = open_memstream(&ans[1], &anslen[1]);
	fputs("HTTP/1.1 404 Not Found\r\n\r\nsee /metrics\n", m[1]);
	CU_ASSERT_EQUAL(render(1.0), 1);
	CU_ASSERT_STRING_EQUAL(out, "127.0.0.1:9108 did not answer the metrics of netflow-concentrator "
	                            "(HTTP/1.1 404 Not Found)\n");
	/* another program's metrics: no build info of ours */
	begin();
	fclose(m[0]);
	free(ans[0]);
	m[0] = open_memstream(&ans[0], &anslen[0]);
	fputs("HTTP/1.1 200 OK\r\n\r\nnode_load1 1\n", m[0]);
	CU_ASSERT_EQUAL(render(1.0), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "did not answer the metrics"));
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "one row per address: versions, domains, sums, rates", test_merge_and_rates },
		{ "wide domain lists, counter resets, IPv6, two-version decoders", test_domains_reset_ipv6 },
		{ "a stream new to a full list is not counted as a rate", test_full_list },
		{ "inputs' rates, outputs' state, destination, failures", test_instances },
		{ "answers that are not our metrics", test_not_metrics },
		{ NULL, NULL }
	};

	return nfc_run_tests("status", tests);
}
