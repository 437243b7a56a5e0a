/* The output contract (core/output.c, core/deliver.c) against a mock output
 * plugin: partial sends resume where they stopped, NFC_RETRY backs off with
 * a growing wait, NFC_PENDING ranges settle from another thread in any
 * order (failed ones are offered again), a permanent failure drops and
 * counts, and at shutdown what is not settled is counted lost. In every
 * case each record's bytes reach the mock exactly once in order (or are
 * counted), and delivered + counted losses = records pushed. With the
 * destination away, a live input waits while the output thread spools. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cunit_main.h"
#include "loader.h"
#include "nfc.h"
#include "outq.h"

/* What the mock does on each send(). */
enum mode { M_ALL, M_PARTIAL, M_RETRY, M_PENDING, M_FATAL, M_PENDING_NEVER, M_SETTLE_INSIDE, M_DOWN };

static struct {
	pthread_mutex_t lock;
	enum mode mode;
	unsigned long next_id;   /* records encoded so far: record k is "R<k>xxx...\n" */
	char *got;               /* bytes delivered (OK, or PENDING settled ok), in settle order */
	size_t got_len, got_cap;
	unsigned calls, retries_left, fatal_at_call;
	struct timespec call_time[64];
	/* PENDING: ranges handed over, settled by the settler thread */
	struct { uint64_t off; size_t len; const char *p; int failed_once; } pend[1024];
	size_t npend, nsettled;
	int stop_settler;
	struct nfc_ctx *ctx;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void got_append(const char *p, size_t n)
{
	if (M.got_len + n > M.got_cap) {
		M.got_cap = (M.got_len + n) * 2;
		M.got = realloc(M.got, M.got_cap);
	}
	memcpy(M.got + M.got_len, p, n);
	M.got_len += n;
}

static int mock_encode(void *inst, const struct nfc_batch *b, struct nfc_buf *out)
{
	size_t n = nfc_batch_count(b);

	for (size_t i = 0; i < n; i++) {
		/* 64 bytes a record, so a few thousand fill several chunks */
		char rec[65];
		int l = snprintf(rec, sizeof(rec), "R%lu", M.next_id++);

		memset(rec + l, 'x', 63 - (size_t)l);
		rec[63] = '\n';
		nfc_buf_append(out, rec, 64);
	}
	return (int)n;
}

static int mock_send(void *inst, const char *p, size_t len, uint64_t off, size_t *consumed)
{
	int rc = NFC_OK;

	pthread_mutex_lock(&M.lock);
	if (M.calls < 64)
		clock_gettime(CLOCK_MONOTONIC, &M.call_time[M.calls]);
	M.calls++;
	switch (M.mode) {
	case M_ALL:
		*consumed = len;
		break;
	case M_PARTIAL: /* 7 bytes at a time: records are cut between calls */
		*consumed = len < 7 ? len : 7;
		break;
	case M_RETRY: /* some bytes, then a transient failure, a few times */
		if (M.retries_left) {
			M.retries_left--;
			*consumed = len / 3;
			rc = NFC_RETRY;
		} else {
			*consumed = len;
		}
		break;
	case M_DOWN: /* the destination is away: nothing taken, ever */
		*consumed = 0;
		rc = NFC_RETRY;
		break;
	case M_FATAL:
		if (M.calls == M.fatal_at_call) {
			*consumed = 0;
			rc = NFC_ERROR;
		} else {
			*consumed = len;
		}
		break;
	case M_SETTLE_INSIDE:
		/* the answer overtakes send()'s return: settled before the core
		 * has recorded the range as pending (every third one fails once) */
		*consumed = len;
		{
			int fail = M.calls % 3 == 0;

			if (!fail)
				got_append(p, len);
			pthread_mutex_unlock(&M.lock);
			nfc_output_settle(M.ctx, off, len, fail ? NFC_RETRY : NFC_OK);
			pthread_mutex_lock(&M.lock);
		}
		rc = NFC_PENDING;
		break;
	case M_PENDING:
	case M_PENDING_NEVER:
		*consumed = len;
		M.pend[M.npend].off = off;
		M.pend[M.npend].len = len;
		M.pend[M.npend].p = p;
		M.pend[M.npend].failed_once = 0;
		M.npend++;
		rc = NFC_PENDING;
		break;
	}
	if (rc == NFC_OK || (rc == NFC_RETRY && *consumed))
		got_append(p, *consumed);
	pthread_mutex_unlock(&M.lock);
	return rc;
}

/* Settles pending ranges newest first (out of order), failing each range
 * once the first time it sees it when its offset is odd-numbered in the
 * list; a failed range comes back through send() as a new pending one. */
static void *settler(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&M.lock);
		if (M.stop_settler) {
			pthread_mutex_unlock(&M.lock);
			return NULL;
		}
		if (M.npend > M.nsettled) {
			size_t i = M.npend - 1;

			while (i > M.nsettled && M.pend[i].len == 0)
				i--;
			if (M.pend[i].len) {
				uint64_t off = M.pend[i].off;
				size_t len = M.pend[i].len;
				int ok = !(i % 2 == 1 && !M.pend[i].failed_once);

				if (ok)
					got_append(M.pend[i].p, len);
				M.pend[i].len = 0;
				/* settle without our lock: the core may call send() meanwhile */
				pthread_mutex_unlock(&M.lock);
				nfc_output_settle(M.ctx, off, len, ok ? NFC_OK : NFC_RETRY);
				pthread_mutex_lock(&M.lock);
			}
			while (M.nsettled < M.npend && M.pend[M.nsettled].len == 0)
				M.nsettled++;
		}
		pthread_mutex_unlock(&M.lock);
		usleep(200);
	}
}

static struct nfc_loaded_plugin lp;

static struct nfc_ctx *mock_output_cfg(const struct nfc_outq_cfg *cfg)
{
	struct nfc_ctx *ctx;

	memset(&lp, 0, sizeof(lp));
	lp.d.size = sizeof(lp.d);
	lp.d.kind = NFC_KIND_OUTPUT;
	lp.d.name = "mock";
	lp.d.version = "0";
	lp.out_ops.size = sizeof(lp.out_ops);
	lp.out_ops.encode = mock_encode;
	lp.out_ops.send = mock_send;
	lp.d.output = &lp.out_ops;
	ctx = nfc_ctx_new("mock", &lp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL_FATAL(nfc_output_prepare(ctx, cfg), NFC_OK);
	CU_ASSERT_EQUAL_FATAL(nfc_output_start(ctx), NFC_OK);
	M.ctx = ctx;
	return ctx;
}

static struct nfc_ctx *mock_output(void)
{
	struct nfc_outq_cfg cfg = { 1u << 20, 512u << 20, 3000, NULL, 0 };

	return mock_output_cfg(&cfg);
}

static void reset(enum mode mode)
{
	free(M.got);
	M.got = NULL;
	M.got_len = M.got_cap = 0;
	M.mode = mode;
	M.next_id = 0;
	M.calls = M.retries_left = M.fatal_at_call = 0;
	M.npend = M.nsettled = 0;
	M.stop_settler = 0;
}

/* Push `nbatches` batches of `per` (record-less, the mock encodes ids). */
static void push(struct nfc_ctx *ctx, size_t nbatches, size_t per)
{
	for (size_t i = 0; i < nbatches; i++) {
		struct nfc_batch *b = nfc_batch_get();

		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		b->nrec = per;
		CU_ASSERT_EQUAL(nfc_output_push(ctx, b), 0);
	}
}

/* The bytes the mock received are exactly R0..R(n-1), each once, in order
 * (sorted = in order for the pending test, whose settles are reordered). */
static void check_stream(unsigned long n, int sorted)
{
	unsigned long want = 0;
	char *p = M.got, *end = M.got + M.got_len;
	unsigned char *seen = calloc(n ? n : 1, 1);

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		unsigned long id;

		CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
		CU_ASSERT_EQUAL_FATAL(*p, 'R');
		id = strtoul(p + 1, NULL, 10);
		CU_ASSERT_FATAL(id < n);
		CU_ASSERT_EQUAL(seen[id], 0);
		seen[id] = 1;
		if (sorted)
			CU_ASSERT_EQUAL(id, want);
		want++;
		p = nl + 1;
	}
	CU_ASSERT_EQUAL(want, n);
	free(seen);
}

static uint64_t counter(struct nfc_ctx *ctx, int id)
{
	return nfc_counter_read(ctx, id);
}

static void wait_delivered(struct nfc_ctx *ctx, uint64_t n, int seconds)
{
	for (int i = 0; i < seconds * 100 && counter(ctx, NFC_C_OUT_RECORDS) < n; i++)
		usleep(10000);
}

/* Drain and stop; the counters stay readable until nfc_ctx_free(). */
static void finish(struct nfc_ctx *ctx)
{
	nfc_output_drain_and_stop(ctx);
}

static void test_partial_sends(void)
{
	struct nfc_ctx *ctx;

	reset(M_PARTIAL);
	ctx = mock_output();
	push(ctx, 20, 50);
	wait_delivered(ctx, 1000, 10);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_RECORDS), 1000);
	finish(ctx); /* the output thread has ended: M is ours */
	CU_ASSERT(M.calls > 100); /* 7 bytes a call */
	check_stream(1000, 1);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_SHUTDOWN_LOST), 0);
	nfc_ctx_free(ctx);
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void test_retry_backoff(void)
{
	struct nfc_ctx *ctx;

	reset(M_RETRY);
	M.retries_left = 4;
	ctx = mock_output();
	push(ctx, 4, 100);
	wait_delivered(ctx, 400, 10);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_RECORDS), 400);
	finish(ctx); /* the output thread has ended: M is ours */
	/* waits of 100, 200, 400, 800 ms, each jittered into its second half */
	CU_ASSERT_FATAL(M.calls >= 5);
	for (int i = 1; i <= 4; i++) {
		long want = 100L << (i - 1), got = ms_between(&M.call_time[i - 1], &M.call_time[i]);

		CU_ASSERT(got >= want / 2 - 5);
		CU_ASSERT(got <= want + 250); /* a loaded machine wakes late, never early */
	}
	check_stream(400, 1);
	nfc_ctx_free(ctx);
}

static void test_pending_settle(void)
{
	struct nfc_ctx *ctx;
	pthread_t th;

	reset(M_PENDING);
	ctx = mock_output();
	pthread_create(&th, NULL, settler, NULL);
	push(ctx, 200, 300); /* many chunks: several ranges in flight */
	wait_delivered(ctx, 60000, 20);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_RECORDS), 60000);
	finish(ctx);
	pthread_mutex_lock(&M.lock);
	M.stop_settler = 1;
	pthread_mutex_unlock(&M.lock);
	pthread_join(th, NULL);
	CU_ASSERT(M.npend > 2);
	check_stream(60000, 0);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_SEND_ERRORS), 0);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_SHUTDOWN_LOST), 0);
	nfc_ctx_free(ctx);
}

static void test_settle_inside_send(void)
{
	struct nfc_ctx *ctx;

	reset(M_SETTLE_INSIDE);
	ctx = mock_output();
	push(ctx, 100, 300);
	wait_delivered(ctx, 30000, 20);
	finish(ctx);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_RECORDS), 30000);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_SHUTDOWN_LOST), 0);
	CU_ASSERT(M.calls > 3);
	check_stream(30000, 0);
	nfc_ctx_free(ctx);
}

static void test_fatal_counts(void)
{
	struct nfc_ctx *ctx;
	uint64_t ok, err;

	reset(M_FATAL);
	M.fatal_at_call = 2;
	ctx = mock_output();
	push(ctx, 30, 1000);
	for (int i = 0; i < 1000; i++) {
		ok = counter(ctx, NFC_C_OUT_RECORDS);
		err = counter(ctx, NFC_C_OUT_SEND_ERRORS);
		if (ok + err == 30000)
			break;
		usleep(10000);
	}
	finish(ctx);
	ok = counter(ctx, NFC_C_OUT_RECORDS);
	err = counter(ctx, NFC_C_OUT_SEND_ERRORS);
	CU_ASSERT(err > 0);
	CU_ASSERT(ok > 0);
	CU_ASSERT_EQUAL(ok + err, 30000);
	/* the mock has exactly the delivered records' bytes */
	{
		size_t lines = 0;

		for (size_t i = 0; i < M.got_len; i++)
			lines += M.got[i] == '\n';
		CU_ASSERT_EQUAL(lines, ok);
	}
	nfc_ctx_free(ctx);
}

/* The destination away, a spool under it and a small queue: a live input
 * (this thread, not a throttled worker) that finds the queue full waits for
 * the output thread, which keeps consuming into its window and then the
 * spool; nothing is dropped, and at shutdown everything is on disk. */
static void test_spool_backpressure(void)
{
	char dir[] = "/tmp/nfc-deliver-test.XXXXXX", cmd[64];
	struct nfc_outq_cfg cfg = { 2000, 512u << 20, 3000, dir, 1u << 30 };
	struct nfc_ctx *ctx;
	const size_t total = 300000; /* 19 MB encoded: past the 8 MiB window */

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	reset(M_DOWN);
	ctx = mock_output_cfg(&cfg);
	push(ctx, total / 100, 100);
	finish(ctx);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_OVERFLOW), 0);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_SPOOLED), total);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_RECORDS), 0);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_SHUTDOWN_LOST), 0);
	nfc_ctx_free(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_shutdown_unsettled(void)
{
	struct nfc_ctx *ctx;
	struct timespec a, b;

	reset(M_PENDING_NEVER);
	ctx = mock_output();
	push(ctx, 10, 100);
	for (int i = 0; i < 500; i++) {
		size_t n;

		pthread_mutex_lock(&M.lock);
		n = M.npend;
		pthread_mutex_unlock(&M.lock);
		if (n)
			break;
		usleep(10000);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	nfc_output_drain_and_stop(ctx); /* drain_timeout 3 s: nothing settles */
	clock_gettime(CLOCK_MONOTONIC, &b);
	CU_ASSERT(ms_between(&a, &b) >= 2900);
	CU_ASSERT(ms_between(&a, &b) < 5000);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_RECORDS), 0);
	CU_ASSERT_EQUAL(counter(ctx, NFC_C_OUT_SHUTDOWN_LOST), 1000);
	nfc_ctx_free(ctx);
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "partial sends resume where they stopped", test_partial_sends },
		{ "NFC_RETRY backs off exponentially with jitter", test_retry_backoff },
		{ "NFC_PENDING settled out of order, failures offered again", test_pending_settle },
		{ "a settlement that overtakes send()'s answer", test_settle_inside_send },
		{ "a permanent failure drops and counts", test_fatal_counts },
		{ "unsettled at the drain deadline: counted lost", test_shutdown_unsettled },
		{ "destination away: a full queue waits for the spool, drops nothing", test_spool_backpressure },
		{ NULL, NULL }
	};

	return nfc_run_tests("deliver", tests);
}
