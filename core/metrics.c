/* The Prometheus metrics endpoint ([core] metrics=ADDR:PORT, off by
 * default): GET /metrics answers the counters of the stats line, per
 * instance, and the outputs' gauges, in the text exposition format
 * (version 0.0.4). libmicrohttpd serves it from a thread of its own; each
 * scrape reads the counters as the stats line does (relaxed loads of the
 * per-thread rows), so it costs the hot path nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "nfc.h"

#define PREFIX "netflow_concentrator_"

static struct {
	struct MHD_Daemon *d;
	struct nfc_ctx *const *inst[3];
	size_t n[3];
} M;

static const char *kind_word(enum nfc_plugin_kind k)
{
	return k == NFC_KIND_INPUT ? "input" : k == NFC_KIND_DECODER ? "decoder" : "output";
}

/* PREFIX KIND_NAME_total: metric names allow [a-zA-Z0-9_:]; counter names
 * are [a-z0-9_] already, but a third-party plugin may register anything:
 * the rest becomes '_'. */
static void metric_name(char *dst, size_t cap, const char *kind, const char *name)
{
	size_t n = (size_t)snprintf(dst, cap, PREFIX "%s_", kind);

	for (; *name && n + 8 < cap; name++) {
		char c = *name;

		dst[n++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_';
	}
	snprintf(dst + n, cap - n, "_total");
}

/* A label value: backslash, quote and newline escaped. */
static void put_label(struct nfc_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			nfc_buf_append(b, "\\", 1);
		if (*s == '\n')
			nfc_buf_append(b, "\\n", 2);
		else
			nfc_buf_append(b, s, 1);
	}
}

static void put_sample(struct nfc_buf *b, const char *metric, const struct nfc_ctx *ctx, unsigned long long v)
{
	char num[32];

	nfc_buf_append(b, metric, strlen(metric));
	nfc_buf_append(b, "{instance=\"", 11);
	put_label(b, ctx->name);
	nfc_buf_append(b, "\",plugin=\"", 10);
	put_label(b, ctx->plugin->name);
	snprintf(num, sizeof(num), "\"} %llu\n", v);
	nfc_buf_append(b, num, strlen(num));
}

/* Every counter of every instance of one kind: one family per counter
 * name (its TYPE line once, then a sample per instance that has it). */
static void put_counters(struct nfc_buf *b, int kind)
{
	struct nfc_ctx *const *inst = M.inst[kind];

	for (size_t i = 0; i < M.n[kind]; i++) {
		for (int c = 0; c < inst[i]->ncounters; c++) {
			const char *name = inst[i]->counter_names[c];
			char metric[256];
			int seen = 0;

			/* families already written by an earlier instance */
			for (size_t j = 0; j < i && !seen; j++)
				for (int k = 0; k < inst[j]->ncounters && !seen; k++)
					seen = !strcmp(inst[j]->counter_names[k], name);
			if (seen)
				continue;
			metric_name(metric, sizeof(metric), kind_word(inst[i]->plugin->kind), name);
			nfc_buf_append(b, "# TYPE ", 7);
			nfc_buf_append(b, metric, strlen(metric));
			nfc_buf_append(b, " counter\n", 9);
			for (size_t j = i; j < M.n[kind]; j++)
				for (int k = 0; k < inst[j]->ncounters; k++)
					if (!strcmp(inst[j]->counter_names[k], name))
						put_sample(b, metric, inst[j], (unsigned long long)nfc_counter_read(inst[j], k));
		}
	}
}

static void put_gauge(struct nfc_buf *b, const char *metric, const char *help,
                      unsigned long long (*get)(const struct nfc_ctx *))
{
	char line[512];

	snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s gauge\n", metric, help, metric);
	nfc_buf_append(b, line, strlen(line));
	for (size_t i = 0; i < M.n[2]; i++)
		put_sample(b, metric, M.inst[2][i], get(M.inst[2][i]));
}

/* Per-exporter series: the EXPORTERS_MAX most recently seen exporters of
 * each decoder (bounded cardinality, whatever the network sends). */
#define EXPORTERS_MAX 256

struct exp_row {
	const struct nfc_ctx *dec;
	struct nfc_exporter_info e;
};

struct exp_list {
	struct exp_row *rows;
	size_t n, cap;
	const struct nfc_ctx *dec;
};

static void exp_collect(void *arg, const struct nfc_exporter_info *e)
{
	struct exp_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		struct exp_row *r = realloc(l->rows, cap * sizeof(*r));

		if (!r)
			return;
		l->rows = r;
		l->cap = cap;
	}
	memset(&l->rows[l->n].e, 0, sizeof(l->rows[l->n].e));
	memcpy(&l->rows[l->n].e, e, e->size < sizeof(*e) ? e->size : sizeof(*e));
	l->rows[l->n].dec = l->dec;
	l->n++;
}

/* One per-exporter family: its name, type, help and the value it reads. */
struct exp_family {
	const char *metric, *type, *help;
	unsigned long long (*get)(const struct nfc_exporter_info *e);
};

static unsigned long long e_datagrams(const struct nfc_exporter_info *e) { return e->datagrams; }
static unsigned long long e_records(const struct nfc_exporter_info *e) { return e->records; }
static unsigned long long e_missing(const struct nfc_exporter_info *e) { return e->sequence_missing; }
static unsigned long long e_templates(const struct nfc_exporter_info *e) { return e->templates; }
static unsigned long long e_no_template(const struct nfc_exporter_info *e) { return e->no_template; }
static unsigned long long e_last_seen(const struct nfc_exporter_info *e) { return (unsigned long long)e->last_seen; }

static const struct exp_family exp_families[] = {
	{ PREFIX "exporter_datagrams_total", "counter", "Datagrams decoded from the exporter.", e_datagrams },
	{ PREFIX "exporter_records_total", "counter", "Flow records decoded from the exporter.", e_records },
	{ PREFIX "exporter_sequence_missing", "gauge",
	  "What the exporter's sequence numbers say is missing and has not turned up.", e_missing },
	{ PREFIX "exporter_templates", "gauge", "Templates known for the exporter.", e_templates },
	{ PREFIX "exporter_no_template_total", "counter",
	  "Data sets of the exporter dropped undecoded: no template in time.", e_no_template },
	{ PREFIX "exporter_last_seen_seconds", "gauge",
	  "When a datagram of the exporter was last received (Unix time).", e_last_seen },
};

static void put_exporter_family(struct nfc_buf *b, const struct exp_list *l, const struct exp_family *f)
{
	const char *metric = f->metric;
	char line[512];

	snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", metric, f->help, metric, f->type);
	nfc_buf_append(b, line, strlen(line));
	for (size_t i = 0; i < l->n; i++) {
		const struct nfc_exporter_info *e = &l->rows[i].e;
		char addr[INET6_ADDRSTRLEN] = "?";
		unsigned long long v = f->get(e);

		inet_ntop(e->family, e->addr, addr, sizeof(addr));
		snprintf(line, sizeof(line), "%s{decoder=\"", metric);
		nfc_buf_append(b, line, strlen(line));
		put_label(b, l->rows[i].dec->name);
		snprintf(line, sizeof(line), "\",exporter=\"%s\",port=\"%u\",domain=\"%u\"} %llu\n", addr, e->port,
		         e->domain, v);
		nfc_buf_append(b, line, strlen(line));
	}
}

/* What each output's status() says (destination, connection state), as
 * the label of an info series. */
static void put_output_info(struct nfc_buf *b)
{
	static const char head[] = "# HELP " PREFIX "output_info The output's own status line.\n# TYPE " PREFIX
	                           "output_info gauge\n";

	nfc_buf_append(b, head, sizeof(head) - 1);
	for (size_t i = 0; i < M.n[2]; i++) {
		const struct nfc_ctx *c = M.inst[2][i];
		char st[256] = "";

		if (c->plugin->output->status)
			c->plugin->output->status(c->inst, st, sizeof(st));
		nfc_buf_append(b, PREFIX "output_info{instance=\"", strlen(PREFIX "output_info{instance=\""));
		put_label(b, c->name);
		nfc_buf_append(b, "\",status=\"", 10);
		put_label(b, st);
		nfc_buf_append(b, "\"} 1\n", 5);
	}
}

static void put_exporters(struct nfc_buf *b)
{
	struct exp_list l = { NULL, 0, 0, NULL };

	for (size_t i = 0; i < M.n[1]; i++) {
		const struct nfc_decoder_ops *ops = M.inst[1][i]->plugin->decoder;

		if (ops->exporters) {
			l.dec = M.inst[1][i];
			ops->exporters(M.inst[1][i]->inst, EXPORTERS_MAX, exp_collect, &l);
		}
	}
	for (size_t i = 0; i < sizeof(exp_families) / sizeof(exp_families[0]); i++)
		put_exporter_family(b, &l, &exp_families[i]);
	free(l.rows);
}

static unsigned long long g_queued(const struct nfc_ctx *c) { return nfc_output_queued(c); }
static unsigned long long g_spool(const struct nfc_ctx *c) { return nfc_output_spool_records(c); }
static unsigned long long g_failing(const struct nfc_ctx *c) { return (unsigned long long)nfc_output_failing_for(c); }

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_len, void **state)
{
	struct nfc_buf b = { 0 };
	struct MHD_Response *r;
	enum MHD_Result rc;
	unsigned code = MHD_HTTP_OK;

	(void)cls, (void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		nfc_buf_append(&b, "GET /metrics only\n", 18);
	} else if (strcmp(url, "/metrics")) {
		code = MHD_HTTP_NOT_FOUND;
		nfc_buf_append(&b, "see /metrics\n", 13);
	} else {
		nfc_buf_append(&b, "# HELP " PREFIX "build_info The running version.\n# TYPE " PREFIX
		               "build_info gauge\n", strlen("# HELP " PREFIX "build_info The running version.\n"
		                                            "# TYPE " PREFIX "build_info gauge\n"));
		{
			char line[256];

			snprintf(line, sizeof(line), PREFIX "build_info{version=\"%s\",abi=\"%d.%d\"} 1\n",
			         PACKAGE_VERSION, NFC_ABI_MAJOR, NFC_ABI_MINOR);
			nfc_buf_append(&b, line, strlen(line));
		}
		for (int k = 0; k < 3; k++)
			put_counters(&b, k);
		put_gauge(&b, PREFIX "output_queued_records", "Records waiting in memory.", g_queued);
		put_gauge(&b, PREFIX "output_spool_records", "Records waiting in the disk spool.", g_spool);
		put_gauge(&b, PREFIX "output_failing_seconds",
		          "How long the output's deliveries have been failing (0: delivering).", g_failing);
		put_output_info(&b);
		put_exporters(&b);
	}
	r = MHD_create_response_from_buffer(b.len, b.data ? b.data : (char *)"", MHD_RESPMEM_MUST_COPY);
	nfc_buf_free(&b);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	rc = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return rc;
}

int nfc_metrics_parse(const char *spec, struct sockaddr_storage *sa, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = { 0 }, *ai = NULL;
	long port;
	char *end;

	if (!colon || (size_t)(colon - spec) >= sizeof(host)) {
		snprintf(err, errlen, "must be ADDRESS:PORT, such as 127.0.0.1:9108 or [::]:9108");
		return NFC_EINVAL;
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535) {
		snprintf(err, errlen, "the port after ':' must be 1 to 65535 (such as 127.0.0.1:9108)");
		return NFC_EINVAL;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai) || !ai) {
		snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address (use 0.0.0.0 for all, 127.0.0.1 for "
		         "this host only)", host);
		return NFC_EINVAL;
	}
	memset(sa, 0, sizeof(*sa));
	memcpy(sa, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return NFC_OK;
}

int nfc_metrics_start(const char *spec, struct nfc_ctx *const *in, size_t nin, struct nfc_ctx *const *dec,
                      size_t ndec, struct nfc_ctx *const *out, size_t nout)
{
	struct sockaddr_storage sa;
	char err[256];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (nfc_metrics_parse(spec, &sa, err, sizeof(err)) < 0) {
		nfc_log_core(NFC_LOG_ERR, "[core] metrics=%s: %s", spec, err);
		return NFC_EINVAL;
	}
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	M.inst[0] = in, M.n[0] = nin;
	M.inst[1] = dec, M.n[1] = ndec;
	M.inst[2] = out, M.n[2] = nout;
	M.d = MHD_start_daemon(flags, 0, NULL, NULL, answer, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	                       MHD_OPTION_CONNECTION_LIMIT, 16U, MHD_OPTION_CONNECTION_TIMEOUT, 10U, MHD_OPTION_END);
	if (!M.d) {
		nfc_log_core(NFC_LOG_ERR, "[core] metrics=%s: cannot listen there (in use, or not an address of "
		             "this host)", spec);
		return NFC_ERROR;
	}
	nfc_log_core(NFC_LOG_INFO, "metrics on http://%s/metrics", spec);
	return NFC_OK;
}

void nfc_metrics_stop(void)
{
	if (M.d)
		MHD_stop_daemon(M.d);
	M.d = NULL;
}

/* ---- --status: a person's view of a running daemon, from its endpoint ---- */

#define STATUS_MAX_INST 64

struct inst_row {
	char kind[16], name[64], plugin[64];
	unsigned long long v[10];
};

/* Values --status shows, by kind: the counter (or gauge) names. */
static const char *const in_cols[] = { "datagrams", "records", "malformed", "kernel_drops", NULL };
static const char *const out_cols[] = { "records", "queued_records", "spool_records", "failing_seconds",
	                                "send_errors", "queue_overflow", "lost_at_shutdown", "refused", NULL };

static int col_index(const char *const *cols, const char *name)
{
	for (int i = 0; cols[i]; i++)
		if (!strcmp(cols[i], name))
			return i;
	return -1;
}

/* One sample line "netflow_concentrator_KIND_NAME[_total]{instance="I",plugin="P"} V". */
static void status_line(const char *line, struct inst_row *rows, size_t *nrows)
{
	char kind[16], rest[160], inst[64], plugin[64];
	unsigned long long v;
	const char *const *cols;
	size_t i;
	int c;

	if (sscanf(line, PREFIX "%15[a-z]_%159[a-z0-9_]{instance=\"%63[^\"]\",plugin=\"%63[^\"]\"} %llu", kind, rest,
	           inst, plugin, &v) != 5)
		return;
	if (strlen(rest) > 6 && !strcmp(rest + strlen(rest) - 6, "_total"))
		rest[strlen(rest) - 6] = '\0';
	cols = !strcmp(kind, "input") ? in_cols : !strcmp(kind, "output") ? out_cols : NULL;
	if (!cols || (c = col_index(cols, rest)) < 0)
		return;
	for (i = 0; i < *nrows; i++)
		if (!strcmp(rows[i].kind, kind) && !strcmp(rows[i].name, inst))
			break;
	if (i == *nrows) {
		if (*nrows == STATUS_MAX_INST)
			return;
		memset(&rows[i], 0, sizeof(rows[i]));
		snprintf(rows[i].kind, sizeof(rows[i].kind), "%s", kind);
		snprintf(rows[i].name, sizeof(rows[i].name), "%s", inst);
		snprintf(rows[i].plugin, sizeof(rows[i].plugin), "%s", plugin);
		(*nrows)++;
	}
	rows[i].v[c] = v;
}

struct exp_status {
	char decoder[64], addr[64];
	unsigned port, domain;
	unsigned long long v[6]; /* datagrams, records, missing, templates, last seen, no_template */
};

static const char *const exp_cols[] = { "datagrams_total", "records_total", "sequence_missing", "templates",
	                                "last_seen_seconds", "no_template_total", NULL };

/* "netflow_concentrator_exporter_COL{decoder=..,exporter=..,port=..,domain=..} V" */
static void status_exporter(const char *line, struct exp_status **rows, size_t *n, size_t *cap)
{
	char col[32], dec[64], addr[64];
	unsigned port, domain;
	unsigned long long v;
	size_t i;
	int c;

	if (sscanf(line, PREFIX "exporter_%31[a-z_]{decoder=\"%63[^\"]\",exporter=\"%63[^\"]\",port=\"%u\","
	           "domain=\"%u\"} %llu", col, dec, addr, &port, &domain, &v) != 6 || (c = col_index(exp_cols, col)) < 0)
		return;
	for (i = 0; i < *n; i++)
		if (!strcmp((*rows)[i].decoder, dec) && !strcmp((*rows)[i].addr, addr) && (*rows)[i].port == port &&
		    (*rows)[i].domain == domain)
			break;
	if (i == *n) {
		if (*n == *cap) {
			size_t nc = *cap ? 2 * *cap : 64;
			struct exp_status *r = realloc(*rows, nc * sizeof(*r));

			if (!r)
				return;
			*rows = r;
			*cap = nc;
		}
		memset(&(*rows)[i], 0, sizeof((*rows)[i]));
		snprintf((*rows)[i].decoder, sizeof((*rows)[i].decoder), "%s", dec);
		snprintf((*rows)[i].addr, sizeof((*rows)[i].addr), "%s", addr);
		(*rows)[i].port = port;
		(*rows)[i].domain = domain;
		(*n)++;
	}
	(*rows)[i].v[c] = v;
}

/* GET /metrics from the endpoint (a wildcard address means this host). */
static int fetch(const struct sockaddr_storage *sa, struct nfc_buf *out, char *err, size_t errlen)
{
	struct sockaddr_storage to = *sa;
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct timeval tv = { 5, 0 };
	int fd;
	ssize_t n;

	if (to.ss_family == AF_INET && ((struct sockaddr_in *)&to)->sin_addr.s_addr == htonl(INADDR_ANY))
		((struct sockaddr_in *)&to)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (to.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&to)->sin6_addr))
		((struct sockaddr_in6 *)&to)->sin6_addr = in6addr_loopback;
	fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NFC_ERROR;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&to, to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                                                  : sizeof(struct sockaddr_in)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return NFC_ERROR;
	}
	for (;;) {
		char *p = nfc_buf_reserve(out, 65536);

		if (!p || (n = recv(fd, p, 65536, 0)) < 0) {
			snprintf(err, errlen, "%s", p ? strerror(errno) : "out of memory");
			close(fd);
			return NFC_ERROR;
		}
		if (n == 0)
			break;
		nfc_buf_commit(out, (size_t)n);
	}
	close(fd);
	nfc_buf_append(out, "", 1);
	return NFC_OK;
}

int nfc_metrics_status(const char *spec)
{
	struct sockaddr_storage sa;
	struct nfc_buf b = { 0 };
	struct inst_row rows[STATUS_MAX_INST];
	struct exp_status *exp = NULL;
	size_t nrows = 0, nexp = 0, capexp = 0, ninfo = 0;
	struct { char name[64], status[256]; } info[STATUS_MAX_INST];
	char err[256], *line, *save = NULL;

	if (nfc_metrics_parse(spec, &sa, err, sizeof(err)) < 0) {
		printf("[core] metrics=%s: %s\n", spec, err);
		return 1;
	}
	if (fetch(&sa, &b, err, sizeof(err)) < 0) {
		printf("cannot reach the daemon's metrics endpoint %s: %s (is it running with this "
		       "configuration?)\n", spec, err);
		nfc_buf_free(&b);
		return 1;
	}
	if (strncmp(b.data, "HTTP/1.", 7) || strncmp(b.data + 9, "200", 3)) {
		printf("%s did not answer the metrics (%.40s)\n", spec, b.data);
		nfc_buf_free(&b);
		return 1;
	}
	for (line = strtok_r(b.data, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char ver[32], abi[16];

		if (sscanf(line, PREFIX "build_info{version=\"%31[^\"]\",abi=\"%15[^\"]\"}", ver, abi) == 2)
			printf("netflow-concentrator %s (plugin ABI %s), metrics at http://%s/metrics\n\n", ver, abi, spec);
		else if (!strncmp(line, PREFIX "exporter_", strlen(PREFIX "exporter_")))
			status_exporter(line, &exp, &nexp, &capexp);
		else if (ninfo < STATUS_MAX_INST &&
		         sscanf(line, PREFIX "output_info{instance=\"%63[^\"]\",status=\"%255[^\"]\"}", info[ninfo].name,
		                info[ninfo].status) == 2)
			ninfo++;
		else
			status_line(line, rows, &nrows);
	}
	nfc_buf_free(&b);
	printf("%-16s %-12s %12s %12s %10s %12s\n", "INPUT", "PLUGIN", "DATAGRAMS", "RECORDS", "MALFORMED",
	       "KERNEL_DROPS");
	for (size_t i = 0; i < nrows; i++)
		if (!strcmp(rows[i].kind, "input"))
			printf("%-16s %-12s %12llu %12llu %10llu %12llu\n", rows[i].name, rows[i].plugin, rows[i].v[0],
			       rows[i].v[1], rows[i].v[2], rows[i].v[3]);
	printf("\n%-16s %-12s %-18s %10s %10s %12s %10s\n", "OUTPUT", "PLUGIN", "STATE", "QUEUED", "SPOOL",
	       "DELIVERED", "LOST");
	for (size_t i = 0; i < nrows; i++) {
		char state[48];
		const unsigned long long *v = rows[i].v;

		if (strcmp(rows[i].kind, "output"))
			continue;
		if (v[3])
			snprintf(state, sizeof(state), "failing for %llu s", v[3]);
		else
			snprintf(state, sizeof(state), "delivering");
		printf("%-16s %-12s %-18s %10llu %10llu %12llu %10llu\n", rows[i].name, rows[i].plugin, state, v[1],
		       v[2], v[0], v[4] + v[5] + v[6] + v[7]);
	}
	for (size_t i = 0; i < ninfo; i++)
		if (info[i].status[0])
			printf("  [%s] %s\n", info[i].name, info[i].status);
	printf("\n%-40s %-11s %10s %9s %10s %12s %8s %11s %9s\n", "EXPORTER", "DECODER", "DOMAIN", "TEMPLATES",
	       "DATAGRAMS", "RECORDS", "MISSING", "NO_TEMPLATE", "LAST SEEN");
	for (size_t i = 0; i < nexp; i++) {
		const struct exp_status *e = &exp[i];
		char who[80], seen[32];
		long long ago = (long long)time(NULL) - (long long)e->v[4];

		if (e->port)
			snprintf(who, sizeof(who), "%s:%u", e->addr, e->port);
		else
			snprintf(who, sizeof(who), "%s", e->addr);
		if (ago < 0)
			ago = 0;
		snprintf(seen, sizeof(seen), "%llds ago", ago);
		printf("%-40s %-11s %10u %9llu %10llu %12llu %8llu %11llu %9s\n", who, e->decoder, e->domain, e->v[3],
		       e->v[0], e->v[1], e->v[2], e->v[5], seen);
	}
	if (!nexp)
		printf("(no exporter seen yet)\n");
	free(exp);
	printf("\nLOST: send_errors + queue_overflow + lost_at_shutdown + refused. MISSING: what the exporters' "
	       "sequence numbers say was lost before it reached us.\n");
	return 0;
}
