/* nfc-spool-bench: the disk spool alone. Appends RECORDS flow records as
 * JSON lines (made by the core's encoder from softflowd-IPFIX-like records,
 * bench/flowgen.h) in chunks of 256 KiB, syncs, then drains them; once per
 * zstd level, or with LZ4 (what the output thread uses when it falls behind).
 * Prints write and drain rates (wall clock and CPU), bytes on
 * disk per record and what 30 million records would take. Reports,
 * asserts nothing.
 *
 *   nfc-spool-bench DIR [RECORDS [LEVEL|lz4...]]    default 3000000 records, levels 1 and 3, lz4
 *
 * DIR/level-N (DIR/lz4) is created for each run (it must not hold a spool already)
 * and emptied by the drain. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "flowgen.h"
#include "json.h"
#include "nfc.h"
#include "spool.h"

#define POOL 16384         /* distinct records: no repeat within a chunk */
#define CHUNK (256 * 1024) /* what the output thread appends */

struct pool {
	struct nfc_buf json; /* POOL lines */
	size_t off[POOL + 1];
};

static double now(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_pool(struct pool *p)
{
	size_t nf = sizeof(v4_fields) / sizeof(v4_fields[0]);
	struct nfc_field v6_fields[sizeof(v4_fields) / sizeof(v4_fields[0])];
	struct nfc_template *t4, *t6;
	uint8_t rec[128];
	struct nfc_origin o;
	int rc = 0;

	memcpy(v6_fields, v4_fields, sizeof(v6_fields));
	v6_fields[0] = (struct nfc_field){ "sourceIPv6Address", NFC_FIELD_IPV6, 16, 0, 27, 0, 0 };
	v6_fields[1] = (struct nfc_field){ "destinationIPv6Address", NFC_FIELD_IPV6, 16, 0, 28, 0, 0 };
	t4 = nfc_template_new(NULL, v4_fields, nf);
	t6 = nfc_template_new(NULL, v6_fields, nf);
	if (!t4 || !t6 || nfc_buf_init(&p->json, POOL * 600) < 0)
		return -1;
	memset(&o, 0, sizeof(o));
	o.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.17", o.addr);
	nfc_origin_text(&o);
	o.export_ms = 1764600900000ULL;
	for (size_t i = 0; i < POOL && !rc; i++) {
		int v6 = rnd() % 10 < 3;
		size_t len = make_record(rec, v6);

		p->off[i] = p->json.len;
		rc = nfc_json_record(v6 ? t6 : t4, rec, len, &o, &p->json) < 0 ||
		     nfc_buf_append(&p->json, "\n", 1) < 0;
	}
	p->off[POOL] = p->json.len;
	nfc_template_put(t4);
	nfc_template_put(t6);
	return rc ? -1 : 0;
}

/* Append `n` records in chunks of whole lines up to CHUNK bytes. */
static int write_all(struct nfc_spool *s, enum nfc_spool_pace pace, const struct pool *p, long n, double *bytes_in)
{
	static char chunk[CHUNK];
	size_t used = 0;
	uint32_t recs = 0;

	for (long i = 0; i < n; i++) {
		size_t k = (size_t)i % POOL, len = p->off[k + 1] - p->off[k];

		if (used + len > CHUNK) {
			if (nfc_spool_append(s, chunk, used, recs, pace) != NFC_OK)
				return -1;
			*bytes_in += (double)used;
			used = 0;
			recs = 0;
		}
		memcpy(chunk + used, p->json.data + p->off[k], len);
		used += len;
		recs++;
	}
	if (used && nfc_spool_append(s, chunk, used, recs, pace) != NFC_OK)
		return -1;
	*bytes_in += (double)used;
	return nfc_spool_sync(s);
}

/* One run: `what` is a zstd level or "lz4". */
static int run(const char *base, long n, const char *what, const struct pool *p)
{
	enum nfc_spool_pace pace = strcmp(what, "lz4") ? NFC_SPOOL_COMPACT : NFC_SPOOL_FAST;
	char dir[4096], err[512], name[32];
	struct nfc_spool_cfg cfg = { dir, 0, 0, pace == NFC_SPOOL_FAST ? 0 : atoi(what) };
	struct nfc_spool *s;
	struct nfc_spool_stats st;
	double t0, c0, tw, cw, td, cd, in = 0;
	const void *chunk;
	size_t len;
	uint32_t recs;
	long drained = 0;
	int rc;

	if (pace == NFC_SPOOL_FAST)
		snprintf(name, sizeof(name), "lz4");
	else
		snprintf(name, sizeof(name), "level %d", cfg.level);
	snprintf(dir, sizeof(dir), "%s/%s", base, pace == NFC_SPOOL_FAST ? "lz4" : name);
	for (char *c = strchr(dir + strlen(base), ' '); c; c = strchr(c, ' '))
		*c = '-';
	if (nfc_spool_open(&s, &cfg, err, sizeof(err)) != NFC_OK || err[0]) {
		fprintf(stderr, "nfc-spool-bench: %s: %s\n", dir, err[0] ? err : "cannot open");
		return -1;
	}
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	if (write_all(s, pace, p, n, &in) < 0) {
		perror("nfc-spool-bench: append");
		return -1;
	}
	tw = now(CLOCK_MONOTONIC) - t0;
	cw = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	nfc_spool_stats(s, &st);
	t0 = now(CLOCK_MONOTONIC);
	c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	while ((rc = nfc_spool_peek(s, &chunk, &len, &recs)) == 1) {
		drained += recs;
		nfc_spool_consume(s);
	}
	td = now(CLOCK_MONOTONIC) - t0;
	cd = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
	nfc_spool_close(s);
	if (rc < 0 || drained != n) {
		fprintf(stderr, "nfc-spool-bench: drained %ld of %ld records\n", drained, n);
		return -1;
	}
	printf("%s: %ld records, %.0f bytes of JSON per record, %llu chunks\n", name, n, in / (double)n,
	       (unsigned long long)st.chunks);
	printf("  write: %.2f s (%.2f s CPU), %.0f MB/s of JSON, %.2f M records/s (%.2f M/s per CPU second)\n",
	       tw, cw, in / tw / 1e6, (double)n / tw / 1e6, (double)n / cw / 1e6);
	printf("  drain: %.2f s (%.2f s CPU), %.0f MB/s of JSON, %.2f M records/s\n", td, cd, in / td / 1e6,
	       (double)n / td / 1e6);
	printf("  disk: %llu bytes, %.1f bytes per record (ratio %.1f); 30 M records: %.2f GB\n",
	       (unsigned long long)st.bytes, (double)st.bytes / (double)n, in / (double)st.bytes,
	       (double)st.bytes / (double)n * 30e6 / 1e9);
	return 0;
}

int main(int argc, char **argv)
{
	static struct pool p;
	static const char *const def_runs[] = { "1", "3", "lz4" };
	long n = argc > 2 ? atol(argv[2]) : 3000000;

	if (argc < 2 || n <= 0) {
		fprintf(stderr, "usage: nfc-spool-bench DIR [RECORDS [LEVEL|lz4...]]\n");
		return 2;
	}
	if (make_pool(&p) < 0) {
		fprintf(stderr, "nfc-spool-bench: setup failed\n");
		return 1;
	}
	mkdir(argv[1], 0700);
	if (argc > 3) {
		for (int i = 3; i < argc; i++)
			if (run(argv[1], n, argv[i], &p) < 0)
				return 1;
		return 0;
	}
	for (size_t i = 0; i < sizeof(def_runs) / sizeof(def_runs[0]); i++)
		if (run(argv[1], n, def_runs[i], &p) < 0)
			return 1;
	nfc_buf_free(&p.json);
	return 0;
}
