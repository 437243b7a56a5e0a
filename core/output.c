/* Outputs: a bounded queue of batches per output instance, and its thread,
 * which encodes batches into chunks and has core/deliver.c offer them to the
 * plugin. Consuming the queue never waits on a send: while the output backs
 * off, the thread keeps encoding until the delivery window is full. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "nfc.h"
#include "outq.h"
#include "spool.h"

#define RING_MAX (1u << 20)
#define LINGER_NS 2000000L /* wait this long for more records before a small send */
#define IDLE_NS 1000000000L /* idle() after this long without work */
#define THROTTLE_POLL_NS 50000000L /* a throttled input re-checks shutdown this often */
/* A live input's batch that finds the queue full waits this long for room
 * (while the output thread consumes: delivering, or spooling) before it is
 * dropped: a woken input thread preempts the output thread, which on a busy
 * core falls behind in bursts; the socket buffer holds the traffic
 * meanwhile. */
#define LIVE_ROOM_WAIT_NS 20000000L

/* Every prepared queue, for nfc_worker_throttle(). Changed by the main
 * thread only, before the input workers start (prepare) and after they
 * have been joined (drain_and_stop), so the workers read it unlocked. */
static struct nfc_outq *queues;

/* Set on the thread of an input worker that called nfc_worker_throttle():
 * such an input can wait, so a batch that finds a queue full waits for
 * room instead of being dropped (the throttle keeps queues half full, but
 * one batch may be larger than the other half of a small queue). */
static _Thread_local struct nfc_worker *waiting_worker;

int nfc_mono_past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

struct timespec nfc_mono_after(long long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ns += t.tv_nsec;
	t.tv_sec += (time_t)(ns / 1000000000LL);
	t.tv_nsec = (long)(ns % 1000000000LL);
	return t;
}

/* The output's spool, state_dir/spool/NAME-PLUGIN (a plugin change starts
 * a new one: the bytes are that plugin's encoding). Without it the output
 * keeps working, its records in memory only. */
static void spool_open(struct nfc_ctx *out, struct nfc_outq *q, const struct nfc_outq_cfg *cfg)
{
	struct nfc_spool_cfg sc = { 0 };
	struct nfc_spool_stats st;
	char dir[4096], err[512] = "";

	if (!cfg->spool_max || !cfg->state_dir || !*cfg->state_dir)
		return;
	snprintf(dir, sizeof(dir), "%s/spool", cfg->state_dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		nfc_log(out, NFC_LOG_WARN, "no disk spool: cannot create %s: %s (set [core] state_dir to a "
		        "writable directory); records wait in memory only", dir, strerror(errno));
		return;
	}
	snprintf(dir, sizeof(dir), "%s/spool/%s-%s", cfg->state_dir, out->name, out->plugin->name);
	sc.dir = dir;
	sc.max_bytes = cfg->spool_max;
	if (nfc_spool_open(&q->spool, &sc, err, sizeof(err)) < 0) {
		nfc_log(out, NFC_LOG_WARN, "no disk spool: %s; records wait in memory only", err);
		q->spool = NULL;
		return;
	}
	nfc_spool_stats(q->spool, &st);
	if (err[0])
		nfc_log(out, st.corrupt_frames || st.torn_tails || st.foreign_files ? NFC_LOG_WARN : NFC_LOG_INFO,
		        "%s", err); /* "spool DIR: N chunk(s), ..." */
	if (st.chunks) {
		q->spooling = 1;
		nfc_log(out, NFC_LOG_INFO, "%llu records in the spool from before are delivered first",
		        (unsigned long long)st.records);
	}
}

int nfc_output_prepare(struct nfc_ctx *out, const struct nfc_outq_cfg *cfg)
{
	struct nfc_outq *q = calloc(1, sizeof(*q));
	pthread_condattr_t attr;

	if (!q)
		return NFC_ENOMEM;
	q->slot = nfc_thread_slot_alloc();
	if (q->slot < 0)
		goto fail;
	q->max_records = cfg->queue_records;
	q->max_bytes = cfg->queue_memory;
	q->cap = cfg->queue_records < RING_MAX ? cfg->queue_records : RING_MAX;
	if (q->cap < 16)
		q->cap = 16;
	q->ring = calloc(q->cap, sizeof(*q->ring));
	q->drain_timeout_ms = cfg->drain_timeout_ms;
	if (!q->ring)
		goto fail;
	nfc_dlv_init(q);
	spool_open(out, q, cfg);
	pthread_mutex_init(&q->lock, NULL);
	/* Waits are measured on the monotonic clock: a step of the wall
	 * clock (NTP) must not stretch a backoff or an idle wait. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &attr);
	pthread_cond_init(&q->room, &attr);
	pthread_condattr_destroy(&attr);
	out->q = q;
	q->next = queues;
	queues = q;
	return NFC_OK;
fail:
	free(q->ring);
	free(q);
	return NFC_ENOMEM;
}

int nfc_output_push(struct nfc_ctx *out, struct nfc_batch *b)
{
	struct nfc_outq *q = out->q;
	size_t fp = nfc_batch_footprint(b), dropped = 0;
	struct timespec until, live_until = { 0, 0 };
	int full, warn = 0;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		/* An empty queue takes any batch, however large: queue_records
		 * bounds what waits, it must not refuse a batch bigger than
		 * itself. */
		full = q->count == q->cap || (q->count && (q->records + b->nrec > q->max_records ||
		                                            q->bytes + fp > q->max_bytes));
		if (!full || q->draining)
			break;
		if (waiting_worker) {
			if (nfc_worker_stopping(waiting_worker))
				break;
			until = nfc_mono_after(THROTTLE_POLL_NS);
		} else {
			/* a live input: for a bounded time, and only while the
			 * output thread consumes (an outage without a spool to
			 * take the records would stall the input) */
			if (!nfc_dlv_consuming(q))
				break;
			if (!live_until.tv_sec)
				live_until = nfc_mono_after(LIVE_ROOM_WAIT_NS);
			else if (nfc_mono_past(&live_until))
				break;
			until = live_until;
		}
		q->room_waiters++;
		pthread_cond_timedwait(&q->room, &q->lock, &until);
		q->room_waiters--;
	}
	if (!full) {
		q->ring[(q->head + q->count) % q->cap] = b;
		q->count++;
		q->records += b->nrec;
		q->bytes += fp;
		if (q->count == 1)
			pthread_cond_signal(&q->cond);
	} else {
		/* one warning per 10 s of overflow, with what it dropped since */
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		q->overflow_since += b->nrec;
		if (!q->warned_at || now.tv_sec - q->warned_at >= 10) {
			warn = 1;
			dropped = q->overflow_since;
			q->overflow_since = 0;
			q->warned_at = now.tv_sec;
		}
	}
	pthread_mutex_unlock(&q->lock);
	if (full) {
		nfc_counter_add(out, NFC_C_OUT_OVERFLOW, b->nrec);
		if (warn)
			nfc_log(out, NFC_LOG_WARN, "queue full (%zu records or %zu MiB): %zu records dropped "
			        "(counted as queue_overflow) until the output catches up", q->max_records,
			        q->max_bytes >> 20, dropped);
		return -1;
	}
	return 0;
}

size_t nfc_output_queued(const struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->records + q->inflight + q->chunk_records;
	pthread_mutex_unlock(&q->lock);
	return n;
}

long nfc_output_failing_for(const struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	struct timespec now;
	long s = 0;

	if (!q)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&q->lock);
	if (q->failing_since.tv_sec)
		s = (long)(now.tv_sec - q->failing_since.tv_sec);
	pthread_mutex_unlock(&q->lock);
	return s;
}

uint64_t nfc_output_spool_records(const struct nfc_ctx *out)
{
	struct nfc_spool_stats st;

	if (!out->q || !out->q->spool)
		return 0;
	nfc_spool_stats(out->q->spool, &st);
	return st.records;
}

/* More than half of the record or the memory bound is waiting. */
static int over_half(const struct nfc_outq *q)
{
	return q->count > 0 && (q->records > q->max_records / 2 || q->bytes > q->max_bytes / 2);
}

/* For inputs that can wait (a file): block while any output's queue is
 * over half full. The output thread signals `room` as it takes batches;
 * the timed wait bounds how late a shutdown is noticed. */
NFC_EXPORT void nfc_worker_throttle(struct nfc_worker *w)
{
	waiting_worker = w;
	for (struct nfc_outq *q = queues; q; q = q->next) {
		pthread_mutex_lock(&q->lock);
		while (over_half(q) && !q->draining && !nfc_worker_stopping(w)) {
			struct timespec until = nfc_mono_after(THROTTLE_POLL_NS);

			q->room_waiters++;
			pthread_cond_timedwait(&q->room, &q->lock, &until);
			q->room_waiters--;
		}
		pthread_mutex_unlock(&q->lock);
	}
}

struct nfc_batch *nfc_outq_pop(struct nfc_outq *q)
{
	struct nfc_batch *b = q->ring[q->head];

	q->head = (q->head + 1) % q->cap;
	q->count--;
	q->records -= b->nrec;
	q->bytes -= nfc_batch_footprint(b);
	if (q->room_waiters)
		pthread_cond_broadcast(&q->room);
	return b;
}

static void earliest(struct timespec *t, const struct timespec *u)
{
	if (u->tv_sec < t->tv_sec || (u->tv_sec == t->tv_sec && u->tv_nsec < t->tv_nsec))
		*t = *u;
}

/* Take the oldest batch off the ring, encode it into the open chunk, and
 * close the chunk when it is large enough. Lock held (released while
 * encoding). */
static void take_batch(struct nfc_ctx *out, struct timespec *linger_until)
{
	struct nfc_outq *q = out->q;
	struct nfc_batch *b = nfc_outq_pop(q);

	q->inflight = b->nrec;
	/* while spooling, latency does not matter: full chunks compress better */
	if (nfc_dlv_open_len(q) == 0)
		*linger_until = nfc_mono_after(q->spooling ? 1000000000LL : LINGER_NS);
	pthread_mutex_unlock(&q->lock);
	nfc_dlv_encode(out, b);
	nfc_batch_put(b);
	pthread_mutex_lock(&q->lock);
	if (nfc_dlv_open_len(q) >= NFC_CHUNK_BYTES)
		nfc_dlv_close(out);
}

static void *output_thread(void *arg)
{
	struct nfc_ctx *out = arg;
	struct nfc_outq *q = out->q;
	const struct nfc_output_ops *ops = out->plugin->output;
	struct timespec linger_until = { 0, 0 }, spool_at = { 0, 0 }, synced = { 0, 0 };

	nfc_thread_slot = q->slot;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		struct timespec until, idle_at;

		if (atomic_exchange(&q->reopen, 0) && ops->reopen) {
			/* what is encoded goes to the old file first */
			nfc_dlv_close(out);
			nfc_dlv_pump(out);
			pthread_mutex_unlock(&q->lock);
			ops->reopen(out->inst);
			pthread_mutex_lock(&q->lock);
		}
		if (q->draining && nfc_mono_past(&q->deadline))
			break;
		if (q->draining && q->spool) {
			/* SIGTERM: deliver for three quarters of drain_timeout, then
			 * (at once if the output is failing or already behind) put
			 * what is left on disk for the next start */
			if (!spool_at.tv_sec)
				spool_at = nfc_mono_after((long long)q->drain_timeout_ms * 750000LL);
			if ((q->backoff_ms || q->spooling || nfc_mono_past(&spool_at)) &&
			    !(q->count == 0 && nfc_dlv_empty(q) && q->npend == 0)) {
				nfc_dlv_spool_all(out);
				break;
			}
		}
		nfc_dlv_spool_step(out);
		if (q->spooling && nfc_mono_past(&synced)) {
			/* what went to the spool is made durable once a second */
			pthread_mutex_unlock(&q->lock);
			nfc_spool_sync(q->spool);
			pthread_mutex_lock(&q->lock);
			synced = nfc_mono_after(1000000000LL);
		}
		if (nfc_dlv_ready(q) || q->settled) {
			q->settled = 0;
			nfc_dlv_pump(out); /* offers, and frees what is settled */
			continue;
		}
		if (q->count && nfc_dlv_can_take(q)) {
			take_batch(out, &linger_until);
			continue;
		}
		/* Light traffic: a small chunk waits up to LINGER_NS for more
		 * batches, then goes out as it is. */
		if (nfc_dlv_open_len(q) && (q->draining || q->count || nfc_mono_past(&linger_until))) {
			nfc_dlv_close(out);
			continue;
		}
		if (q->draining && q->count == 0 && nfc_dlv_empty(q) && q->npend == 0)
			break;
		/* Nothing to do now: wait for a batch, a settlement, the end of
		 * the backoff or of the linger, the drain deadline, or idleness. */
		until = idle_at = nfc_mono_after(IDLE_NS);
		if (q->backoff_ms)
			earliest(&until, &q->retry_at);
		if (nfc_dlv_open_len(q))
			earliest(&until, &linger_until);
		if (q->draining)
			earliest(&until, &q->deadline);
		if (q->draining && spool_at.tv_sec)
			earliest(&until, &spool_at);
		if (pthread_cond_timedwait(&q->cond, &q->lock, &until) == ETIMEDOUT && ops->idle &&
		    until.tv_sec == idle_at.tv_sec && until.tv_nsec == idle_at.tv_nsec && !q->count &&
		    nfc_dlv_empty(q) && !q->draining) {
			pthread_mutex_unlock(&q->lock);
			ops->idle(out->inst);
			pthread_mutex_lock(&q->lock);
		}
	}
	/* The drain deadline passed (or everything is delivered): what is left
	 * is lost, and counted. */
	nfc_dlv_lose_all(out);
	while (q->count) {
		struct nfc_batch *b = nfc_outq_pop(q);

		nfc_counter_add(out, NFC_C_OUT_SHUTDOWN_LOST, b->nrec);
		nfc_batch_put(b);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

int nfc_output_start(struct nfc_ctx *out)
{
	int rc = pthread_create(&out->q->thread, NULL, output_thread, out);

	if (rc) {
		nfc_log(out, NFC_LOG_ERR, "cannot start the output thread: %s", strerror(rc));
		return NFC_ERROR;
	}
	out->q->started = 1;
	return NFC_OK;
}

void nfc_output_reopen(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;

	if (!q)
		return;
	atomic_store(&q->reopen, 1);
	pthread_mutex_lock(&q->lock);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* Start the drain: the thread sends what is queued, until the queue is empty
 * or the drain timeout passes, then exits. */
void nfc_output_drain_begin(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->draining) {
		pthread_mutex_unlock(&q->lock);
		return;
	}
	q->deadline = nfc_mono_after(q->drain_timeout_ms * 1000000LL);
	q->draining = 1;
	atomic_store(&out->abort_at_ms, (long long)q->deadline.tv_sec * 1000 + q->deadline.tv_nsec / 1000000);
	pthread_cond_broadcast(&q->cond);
	pthread_cond_broadcast(&q->room);
	pthread_mutex_unlock(&q->lock);
}

void nfc_output_drain_and_stop(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	uint64_t lost;

	if (!q)
		return;
	if (q->started) {
		nfc_output_drain_begin(out);
		pthread_join(q->thread, NULL);
		q->started = 0;
	}
	lost = nfc_counter_read(out, NFC_C_OUT_SHUTDOWN_LOST);
	if (lost)
		nfc_log(out, NFC_LOG_WARN, "%llu records could not be delivered before the drain timeout "
		        "and were lost", (unsigned long long)lost);
	if (out->started && out->plugin->output->stop)
		out->plugin->output->stop(out->inst);
	out->started = 0;
	nfc_dlv_free(q);
	if (q->spool && nfc_spool_close(q->spool) < 0)
		nfc_log(out, NFC_LOG_ERR, "the spool could not be synced at exit: %s", strerror(errno));
	free(q->ring);
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	pthread_cond_destroy(&q->room);
	for (struct nfc_outq **pp = &queues; *pp; pp = &(*pp)->next) {
		if (*pp == q) {
			*pp = q->next;
			break;
		}
	}
	free(q);
	out->q = NULL;
}
