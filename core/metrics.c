/* The Prometheus metrics endpoint ([core] metrics=ADDR:PORT, off by
 * default): GET /metrics answers the counters of the stats line, per
 * instance, and the outputs' gauges, in the text exposition format
 * (version 0.0.4). libmicrohttpd serves it from a thread of its own; each
 * scrape reads the counters as the stats line does (relaxed loads of the
 * per-thread rows), so it costs the hot path nothing. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "nfc.h"

#define PREFIX NFC_METRICS_PREFIX

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

/* Per-exporter series: the NFC_METRICS_EXPORTERS_MAX most recently seen
 * exporters of each decoder (bounded cardinality, whatever the network
 * sends). */

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

/* The export format versions a decoder handles ("9", "10"; "9,10" for one
 * that takes both), from its descriptor: what --status shows per exporter. */
static void versions_label(const struct nfc_ctx *dec, char *out, size_t cap)
{
	const uint16_t *v = dec->plugin->decoder->versions;
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < sizeof(dec->plugin->decoder->versions) / sizeof(v[0]) && v[i] && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s%u", i ? "," : "", v[i]);
}

static void put_exporter_family(struct nfc_buf *b, const struct exp_list *l, const struct exp_family *f)
{
	const char *metric = f->metric;
	char line[512];

	snprintf(line, sizeof(line), "# HELP %s %s\n# TYPE %s %s\n", metric, f->help, metric, f->type);
	nfc_buf_append(b, line, strlen(line));
	for (size_t i = 0; i < l->n; i++) {
		const struct nfc_exporter_info *e = &l->rows[i].e;
		char addr[INET6_ADDRSTRLEN] = "?", versions[64];
		unsigned long long v = f->get(e);

		inet_ntop(e->family, e->addr, addr, sizeof(addr));
		versions_label(l->rows[i].dec, versions, sizeof(versions));
		snprintf(line, sizeof(line), "%s{decoder=\"", metric);
		nfc_buf_append(b, line, strlen(line));
		put_label(b, l->rows[i].dec->name);
		snprintf(line, sizeof(line), "\",version=\"%s\",exporter=\"%s\",port=\"%u\",domain=\"%u\"} %llu\n",
		         versions, addr, e->port, e->domain, v);
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
			ops->exporters(M.inst[1][i]->inst, NFC_METRICS_EXPORTERS_MAX, exp_collect, &l);
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
