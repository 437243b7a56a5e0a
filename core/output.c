/* Outputs: a bounded queue of batches per output instance, and its thread,
 * which encodes batches into one large buffer and sends it. Retry with
 * backoff belongs here, so every output plugin gets it for free. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "nfc.h"

#define SEND_THRESHOLD (512 * 1024) /* send once this much is encoded */
#define RING_MAX (1u << 20)
#define LINGER_NS 2000000L /* wait this long for more records before a small send */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define THROTTLE_POLL_NS 50000000L /* a throttled input re-checks shutdown this often */
/* A live input's batch that finds the queue full waits this long for room
 * (while the output is not backing off) before it is dropped: a woken input
 * thread preempts the output thread, which on a busy core falls behind in
 * bursts; the socket buffer holds the traffic meanwhile. */
#define LIVE_ROOM_WAIT_NS 20000000L

struct nfc_outq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nfc_batch **ring;
	size_t cap, head, count;
	size_t records, max_records;
	size_t bytes, max_bytes; /* footprint of the batches waiting */
	int draining;
	struct timespec deadline;
	unsigned drain_timeout_ms;
	pthread_t thread;
	int started;
	struct nfc_buf buf;
	size_t buf_records;
	int slot; /* counter row of the output thread */
	time_t warned_at;      /* last queue-full warning (monotonic s) */
	size_t overflow_since; /* records dropped since that warning */
	size_t inflight;       /* records taken off the ring, not yet in buf */
	/* Inputs that can wait (nfc_worker_throttle) sleep on `room`, which the
	 * output thread signals when it takes a batch off and one is waiting. */
	pthread_cond_t room;
	unsigned room_waiters;
	int retrying; /* deliver() is backing off: no live input waits for room */
	atomic_int reopen; /* SIGHUP: call the plugin's reopen() */
	struct nfc_outq *next; /* the list of prepared queues */
};

/* Every prepared queue, for nfc_worker_throttle(). Changed by the main
 * thread only, before the input workers start (prepare) and after they
 * have been joined (drain_and_stop), so the workers read it unlocked. */
static struct nfc_outq *queues;

/* Set on the thread of an input worker that called nfc_worker_throttle():
 * such an input can wait, so a batch that finds a queue full waits for
 * room instead of being dropped (the throttle keeps queues half full, but
 * one batch may be larger than the other half of a small queue). */
static _Thread_local struct nfc_worker *waiting_worker;

/* CLOCK_MONOTONIC now plus `ns` nanoseconds (the clock of q->cond). */
static struct timespec mono_after(long long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ns += t.tv_nsec;
	t.tv_sec += (time_t)(ns / 1000000000LL);
	t.tv_nsec = (long)(ns % 1000000000LL);
	return t;
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
	if (!q->ring || nfc_buf_init(&q->buf, 2 * SEND_THRESHOLD) < 0)
		goto fail;
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
			until = mono_after(THROTTLE_POLL_NS);
		} else {
			/* a live input: for a bounded time, and not while the
			 * output backs off (an outage would stall the input) */
			struct timespec now;

			if (q->retrying)
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (!live_until.tv_sec)
				live_until = mono_after(LIVE_ROOM_WAIT_NS);
			else if (now.tv_sec > live_until.tv_sec ||
			         (now.tv_sec == live_until.tv_sec && now.tv_nsec >= live_until.tv_nsec))
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
	n = q->records + q->inflight + q->buf_records;
	pthread_mutex_unlock(&q->lock);
	return n;
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
			struct timespec until = mono_after(THROTTLE_POLL_NS);

			q->room_waiters++;
			pthread_cond_timedwait(&q->room, &q->lock, &until);
			q->room_waiters--;
		}
		pthread_mutex_unlock(&q->lock);
	}
}

static long ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* Sleep up to ms (less when a drain deadline comes first), waking early when
 * a drain starts; returns 1 when the drain deadline has passed. */
static int backoff_wait(struct nfc_outq *q, long ms)
{
	struct timespec until;
	int past;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		long wait = ms;

		if (q->draining) {
			long left = ms_until(&q->deadline);

			if (left <= 0)
				break;
			if (left < wait)
				wait = left;
		}
		until = mono_after(wait * 1000000LL);
		q->retrying = 1;
		if (pthread_cond_timedwait(&q->cond, &q->lock, &until) == ETIMEDOUT)
			break;
		if (!q->draining)
			continue; /* woken by a push: keep waiting out the backoff */
		ms = wait; /* a drain began: recompute against its deadline */
	}
	past = q->draining && ms_until(&q->deadline) <= 0;
	pthread_mutex_unlock(&q->lock);
	return past;
}

/* Deliver the encoded buffer, retrying transient failures with backoff. */
static void deliver(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	const struct nfc_output_ops *ops = out->plugin->output;
	long backoff = BACKOFF_MIN_MS;
	int rc;

	if (q->buf.len == 0) {
		/* records the plugin encoded as no bytes: nothing to send */
		nfc_counter_add(out, NFC_C_OUT_RECORDS, q->buf_records);
		pthread_mutex_lock(&q->lock);
		q->buf_records = 0;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	for (;;) {
		rc = ops->send(out->inst, q->buf.data, q->buf.len);
		if (rc == NFC_OK) {
			nfc_counter_add(out, NFC_C_OUT_RECORDS, q->buf_records);
			nfc_counter_add(out, NFC_C_OUT_BYTES, q->buf.len);
			break;
		}
		if (rc < 0) {
			nfc_counter_add(out, NFC_C_OUT_SEND_ERRORS, q->buf_records);
			nfc_log(out, NFC_LOG_ERR, "send failed permanently: %zu records dropped", q->buf_records);
			break;
		}
		if (backoff_wait(q, backoff)) {
			nfc_counter_add(out, NFC_C_OUT_SHUTDOWN_LOST, q->buf_records);
			break;
		}
		nfc_log(out, NFC_LOG_DEBUG, "send will be retried (waited %ld ms)", backoff);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	pthread_mutex_lock(&q->lock);
	q->buf.len = 0;
	q->buf_records = 0;
	q->retrying = 0;
	pthread_mutex_unlock(&q->lock);
}

/* Append a batch to the send buffer, accounting for every record: encoded
 * (waiting in the buffer), refused by the plugin, or failed. */
static void encode(struct nfc_ctx *out, const struct nfc_batch *b)
{
	struct nfc_outq *q = out->q;
	size_t before = q->buf.len, n = b->nrec;
	int rc = out->plugin->output->encode(out->inst, b, &q->buf);

	if (rc < 0) {
		pthread_mutex_lock(&q->lock);
		q->inflight = 0;
		pthread_mutex_unlock(&q->lock);
		nfc_buf_truncate(&q->buf, before);
		nfc_counter_add(out, NFC_C_OUT_SEND_ERRORS, n);
		nfc_log_remote(out, NFC_LOG_ERR, "encoding %zu records failed (%d): dropped", n, rc);
		return;
	}
	if ((size_t)rc > n)
		rc = (int)n;
	if ((size_t)rc < n)
		nfc_counter_add(out, NFC_C_OUT_REFUSED, n - (size_t)rc);
	pthread_mutex_lock(&q->lock);
	q->buf_records += (size_t)rc;
	q->inflight = 0;
	pthread_mutex_unlock(&q->lock);
}

/* With the queue empty and a small buffer, wait briefly for more batches so
 * light traffic is sent in fewer, larger writes. Returns 1 if some came. */
static int more_soon(struct nfc_outq *q)
{
	struct timespec until = mono_after(LINGER_NS);
	int more;

	pthread_mutex_lock(&q->lock);
	if (q->count == 0 && !q->draining)
		pthread_cond_timedwait(&q->cond, &q->lock, &until);
	more = q->count > 0;
	pthread_mutex_unlock(&q->lock);
	return more;
}

static void *output_thread(void *arg)
{
	struct nfc_ctx *out = arg;
	struct nfc_outq *q = out->q;
	const struct nfc_output_ops *ops = out->plugin->output;

	nfc_thread_slot = q->slot;
	for (;;) {
		struct nfc_batch *b = NULL;
		int idle = 0, lost = 0;

		if (atomic_exchange(&q->reopen, 0) && ops->reopen) {
			deliver(out); /* what is encoded goes to the old file */
			ops->reopen(out->inst);
		}
		pthread_mutex_lock(&q->lock);
		if (q->count == 0 && !q->draining) {
			struct timespec until = mono_after(1000000000LL);

			if (pthread_cond_timedwait(&q->cond, &q->lock, &until) == ETIMEDOUT && q->count == 0)
				idle = 1;
		}
		if (q->count) {
			if (q->draining && ms_until(&q->deadline) <= 0) {
				lost = 1;
			} else {
				b = q->ring[q->head];
				q->head = (q->head + 1) % q->cap;
				q->count--;
				q->records -= b->nrec;
				q->bytes -= nfc_batch_footprint(b);
				q->inflight = b->nrec;
				if (q->room_waiters)
					pthread_cond_broadcast(&q->room);
			}
		}
		if (q->count == 0 && !b && q->draining) {
			pthread_mutex_unlock(&q->lock);
			break;
		}
		pthread_mutex_unlock(&q->lock);
		if (lost)
			break;
		if (idle) {
			if (ops->idle)
				ops->idle(out->inst);
			continue;
		}
		if (!b)
			continue;
		encode(out, b);
		nfc_batch_put(b);
		if (q->buf.len >= SEND_THRESHOLD || !more_soon(q))
			deliver(out);
	}
	deliver(out);
	/* What is still queued after the drain deadline is lost: say how much. */
	pthread_mutex_lock(&q->lock);
	while (q->count) {
		struct nfc_batch *b = q->ring[q->head];

		q->head = (q->head + 1) % q->cap;
		q->count--;
		q->records -= b->nrec;
		q->bytes -= nfc_batch_footprint(b);
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
	q->deadline = mono_after(q->drain_timeout_ms * 1000000LL);
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
	nfc_buf_free(&q->buf);
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
