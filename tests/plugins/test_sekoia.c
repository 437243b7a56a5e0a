/*
 * The sekoia output without a network: the framing functions (linked
 * directly) and the built out_sekoia.so loaded through the core's loader,
 * configured from INI text, checked, started and made to encode batches.
 */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conf.h"
#include "json.h"
#include "loader.h"
#include "nfc.h"
#include "sekoia_frame.h"

#define KEY "Test0123456789Key"
#define STRLEN 60000 /* two string fields: records up to 120000 JSON bytes */

static struct nfc_loaded_plugin *lp;
static struct nfc_template *tmpl;

/* ---- helpers ------------------------------------------------------------ */

/* A batch built by hand: record i has k1[i] 'a' in field s, k2[i] 'b' in t. */
struct test_batch {
	struct nfc_batch b;
	struct nfc_rec rec[16];
	struct nfc_origin org[2];
	uint8_t *data[16];
};

static void tb_init(struct test_batch *tb, const size_t *k1, const size_t *k2, size_t n, struct timespec ts)
{
	memset(tb, 0, sizeof(*tb));
	tb->org[0].received = ts; /* every record from one datagram */
	tb->b.org = tb->org;
	tb->b.ndg = 1;
	tb->b.capdg = 2;
	tb->b.rec = tb->rec;
	tb->b.nrec = n;
	tb->b.caprec = 16;
	for (size_t i = 0; i < n; i++) {
		tb->data[i] = calloc(1, 2 * STRLEN);
		memset(tb->data[i], 'a', k1[i]);
		memset(tb->data[i] + STRLEN, 'b', k2 ? k2[i] : 0);
		tb->rec[i].t = tmpl;
		tb->rec[i].data = tb->data[i];
		tb->rec[i].len = 2 * STRLEN;
	}
}

static void tb_free(struct test_batch *tb)
{
	for (size_t i = 0; i < tb->b.nrec; i++)
		free(tb->data[i]);
}

/* Walk octet-counted frames: check every LEN, the trailing LF, the head and
 * the JSON of record i. Returns the number of frames, -1 on a framing error. */
static long check_frames(const char *p, size_t len, const struct nfc_batch *b, const char *head,
                         const size_t *which)
{
	size_t off = 0;
	long n = 0;

	while (off < len) {
		size_t flen = 0, digits = 0;
		struct nfc_buf j;

		while (off < len && p[off] >= '0' && p[off] <= '9') {
			flen = flen * 10 + (size_t)(p[off++] - '0');
			digits++;
		}
		if (!digits || digits > 7 || off >= len || p[off] != ' ' || p[off - digits] == '0')
			return -1;
		off++;
		if (flen > len - off || p[off + flen - 1] != '\n')
			return -1;
		if (strncmp(p + off, head, strlen(head)))
			return -1;
		nfc_buf_init(&j, 1024);
		nfc_batch_json(b, which ? which[n] : (size_t)n, &j);
		if (flen != strlen(head) + j.len + 1 || memcmp(p + off + strlen(head), j.data, j.len)) {
			nfc_buf_free(&j);
			return -1;
		}
		nfc_buf_free(&j);
		off += flen;
		n++;
	}
	return n;
}

/* Capture what the core logs (stderr) while an instance is checked. */
static char logged[8192];
static int saved_err = -1;
static FILE *cap;

static void capture_begin(void)
{
	fflush(stderr);
	cap = tmpfile();
	saved_err = dup(2);
	dup2(fileno(cap), 2);
}

static void capture_end(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	rewind(cap);
	n = fread(logged, 1, sizeof(logged) - 1, cap);
	logged[n] = '\0';
	fclose(cap);
	fputs(logged, stderr); /* keep it visible in the test log */
}

struct inst {
	struct nfc_config cfg;
	struct nfc_ctx *ctx;
	int errors; /* parameter errors + check() result */
	int started;
};

static void report(void *arg, const char *fmt, ...)
{
	va_list ap;

	(void)arg;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Configure an instance from INI text, apply the plugin's parameters, run
 * check() and, when it passes and `start` is set, start(). */
static int inst_new(struct inst *in, const char *ini, int start)
{
	static const char *const extra[] = { "plugin", "tls", "tls_verify", "ca_file", "server_name", NULL };
	const struct nfc_section *sec;
	char err[512];

	memset(in, 0, sizeof(*in));
	if (nfc_config_parse(&in->cfg, "test.ini", ini, strlen(ini), err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	sec = nfc_config_find(&in->cfg, "forwarder", NULL);
	in->ctx = nfc_ctx_new("forwarder", lp);
	if (!in->ctx)
		return -1;
	in->ctx->section = sec;
	capture_begin();
	in->errors = nfc_params_apply(lp->d.params, NULL, in->ctx->inst, NULL, sec, extra, "forwarder", report,
	                              NULL);
	if (!in->errors && lp->d.check(in->ctx->inst, in->ctx) != NFC_OK)
		in->errors++;
	if (!in->errors && start) {
		if (lp->d.output->start(in->ctx->inst, in->ctx) != NFC_OK)
			in->errors++;
		else
			in->started = 1;
	}
	capture_end();
	return in->errors;
}

static void inst_free(struct inst *in)
{
	if (in->started)
		lp->d.output->stop(in->ctx->inst);
	nfc_ctx_free(in->ctx);
	nfc_config_free(&in->cfg);
}

static int counter_id(struct nfc_ctx *ctx, const char *name)
{
	for (int i = 0; i < ctx->ncounters; i++)
		if (!strcmp(ctx->counter_names[i], name))
			return i;
	return -1;
}

/* ---- framing ------------------------------------------------------------ */

static void test_timestamp(void)
{
	char ts[SEKOIA_TS_LEN + 1] = { 0 };

	sekoia_format_time(ts, (struct timespec){ 1795600800, 123456789 });
	CU_ASSERT_STRING_EQUAL(ts, "2026-11-25T10:00:00.123456Z");
	sekoia_format_time(ts, (struct timespec){ 0, 0 });
	CU_ASSERT_STRING_EQUAL(ts, "1970-01-01T00:00:00.000000Z");
	sekoia_format_time(ts, (struct timespec){ 951782400 + 86399, 999999999 }); /* leap day */
	CU_ASSERT_STRING_EQUAL(ts, "2000-02-29T23:59:59.999999Z");
}

static void test_sd_escape(void)
{
	char out[64];

	CU_ASSERT_EQUAL(sekoia_sd_escape(out, "plain"), 5);
	CU_ASSERT_STRING_EQUAL(out, "plain");
	sekoia_sd_escape(out, "a\"b\\c]d");
	CU_ASSERT_STRING_EQUAL(out, "a\\\"b\\\\c\\]d");
	CU_ASSERT_EQUAL(sekoia_sd_escape(out, "\"\"]]"), 8);
	CU_ASSERT_STRING_EQUAL(out, "\\\"\\\"\\]\\]");
}

static void test_head_escaped_key(void)
{
	struct sekoia_framer f;

	CU_ASSERT_EQUAL(sekoia_framer_init(&f, 14, "h", "app", 42, "k\"e]y\\", 1000), NFC_OK);
	CU_ASSERT_NSTRING_EQUAL(f.head + f.ts_off + SEKOIA_TS_LEN,
	                        " h app 42 LOG [SEKOIA@53288 intake_key=\"k\\\"e\\]y\\\\\"] ",
	                        f.head_len - f.ts_off - SEKOIA_TS_LEN);
	CU_ASSERT_EQUAL(f.head_len - f.ts_off - SEKOIA_TS_LEN,
	                strlen(" h app 42 LOG [SEKOIA@53288 intake_key=\"k\\\"e\\]y\\\\\"] "));
	sekoia_framer_free(&f);
	CU_ASSERT_EQUAL(sekoia_framer_init(&f, 192, "h", "app", 1, "k", 1000), NFC_EINVAL);
}

/* Frame sizes crossing digit boundaries up and down: every LEN exact. */
static void test_frames_exact(void)
{
	static const size_t k1[] = { 0, 5, 4900, 1, 20000, 60000, 3, 9, 900, 899, 10, 60000 };
	static const size_t k2[] = { 0, 0, 0, 0, 0, 60000, 0, 0, 0, 0, 0, 0 };
	const size_t n = sizeof(k1) / sizeof(k1[0]);
	struct timespec ts = { 1795600800, 123456789 };
	struct sekoia_encode_stats st;
	struct sekoia_framer f;
	struct test_batch tb;
	struct nfc_buf out;
	char head[256], first[32];

	tb_init(&tb, k1, k2, n, ts);
	CU_ASSERT_EQUAL_FATAL(sekoia_framer_init(&f, 14, "h", "a", 7, KEY, 1 << 20), NFC_OK);
	nfc_buf_init(&out, 16);
	nfc_buf_append(&out, "X", 1); /* the buffer may already hold other batches */
	CU_ASSERT_EQUAL(sekoia_framer_encode(&f, &tb.b, &out, &st), NFC_OK);
	CU_ASSERT_EQUAL(st.frames, n);
	CU_ASSERT_EQUAL(st.dropped, 0);
	snprintf(head, sizeof(head), "<14>1 2026-11-25T10:00:00.123456Z h a 7 LOG [SEKOIA@53288 "
	         "intake_key=\"%s\"] ", KEY);
	CU_ASSERT_EQUAL(out.data[0], 'X');
	CU_ASSERT_EQUAL(check_frames(out.data + 1, out.len - 1, &tb.b, head, NULL), (long)n);
	/* The first frame (empty strings) has 3 length digits, the sixth 6. */
	snprintf(first, sizeof(first), "%zu <14>1", strlen(head) + strlen("{\"s\":\"\",\"t\":\"\"}") + 1);
	CU_ASSERT_NSTRING_EQUAL(out.data + 1, first, strlen(first));

	/* A second batch with another time reuses the head with the new stamp. */
	tb.org[0].received.tv_nsec = 5000;
	nfc_buf_truncate(&out, 0);
	CU_ASSERT_EQUAL(sekoia_framer_encode(&f, &tb.b, &out, &st), NFC_OK);
	head[26] = '0'; head[27] = '0'; head[28] = '0'; head[29] = '0'; head[30] = '0'; head[31] = '5';
	CU_ASSERT_EQUAL(check_frames(out.data, out.len, &tb.b, head, NULL), (long)n);

	/* Records of a later datagram in the same batch carry its own time. */
	tb.org[1] = tb.org[0];
	tb.org[1].received.tv_sec += 3;
	tb.b.ndg = 2;
	tb.rec[n - 1].dg = 1;
	nfc_buf_truncate(&out, 0);
	CU_ASSERT_EQUAL(sekoia_framer_encode(&f, &tb.b, &out, &st), NFC_OK);
	{
		char later[SEKOIA_TS_LEN + 1], earlier[SEKOIA_TS_LEN + 1];
		const char *last_frame;

		sekoia_format_time(later, tb.org[1].received);
		later[SEKOIA_TS_LEN] = '\0';
		sekoia_format_time(earlier, tb.org[0].received);
		earlier[SEKOIA_TS_LEN] = '\0';
		nfc_buf_append(&out, "", 1); /* NUL for strstr */
		last_frame = strstr(out.data, later);
		CU_ASSERT_PTR_NOT_NULL(last_frame);
		CU_ASSERT_PTR_NOT_NULL(strstr(out.data, earlier));
		/* only the last frame has the later time */
		CU_ASSERT(last_frame && !strstr(last_frame + 1, later));
		CU_ASSERT(last_frame && !strstr(last_frame, earlier));
	}
	nfc_buf_free(&out);
	sekoia_framer_free(&f);
	tb_free(&tb);
}

static void test_oversize_framer(void)
{
	static const size_t k1[] = { 10, 2000, 20, 60000, 30 };
	static const size_t keep[] = { 0, 2, 4 };
	struct sekoia_encode_stats st;
	struct sekoia_framer f;
	struct test_batch tb;
	struct nfc_buf out;
	char head[256];

	tb_init(&tb, k1, NULL, 5, (struct timespec){ 0, 0 });
	CU_ASSERT_EQUAL_FATAL(sekoia_framer_init(&f, 14, "h", "a", 7, KEY, 1000), NFC_OK);
	nfc_buf_init(&out, 64);
	CU_ASSERT_EQUAL(sekoia_framer_encode(&f, &tb.b, &out, &st), NFC_OK);
	CU_ASSERT_EQUAL(st.frames, 3);
	CU_ASSERT_EQUAL(st.dropped, 2);
	CU_ASSERT(st.dropped_largest > 60000);
	snprintf(head, sizeof(head), "<14>1 1970-01-01T00:00:00.000000Z h a 7 LOG [SEKOIA@53288 "
	         "intake_key=\"%s\"] ", KEY);
	CU_ASSERT_EQUAL(check_frames(out.data, out.len, &tb.b, head, keep), 3);
	nfc_buf_free(&out);
	sekoia_framer_free(&f);
	tb_free(&tb);
}

static void test_key_rules(void)
{
	CU_ASSERT_PTR_NULL(sekoia_key_problem(KEY));
	CU_ASSERT_PTR_NULL(sekoia_key_problem("abcd-EFG_1234"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sekoia_key_problem("<intake_key>"), "placeholder"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sekoia_key_problem(""), "empty"));
	CU_ASSERT_PTR_NOT_NULL(sekoia_key_problem(NULL));
	CU_ASSERT_PTR_NOT_NULL(strstr(sekoia_key_problem("\"Test0123456789Key\""), "quote"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sekoia_key_problem("Test 0123456789"), "space"));
	CU_ASSERT_PTR_NOT_NULL(sekoia_key_problem("Test0123]456789"));
	CU_ASSERT_PTR_NOT_NULL(sekoia_key_problem("Tést0123456789"));
	CU_ASSERT_PTR_NOT_NULL(strstr(sekoia_key_problem("short"), "short"));
}

static void test_regions(void)
{
	CU_ASSERT_STRING_EQUAL(sekoia_region_host("FRA1"), "intake.sekoia.io");
	CU_ASSERT_STRING_EQUAL(sekoia_region_host("fra2"), "app.fra2.sekoia.io");
	CU_ASSERT_STRING_EQUAL(sekoia_region_host("Mco1"), "app.mco1.sekoia.io");
	CU_ASSERT_STRING_EQUAL(sekoia_region_host("UAE1"), "app.uae1.sekoia.io");
	CU_ASSERT_STRING_EQUAL(sekoia_region_host("usa1"), "app.usa1.sekoia.io");
	CU_ASSERT_PTR_NULL(sekoia_region_host("EU1"));
	CU_ASSERT_PTR_NULL(sekoia_region_host(""));
}

static void test_sanitize(void)
{
	char s[300];

	strcpy(s, "my host\t\x7f\xc3\xa9");
	sekoia_sanitize_name(s, 255);
	CU_ASSERT_STRING_EQUAL(s, "my_host____");
	s[0] = '\0';
	sekoia_sanitize_name(s, 255);
	CU_ASSERT_STRING_EQUAL(s, "-");
	memset(s, 'x', 299);
	s[299] = '\0';
	sekoia_sanitize_name(s, 255);
	CU_ASSERT_EQUAL(strlen(s), 255);
}

/* ---- the loaded plugin -------------------------------------------------- */

static void test_plugin_descriptor(void)
{
	CU_ASSERT_EQUAL(lp->d.kind, NFC_KIND_OUTPUT);
	CU_ASSERT_STRING_EQUAL(lp->d.name, "sekoia");
	CU_ASSERT(lp->d.flags & NFC_PLUGIN_TLS);
	CU_ASSERT_PTR_NOT_NULL(lp->d.check);
	CU_ASSERT_PTR_NOT_NULL(lp->d.output);
}

/* A key refused by check(): the message says what to do, never the key. */
static void expect_key_refused(const char *ini, const char *words, const char *secret)
{
	struct inst in;

	CU_ASSERT(inst_new(&in, ini, 0) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "intake_key"));
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, words));
	if (secret)
		CU_ASSERT_PTR_NULL(strstr(logged, secret));
	inst_free(&in);
}

static void test_plugin_key_refused(void)
{
	expect_key_refused("[forwarder]\nhost=intake.sekoia.io\nport=10514\nintake_key=<intake_key>\n",
	                   "Intakes > your NetFlow intake", NULL);
	expect_key_refused("[forwarder]\nintake_key=\n", "empty", NULL);
	expect_key_refused("[forwarder]\nintake_key=Secret0123;456789\n", "cannot be in an intake key",
	                   "Secret0123");
	expect_key_refused("[forwarder]\nintake_key=Sec\n", "too short", NULL);
	expect_key_refused("[forwarder]\nhost=intake.sekoia.io\n", "missing", NULL);
}

static void test_plugin_region(void)
{
	struct inst in;

	CU_ASSERT(inst_new(&in, "[forwarder]\nintake_key=" KEY "\nregion=MARS1\n", 0) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "FRA1, FRA2, MCO1, UAE1, USA1"));
	inst_free(&in);

	CU_ASSERT_EQUAL(inst_new(&in, "[forwarder]\nintake_key=" KEY "\nregion=usa1\n", 1), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "forwarding to app.usa1.sekoia.io:10514"));
	CU_ASSERT_PTR_NULL(strstr(logged, KEY));
	inst_free(&in);

	CU_ASSERT_EQUAL(inst_new(&in, "[forwarder]\nintake_key=" KEY "\n", 1), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "forwarding to intake.sekoia.io:10514"));
	inst_free(&in);

	/* An explicit host wins over the region. */
	CU_ASSERT_EQUAL(inst_new(&in, "[forwarder]\nintake_key=" KEY "\nregion=FRA2\nhost=relay.example\n"
	                         "port=6514\n", 1), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "forwarding to relay.example:6514"));
	inst_free(&in);
}

/* encode() through the plugin: frames exact, oversize dropped and counted. */
static void test_plugin_encode_oversize(void)
{
	static const size_t k1[] = { 10, 1500, 20, 60000, 30, 700 };
	static const size_t keep[] = { 0, 2, 4, 5 };
	struct test_batch tb;
	struct nfc_buf out;
	struct inst in;
	char head[256];
	int id;

	CU_ASSERT_EQUAL_FATAL(inst_new(&in, "[forwarder]\nintake_key=" KEY "\nhostname=nfc-test\npri=134\n"
	                               "max_event_size=1k\n", 1), 0);
	tb_init(&tb, k1, NULL, 6, (struct timespec){ 1795600800, 5000 });
	nfc_buf_init(&out, 64);
	capture_begin();
	/* 4 of the 6 records encoded: the other two are over max_event_size */
	CU_ASSERT_EQUAL(lp->d.output->encode(in.ctx->inst, &tb.b, &out), 4);
	capture_end();
	snprintf(head, sizeof(head), "<134>1 2026-11-25T10:00:00.000005Z nfc-test netflow-concentrator %ld "
	         "LOG [SEKOIA@53288 intake_key=\"%s\"] ", (long)getpid(), KEY);
	CU_ASSERT_EQUAL(check_frames(out.data, out.len, &tb.b, head, keep), 4);
	id = counter_id(in.ctx, "oversize");
	CU_ASSERT(id >= 0);
	CU_ASSERT_EQUAL(nfc_counter_read(in.ctx, id), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "max_event_size"));
	CU_ASSERT_PTR_NULL(strstr(logged, KEY));
	nfc_buf_free(&out);
	tb_free(&tb);
	inst_free(&in);
}

/* ---- core connections over plain TCP (tls=no) --------------------------- */

static int listen_local(unsigned *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

static void test_conn_plain(void)
{
	struct nfc_ctx *ctx = nfc_ctx_new("conn", NULL);
	struct nfc_conn *c = NULL;
	static char big[1 << 20];
	size_t got = 0;
	unsigned port = 0;
	int lfd, sfd;
	ssize_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	ctx->tls.tls = 0;
	CU_ASSERT_EQUAL(nfc_tls_prepare(ctx), NFC_OK);
	lfd = listen_local(&port);
	CU_ASSERT_FATAL(lfd >= 0);
	CU_ASSERT_EQUAL_FATAL(nfc_conn_open(ctx, "127.0.0.1", port, &c), NFC_OK);
	sfd = accept(lfd, NULL, NULL);
	CU_ASSERT_FATAL(sfd >= 0);
	CU_ASSERT_FALSE(nfc_conn_dead(c));
	/* 1 MiB: more than the socket buffers, so the write has to wait. */
	memset(big, 'x', sizeof(big));
	if (fork() == 0) {
		char rb[65536];

		close(lfd);
		while ((n = read(sfd, rb, sizeof(rb))) > 0)
			got += (size_t)n;
		_exit(got == sizeof(big) ? 0 : 1);
	}
	close(sfd); /* the reader has its copy */
	{
		size_t written = 0;

		CU_ASSERT_EQUAL(nfc_conn_write(c, big, sizeof(big), &written), NFC_OK);
		CU_ASSERT_EQUAL(written, sizeof(big));
	}
	nfc_conn_close(c); /* half-close: the reader sees EOF after every byte */
	{
		int st = -1;

		wait(&st);
		CU_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}

	/* The peer closes: the idle connection is seen dead, writes say RETRY. */
	CU_ASSERT_EQUAL_FATAL(nfc_conn_open(ctx, "127.0.0.1", port, &c), NFC_OK);
	sfd = accept(lfd, NULL, NULL);
	close(sfd);
	usleep(50000);
	CU_ASSERT_TRUE(nfc_conn_dead(c));
	CU_ASSERT_EQUAL(nfc_conn_write(c, "x", 1, NULL), NFC_RETRY);
	nfc_conn_close(c);

	/* Nothing listens: RETRY, and the log says refused. */
	close(lfd);
	capture_begin();
	CU_ASSERT_EQUAL(nfc_conn_open(ctx, "127.0.0.1", port, &c), NFC_RETRY);
	CU_ASSERT_PTR_NULL(c);
	capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "connection refused"));
	nfc_conn_close(NULL);
	nfc_tls_release(ctx);
	nfc_ctx_free(ctx);
}

static void test_tls_prepare(void)
{
	struct nfc_ctx *ctx = nfc_ctx_new("conn", NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(nfc_tls_prepare(ctx), NFC_OK);
	CU_ASSERT_PTR_NOT_NULL(ctx->ssl_ctx);
	nfc_tls_release(ctx);
	CU_ASSERT_PTR_NULL(ctx->ssl_ctx);

	ctx->tls.ca_file = strdup("/nonexistent/ca.pem");
	capture_begin();
	CU_ASSERT_EQUAL(nfc_tls_prepare(ctx), NFC_EINVAL);
	capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "/nonexistent/ca.pem"));
	free(ctx->tls.ca_file);
	ctx->tls.ca_file = NULL;

	ctx->tls.verify = 0;
	capture_begin();
	CU_ASSERT_EQUAL(nfc_tls_prepare(ctx), NFC_OK);
	capture_end();
	CU_ASSERT_PTR_NOT_NULL(strstr(logged, "tls_verify=no"));
	nfc_tls_release(ctx);
	nfc_ctx_free(ctx);
}

int main(void)
{
	static const struct nfc_field fields[] = {
		{ "s", NFC_FIELD_STRING, STRLEN },
		{ "t", NFC_FIELD_STRING, STRLEN },
	};
	char err[512];
	CU_pSuite s;
	unsigned failed;

	lp = nfc_plugin_load(nfc_plugin_dir(NULL), NFC_KIND_OUTPUT, "sekoia", err, sizeof(err));
	if (!lp) {
		fprintf(stderr, "cannot load the sekoia plugin: %s\n", err);
		return 1;
	}
	tmpl = nfc_template_new(NULL, fields, 2);
	if (!tmpl || CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("sekoia", NULL, NULL);
	CU_add_test(s, "timestamp", test_timestamp);
	CU_add_test(s, "sd escape", test_sd_escape);
	CU_add_test(s, "head with escaped key", test_head_escaped_key);
	CU_add_test(s, "frames exact", test_frames_exact);
	CU_add_test(s, "oversize (framer)", test_oversize_framer);
	CU_add_test(s, "key rules", test_key_rules);
	CU_add_test(s, "regions", test_regions);
	CU_add_test(s, "sanitize", test_sanitize);
	CU_add_test(s, "plugin descriptor", test_plugin_descriptor);
	CU_add_test(s, "plugin key refused", test_plugin_key_refused);
	CU_add_test(s, "plugin region", test_plugin_region);
	CU_add_test(s, "plugin encode oversize", test_plugin_encode_oversize);
	CU_add_test(s, "conn plain TCP", test_conn_plain);
	CU_add_test(s, "tls prepare", test_tls_prepare);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	nfc_template_put(tmpl);
	nfc_plugins_unload();
	return failed || CU_get_error() ? 1 : 0;
}
