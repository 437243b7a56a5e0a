/* --status: the running daemon's inputs, outputs and exporters, for a
 * person, from its metrics endpoint. The endpoint is read twice,
 * NFC_STATUS_INTERVAL_MS apart: totals and gauges come from the second
 * answer, rates from the difference over the time measured between the two
 * requests (CLOCK_MONOTONIC). The exporter series, one per decoder and
 * stream (v5 scoped by source port and engine, v9 by source id, IPFIX by
 * observation domain), are merged into one row per exporter address.
 * Memory is bounded by core/status_read.c's limits. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nfc.h"
#include "outq.h"
#include "status.h"
#include "status_int.h"

#define DOMAINS_WIDTH 16 /* a longer list of domains prints as "first..last (count)" */

/* ---- the difference of two answers ---- */

/* What a counter grew by; one lower than before was reset (the daemon
 * restarted in between), so all of it is new. */
static unsigned long long grown(unsigned long long before, unsigned long long after)
{
	return after >= before ? after - before : after;
}

/* What a stream's records grew by. A stream absent from the first answer
 * is new, unless that answer listed as many streams of its decoder as the
 * endpoint serves: then it may only have been less recent than those, and
 * its total says nothing about the interval (counted as 0). */
static unsigned long long series_grown(const struct snap *a, const struct series *e)
{
	const struct series *was = bsearch(e, a->s, a->ns, sizeof(*a->s), nfc_status_series_cmp);
	size_t n = 0;

	if (was)
		return grown(was->v[E_RECORDS], e->v[E_RECORDS]);
	for (size_t i = 0; i < a->ns; i++)
		n += !strcmp(a->s[i].decoder, e->decoder);
	return n < NFC_METRICS_EXPORTERS_MAX ? e->v[E_RECORDS] : 0;
}

/* One row of the exporter table: every stream of one address. */
struct exporter {
	const struct series *s; /* its streams, s[0..n), in domain order */
	size_t n;
	unsigned versions[8];
	size_t nversions;
	unsigned long long v[E_N]; /* summed; E_LAST_SEEN the most recent */
	unsigned long long grown;  /* records between the two answers */
	char versions_s[64], domains_s[64];
};

/* Add the versions of a "9,10" label, keeping them sorted and distinct. */
static void add_versions(struct exporter *r, const char *list)
{
	const size_t max = sizeof(r->versions) / sizeof(r->versions[0]);

	for (const char *p = list; *p;) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		size_t i = 0;

		if (end == p)
			break;
		while (i < r->nversions && r->versions[i] < v)
			i++;
		if ((i == r->nversions || r->versions[i] != v) && r->nversions < max) {
			memmove(&r->versions[i + 1], &r->versions[i], (r->nversions - i) * sizeof(r->versions[0]));
			r->versions[i] = (unsigned)v;
			r->nversions++;
		}
		p = *end == ',' ? end + 1 : end;
	}
}

/* "v5", "v9,IPFIX": the versions' usual names. */
static void format_versions(const struct exporter *r, char *out, size_t cap)
{
	size_t n = 0;

	snprintf(out, cap, "?");
	for (size_t i = 0; i < r->nversions && n < cap; i++) {
		if (r->versions[i] == 10)
			n += (size_t)snprintf(out + n, cap - n, "%sIPFIX", i ? "," : "");
		else
			n += (size_t)snprintf(out + n, cap - n, "%sv%u", i ? "," : "", r->versions[i]);
	}
}

/* "0", "1,2,3", or when that is wider than DOMAINS_WIDTH "0..255 (256)". */
static void format_domains(const struct exporter *r, char *out, size_t cap)
{
	size_t n = 0, count = 0;
	unsigned last = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		unsigned d = r->s[i].domain;

		if (count && d == last)
			continue;
		if (n < cap)
			n += (size_t)snprintf(out + n, cap - n, "%s%u", count ? "," : "", d);
		count++;
		last = d;
	}
	if (n > DOMAINS_WIDTH)
		snprintf(out, cap, "%u..%u (%zu)", r->s[0].domain, last, count);
}

/* The one merge: the streams of the second answer (sorted by address)
 * into one row per address, with what they grew by since the first.
 * rows has room for b->ns. Returns the number of rows. */
static size_t merge_exporters(const struct snap *a, const struct snap *b, struct exporter *rows)
{
	size_t n = 0;

	for (size_t i = 0; i < b->ns; i++) {
		const struct series *e = &b->s[i];
		struct exporter *r = n ? &rows[n - 1] : NULL;

		if (!r || r->s->family != e->family || memcmp(r->s->bin, e->bin, sizeof(e->bin))) {
			r = &rows[n++];
			memset(r, 0, sizeof(*r));
			r->s = e;
		}
		r->n++;
		for (int c = 0; c < E_N; c++)
			if (c != E_LAST_SEEN)
				r->v[c] += e->v[c];
			else if (e->v[c] > r->v[c])
				r->v[c] = e->v[c];
		r->grown += series_grown(a, e);
		add_versions(r, e->versions);
	}
	for (size_t i = 0; i < n; i++) {
		format_versions(&rows[i], rows[i].versions_s, sizeof(rows[i].versions_s));
		format_domains(&rows[i], rows[i].domains_s, sizeof(rows[i].domains_s));
	}
	return n;
}

/* ---- the tables ---- */

static void format_rate(char *out, size_t cap, unsigned long long n, double seconds)
{
	double r = seconds > 0 ? (double)n / seconds : 0;

	if (r >= 100 || r == 0)
		snprintf(out, cap, "%.0f", r);
	else
		snprintf(out, cap, "%.1f", r);
}

static void format_ago(char *out, size_t cap, unsigned long long when, time_t now)
{
	long long ago = (long long)now - (long long)when;

	if (ago < 0)
		ago = 0;
	if (!when)
		snprintf(out, cap, "never");
	else if (ago < 120)
		snprintf(out, cap, "%llds ago", ago);
	else if (ago < 7200)
		snprintf(out, cap, "%lldm ago", ago / 60);
	else if (ago < 172800)
		snprintf(out, cap, "%lldh ago", ago / 3600);
	else
		snprintf(out, cap, "%lldd ago", ago / 86400);
}

static int widest(int w, const char *s)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

/* Where the value of a status() token that starts at p ends: at the next
 * " key=" (a value may hold spaces: a file name), else at the end. */
static size_t token_len(const char *p)
{
	for (const char *q = strchr(p, ' '); q; q = strchr(q + 1, ' ')) {
		size_t k = strspn(q + 1, "abcdefghijklmnopqrstuvwxyz_");

		if (k && q[1 + k] == '=')
			return (size_t)(q - p);
	}
	return strlen(p);
}

/* An output's status() line "dest=D state=S since=...": D, S and the rest. */
static void split_status(const char *line, char *dest, char *state, char *rest, size_t cap)
{
	dest[0] = state[0] = rest[0] = '\0';
	for (line += strspn(line, " "); *line; line += strspn(line, " ")) {
		int len = (int)token_len(line);
		size_t n = strlen(rest);

		if (!strncmp(line, "dest=", 5))
			snprintf(dest, cap, "%.*s", len - 5, line + 5);
		else if (!strncmp(line, "state=", 6))
			snprintf(state, cap, "%.*s", len - 6, line + 6);
		else
			snprintf(rest + n, cap - n, "%s%.*s", n ? " " : "", len, line);
		line += len;
	}
}

static void print_instances(FILE *f, const struct snap *a, const struct snap *b, double seconds)
{
	char state[STATUS_MAX_INST][300], dest[256], st[256], rest[256];
	int nw = (int)strlen("OUTPUT"), pw = (int)strlen("PLUGIN"), sw = (int)strlen("STATE");

	for (size_t i = 0; i < b->ninst; i++) {
		const struct inst *o = &b->inst[i];

		nw = widest(nw, o->name);
		pw = widest(pw, o->plugin);
		if (!o->output)
			continue;
		split_status(o->status, dest, st, rest, sizeof(dest));
		if (o->v[OUT_FAILING])
			snprintf(state[i], sizeof(state[i]), "failing for %llu s", o->v[OUT_FAILING]);
		else
			snprintf(state[i], sizeof(state[i]), "delivering");
		if (st[0])
			snprintf(state[i] + strlen(state[i]), sizeof(state[i]) - strlen(state[i]), " (%s)", st);
		sw = widest(sw, state[i]);
	}
	fprintf(f, "%-*s %-*s %11s %10s %12s %12s %10s %12s\n", nw, "INPUT", pw, "PLUGIN", "DATAGRAMS/S",
	        "RECORDS/S", "DATAGRAMS", "RECORDS", "MALFORMED", "KERNEL_DROPS");
	for (size_t i = 0; i < b->ninst; i++) {
		const struct inst *in = &b->inst[i], *was = nfc_status_inst_find(a, 0, in->name);
		char dg[32], rec[32];

		if (in->output)
			continue;
		format_rate(dg, sizeof(dg), grown(was ? was->v[IN_DATAGRAMS] : 0, in->v[IN_DATAGRAMS]), seconds);
		format_rate(rec, sizeof(rec), grown(was ? was->v[IN_RECORDS] : 0, in->v[IN_RECORDS]), seconds);
		fprintf(f, "%-*s %-*s %11s %10s %12llu %12llu %10llu %12llu\n", nw, in->name, pw, in->plugin, dg, rec,
		        in->v[IN_DATAGRAMS], in->v[IN_RECORDS], in->v[IN_MALFORMED], in->v[IN_KERNEL_DROPS]);
	}
	fprintf(f, "\n%-*s %-*s %-*s %10s %10s %12s %10s  %s\n", nw, "OUTPUT", pw, "PLUGIN", sw, "STATE", "QUEUED",
	        "SPOOL", "DELIVERED", "FAILED", "DESTINATION");
	for (size_t i = 0; i < b->ninst; i++) {
		const struct inst *o = &b->inst[i];
		unsigned long long failed = 0;

		if (!o->output)
			continue;
		for (int c = OUT_LOSSES; c < NCOLS; c++)
			failed += o->v[c];
		split_status(o->status, dest, st, rest, sizeof(dest));
		fprintf(f, "%-*s %-*s %-*s %10llu %10llu %12llu %10llu  %s\n", nw, o->name, pw, o->plugin, sw,
		        state[i], o->v[OUT_QUEUED], o->v[OUT_SPOOL], o->v[OUT_DELIVERED], failed, dest[0] ? dest : "-");
		if (rest[0])
			fprintf(f, "%*s%s\n", nw + 1, "", rest);
	}
}

static int print_exporters(FILE *f, const struct snap *a, const struct snap *b, double seconds, time_t now)
{
	struct exporter *rows = calloc(b->ns ? b->ns : 1, sizeof(*rows));
	int aw = (int)strlen("EXPORTER"), vw = (int)strlen("VERSIONS"), dw = (int)strlen("DOMAINS");
	size_t n;

	if (!rows) {
		fprintf(f, "out of memory\n");
		return -1;
	}
	n = merge_exporters(a, b, rows);
	for (size_t i = 0; i < n; i++) {
		aw = widest(aw, rows[i].s->addr);
		vw = widest(vw, rows[i].versions_s);
		dw = widest(dw, rows[i].domains_s);
	}
	fprintf(f, "\n%-*s %-*s %-*s %9s %10s %12s %8s %11s  %s\n", aw, "EXPORTER", vw, "VERSIONS", dw, "DOMAINS",
	        "TEMPLATES", "RECORDS/S", "RECORDS", "GAPS", "NO_TEMPLATE", "LAST SEEN");
	for (size_t i = 0; i < n; i++) {
		const struct exporter *r = &rows[i];
		char rate[32], seen[32];

		format_rate(rate, sizeof(rate), r->grown, seconds);
		format_ago(seen, sizeof(seen), r->v[E_LAST_SEEN], now);
		fprintf(f, "%-*s %-*s %-*s %9llu %10s %12llu %8llu %11llu  %s\n", aw, r->s->addr, vw, r->versions_s, dw,
		        r->domains_s, r->v[E_TEMPLATES], rate, r->v[E_RECORDS], r->v[E_MISSING], r->v[E_NO_TEMPLATE],
		        seen);
	}
	if (!n)
		fprintf(f, "(no exporter seen yet)\n");
	free(rows);
	return 0;
}

int nfc_status_render(FILE *f, const char *spec, char *before, char *after, double seconds, time_t now)
{
	struct snap *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	const char *bad = NULL;
	int rc = 1;

	if (!a || !b) {
		fprintf(f, "out of memory\n");
		goto free_snaps;
	}
	if (nfc_status_parse(a, before) < 0)
		bad = before;
	else if (nfc_status_parse(b, after) < 0)
		bad = after;
	if (bad) {
		fprintf(f, "%s did not answer the metrics of netflow-concentrator (%.*s)\n", spec,
		        (int)strcspn(bad, "\r\n") > 60 ? 60 : (int)strcspn(bad, "\r\n"), bad);
		goto free_snaps;
	}
	fprintf(f, "netflow-concentrator %s (plugin ABI %s), metrics at http://%s/metrics, rates over %.1f s\n\n",
	        b->version, b->abi, spec, seconds);
	print_instances(f, a, b, seconds);
	if (print_exporters(f, a, b, seconds, now) < 0)
		goto free_snaps;
	fprintf(f, "\nFAILED: records given up on (send errors, queue and spool overflow, refused by the output, lost "
	        "at shutdown).\nGAPS: what the exporters' sequence numbers say never reached us (v5 and IPFIX "
	        "count records, v9 datagrams).\n");
	rc = 0;
free_snaps:
	if (a)
		free(a->s);
	if (b)
		free(b->s);
	free(a);
	free(b);
	return rc;
}

/* ---- the two reads ---- */

int nfc_status(const char *spec)
{
	struct sockaddr_storage sa;
	struct nfc_buf before = { 0 }, after = { 0 };
	struct timespec t0, t1, until;
	char err[256];
	int rc = 1;

	if (nfc_metrics_parse(spec, &sa, err, sizeof(err)) < 0) {
		printf("[core] metrics=%s: %s\n", spec, err);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	until = nfc_mono_after(NFC_STATUS_INTERVAL_MS * 1000000LL);
	if (nfc_status_fetch(&sa, &before, err, sizeof(err)) < 0)
		goto unreachable;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (nfc_status_fetch(&sa, &after, err, sizeof(err)) < 0)
		goto unreachable;
	rc = nfc_status_render(stdout, spec, before.data, after.data,
	                       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, time(NULL));
	goto free_bufs;
unreachable:
	printf("cannot reach the daemon's metrics endpoint %s: %s (is it running with this configuration?)\n", spec,
	       err);
free_bufs:
	nfc_buf_free(&before);
	nfc_buf_free(&after);
	return rc;
}
