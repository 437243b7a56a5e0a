/* Delivery of an output's encoded bytes: the core, not each plugin, keeps
 * what is not delivered yet, offers it to send(), resumes where send()
 * stopped, keeps ranges a plugin accepted as pending until it settles them,
 * offers failed ones again, and backs off (exponential, with jitter) while
 * the destination fails. Every record is counted once: delivered when all
 * its bytes are, dropped (send_errors) after a permanent failure, or lost at
 * shutdown.
 *
 * Bytes live in chunks (the batches encoded between two sends, up to
 * NFC_CHUNK_BYTES); each byte has an offset in the output's stream. Below
 * the low-water offset (the first byte not yet offered, or the oldest
 * pending or failed range) everything is settled: chunks entirely below it
 * are freed and their records counted. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outq.h"
#include "spool.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
/* Encoded bytes an output may hold, unsent or unsettled; beyond, batches
 * wait in the queue (which bounds them in records and memory). */
#define WINDOW_BYTES (16u * NFC_CHUNK_BYTES)

void nfc_dlv_init(struct nfc_outq *q)
{
	struct timespec t;

	q->max_pending = NFC_MAX_PENDING;
	clock_gettime(CLOCK_MONOTONIC, &t);
	q->rng = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ULL + (uint64_t)(uintptr_t)q;
}

static void chunk_free(struct nfc_chunk *c)
{
	if (!c)
		return;
	nfc_buf_free(&c->buf);
	free(c->marks);
	free(c);
}

void nfc_dlv_free(struct nfc_outq *q)
{
	struct nfc_chunk *c, *next;

	for (c = q->head_chunk; c; c = next) {
		next = c->next;
		chunk_free(c);
	}
	chunk_free(q->open);
	chunk_free(q->spare);
	q->head_chunk = q->tail_chunk = q->open = q->spare = NULL;
}

/* The spare chunk if there is one (its buffer kept), else a new one. */
static struct nfc_chunk *chunk_get(struct nfc_outq *q)
{
	struct nfc_chunk *c = q->spare;

	if (c) {
		q->spare = NULL;
	} else {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		if (nfc_buf_init(&c->buf, 2 * NFC_CHUNK_BYTES) < 0) {
			free(c);
			return NULL;
		}
	}
	c->next = NULL;
	c->buf.len = 0;
	c->nmarks = c->counted = 0;
	c->drop_from = SIZE_MAX;
	c->off = 0;
	c->from_spool = 0;
	return c;
}

/* Keep one freed chunk (and its 1 MiB buffer) for the next. */
static void chunk_put(struct nfc_outq *q, struct nfc_chunk *c)
{
	if (!q->spare)
		q->spare = c;
	else
		chunk_free(c);
}

static int add_mark(struct nfc_chunk *c, size_t records)
{
	if (c->nmarks == c->capmarks) {
		size_t cap = c->capmarks ? 2 * c->capmarks : 64;
		struct nfc_mark *m = realloc(c->marks, cap * sizeof(*m));

		if (!m)
			return NFC_ENOMEM;
		c->marks = m;
		c->capmarks = cap;
	}
	c->marks[c->nmarks].end = c->buf.len;
	c->marks[c->nmarks].records = records;
	c->nmarks++;
	return NFC_OK;
}

void nfc_dlv_encode(struct nfc_ctx *out, const struct nfc_batch *b)
{
	struct nfc_outq *q = out->q;
	struct nfc_chunk *c = q->open;
	size_t before, n = b->nrec;
	int rc;

	if (!c) {
		c = chunk_get(q);
		if (!c) {
			rc = NFC_ENOMEM;
			goto failed;
		}
		pthread_mutex_lock(&q->lock);
		q->open = c;
		pthread_mutex_unlock(&q->lock);
	}
	before = c->buf.len;
	rc = out->plugin->output->encode(out->inst, b, &c->buf);
	if (rc >= 0 && (size_t)rc > n)
		rc = (int)n;
	if (rc > 0 && add_mark(c, (size_t)rc) < 0)
		rc = NFC_ENOMEM;
	if (rc < 0) {
		nfc_buf_truncate(&c->buf, before);
		goto failed;
	}
	if ((size_t)rc < n)
		nfc_counter_add(out, NFC_C_OUT_REFUSED, n - (size_t)rc);
	pthread_mutex_lock(&q->lock);
	q->chunk_bytes += c->buf.len - before;
	q->chunk_records += (size_t)rc;
	q->inflight = 0;
	pthread_mutex_unlock(&q->lock);
	return;
failed:
	pthread_mutex_lock(&q->lock);
	q->inflight = 0;
	pthread_mutex_unlock(&q->lock);
	nfc_counter_add(out, NFC_C_OUT_SEND_ERRORS, n);
	nfc_log_remote(out, NFC_LOG_ERR, "encoding %zu records failed (%d): dropped", n, rc);
}

size_t nfc_dlv_open_len(const struct nfc_outq *q)
{
	return q->open ? q->open->buf.len : 0;
}

/* Records of marks that became settled, counted on the output thread. */
struct tally {
	size_t delivered, dropped;
};

static void count_marks(struct nfc_outq *q, struct nfc_chunk *c, uint64_t low, struct tally *t)
{
	while (c->counted < c->nmarks && c->off + c->marks[c->counted].end <= low) {
		const struct nfc_mark *m = &c->marks[c->counted++];

		if (m->end > c->drop_from)
			t->dropped += m->records;
		else
			t->delivered += m->records;
		q->chunk_records -= m->records;
	}
}

/* Records of chunk c not counted yet whose bytes end after `from`. */
static size_t records_after(const struct nfc_chunk *c, size_t from)
{
	size_t n = 0;

	for (size_t i = c->counted; i < c->nmarks; i++)
		if (c->marks[i].end > from)
			n += c->marks[i].records;
	return n;
}

/* Append bytes of `records` records to the spool (lock held, released for
 * the disk I/O: the chunk is the output thread's alone). Compressed for
 * size, or for speed when the output thread has fallen behind the inputs
 * (an eighth of queue_records waiting: compression is most of its work
 * while it spools) and at shutdown (drain_timeout bounds the time). */
static int spill(struct nfc_ctx *out, const char *p, size_t len, size_t records)
{
	struct nfc_outq *q = out->q;
	enum nfc_spool_pace pace = q->draining || q->records > q->max_records / 8 ? NFC_SPOOL_FAST : NFC_SPOOL_COMPACT;
	struct timespec now;
	int rc, e;

	pthread_mutex_unlock(&q->lock);
	rc = nfc_spool_append(q->spool, p, len, (uint32_t)records, pace);
	e = errno;
	pthread_mutex_lock(&q->lock);
	if (rc == NFC_OK) {
		nfc_counter_add(out, NFC_C_OUT_SPOOLED, records);
		return NFC_OK;
	}
	q->spool_blocked_until = nfc_mono_after(1000000000LL);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!q->spool_warned || now.tv_sec - q->spool_warned >= 10) {
		q->spool_warned = now.tv_sec;
		if (rc == NFC_ETOOBIG)
			nfc_log(out, NFC_LOG_WARN, "the spool is full ([core] spool_max): records wait in memory, "
			        "and beyond the queue they are dropped (queue_overflow)");
		else
			nfc_log(out, NFC_LOG_ERR, "cannot write to the spool: %s; records wait in memory, and beyond "
			        "the queue they are dropped (queue_overflow)", strerror(e));
	}
	return rc;
}

/* Move the open chunk to the spool; NFC_OK when it is there (or empty). */
static int spill_open(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	struct nfc_chunk *c = q->open;
	size_t recs;

	if (!c || c->buf.len == 0)
		return NFC_OK;
	recs = records_after(c, 0);
	if (spill(out, c->buf.data, c->buf.len, recs) < 0)
		return NFC_ERROR;
	q->open = NULL;
	q->chunk_records -= recs;
	q->chunk_bytes -= c->buf.len;
	chunk_put(q, c);
	return NFC_OK;
}

void nfc_dlv_close(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	struct nfc_chunk *c = q->open;

	if (!c || (c->buf.len == 0 && c->nmarks == 0))
		return;
	/* while the spool holds older records, newer ones queue up behind
	 * them on disk (in memory only when the spool refuses them) */
	if (q->spooling && c->buf.len && spill_open(out) == NFC_OK)
		return;
	q->open = NULL;
	c->off = q->end_off;
	q->end_off += c->buf.len;
	if (q->tail_chunk)
		q->tail_chunk->next = c;
	else
		q->head_chunk = c;
	q->tail_chunk = c;
}

static uint64_t low_water(const struct nfc_outq *q)
{
	uint64_t low = q->send_off;

	for (size_t i = 0; i < q->npend; i++)
		if (q->pend[i].off < low)
			low = q->pend[i].off;
	if (q->nresend && q->resend[0].off < low)
		low = q->resend[0].off;
	return low;
}

/* Free the chunks below the low-water offset and count their records. */
static void release(struct nfc_ctx *out, struct tally *t)
{
	struct nfc_outq *q = out->q;
	uint64_t low = low_water(q);
	struct nfc_chunk *c;

	while ((c = q->head_chunk)) {
		count_marks(q, c, low, t);
		if (c->off + c->buf.len > low || c->counted < c->nmarks)
			break;
		q->head_chunk = c->next;
		if (!q->head_chunk)
			q->tail_chunk = NULL;
		q->chunk_bytes -= c->buf.len;
		if (c->from_spool) {
			/* delivered: the spool may forget it */
			nfc_spool_consume(q->spool);
			q->spool_loaded = 0;
		}
		chunk_put(q, c);
	}
}

static int backing_off(const struct nfc_outq *q)
{
	return q->backoff_ms && !nfc_mono_past(&q->retry_at);
}

/* A failed attempt: wait twice as long as the last time (from 100 ms to
 * 30 s), at a random point of the second half of that span so outputs that
 * failed together do not come back together. Lock held. */
static void backoff_failed(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	long wait;

	q->backoff_ms = q->backoff_ms ? 2 * q->backoff_ms : BACKOFF_MIN_MS;
	if (q->backoff_ms > BACKOFF_MAX_MS)
		q->backoff_ms = BACKOFF_MAX_MS;
	q->rng ^= q->rng << 13, q->rng ^= q->rng >> 7, q->rng ^= q->rng << 17;
	wait = q->backoff_ms / 2 + (long)(q->rng % (uint64_t)(q->backoff_ms / 2 + 1));
	q->retry_at = nfc_mono_after(wait * 1000000LL);
	if (!q->failing_since.tv_sec)
		clock_gettime(CLOCK_MONOTONIC, &q->failing_since);
	q->failures++;
	nfc_log(out, NFC_LOG_DEBUG, "delivery will be retried in %ld ms (attempt %zu)", wait, q->failures);
}

/* A delivery succeeded: the outage, if any, is over. Lock held. */
static void backoff_done(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;

	if (q->failing_since.tv_sec) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		nfc_log(out, NFC_LOG_INFO, "delivering again after %lld s and %zu failed attempts",
		        (long long)(now.tv_sec - q->failing_since.tv_sec), q->failures);
	}
	q->backoff_ms = 0;
	q->failing_since.tv_sec = 0;
	q->failures = 0;
}

static struct nfc_chunk *chunk_at(const struct nfc_outq *q, uint64_t off)
{
	for (struct nfc_chunk *c = q->head_chunk; c; c = c->next)
		if (off >= c->off && off < c->off + c->buf.len)
			return c;
	return NULL;
}

/* Remove resend[i]. */
static void resend_remove(struct nfc_outq *q, size_t i)
{
	memmove(q->resend + i, q->resend + i + 1, (--q->nresend - i) * sizeof(q->resend[0]));
}

/* Where the resend range that started at `off` is now: a settlement from
 * another thread may have inserted an older one before it while the lock was
 * released around send(). */
static size_t resend_find(const struct nfc_outq *q, uint64_t off)
{
	for (size_t i = 0; i < q->nresend; i++)
		if (q->resend[i].off == off)
			return i;
	return q->nresend;
}

int nfc_dlv_ready(const struct nfc_outq *q)
{
	return (q->nresend || q->send_off < q->end_off) && q->npend < q->max_pending && !backing_off(q);
}

int nfc_dlv_empty(const struct nfc_outq *q)
{
	return !q->head_chunk && (!q->open || (q->open->buf.len == 0 && q->open->nmarks == 0));
}

int nfc_dlv_full(const struct nfc_outq *q)
{
	return q->chunk_bytes >= WINDOW_BYTES;
}

int nfc_dlv_can_take(const struct nfc_outq *q)
{
	if (q->chunk_bytes < WINDOW_BYTES)
		return 1;
	if (!q->spooling)
		return 0;
	/* beyond the window, batches go to the spool: unless it refused one
	 * less than a second ago (full, or failing) */
	return nfc_mono_past(&q->spool_blocked_until);
}

int nfc_dlv_consuming(const struct nfc_outq *q)
{
	if (!q->backoff_ms || q->chunk_bytes < WINDOW_BYTES)
		return 1;
	/* the window is full: the spool takes the rest, once the output
	 * thread starts spooling, unless it refused a chunk lately */
	return q->spool && nfc_mono_past(&q->spool_blocked_until);
}

/* send() failed for good at stream offset `at` of chunk c: the rest of the
 * chunk is dropped (its records counted when they pass the low water). */
static void drop_rest(struct nfc_ctx *out, struct nfc_chunk *c, uint64_t at, int from_resend, int rc)
{
	struct nfc_outq *q = out->q;
	size_t rel = (size_t)(at - c->off), i;

	if (rel < c->drop_from)
		c->drop_from = rel;
	if (from_resend) {
		if ((i = resend_find(q, at)) < q->nresend)
			resend_remove(q, i);
	} else {
		q->send_off = c->off + c->buf.len;
	}
	nfc_log(out, NFC_LOG_ERR, "send failed permanently (%d): the records of %zu bytes are dropped "
	        "(counted as send_errors)", rc, c->buf.len - rel);
}

/* Apply a settlement to pend[i] (lock held). */
static void settle_locked(struct nfc_ctx *ctx, size_t i, int rc)
{
	struct nfc_outq *q = ctx->q;
	uint64_t off = q->pend[i].off;
	size_t len = q->pend[i].len, j;

	q->pend[i] = q->pend[--q->npend];
	if (rc == NFC_OK) {
		backoff_done(ctx);
	} else if (rc > 0) {
		/* offered again before anything newer, oldest first */
		for (j = q->nresend; j > 0 && q->resend[j - 1].off > off; j--)
			q->resend[j] = q->resend[j - 1];
		q->resend[j] = (struct nfc_range){ off, len };
		q->nresend++;
		if (!backing_off(q))
			backoff_failed(ctx);
	} else {
		struct nfc_chunk *c = chunk_at(q, off);

		if (c && off - c->off < c->drop_from)
			c->drop_from = (size_t)(off - c->off);
		nfc_log(ctx, NFC_LOG_ERR, "delivery refused for good (%d): the records of %zu bytes are dropped "
		        "(counted as send_errors)", rc, len);
	}
	q->settled = 1;
}

static size_t pend_find(const struct nfc_outq *q, uint64_t off, size_t len)
{
	size_t i;

	for (i = 0; i < q->npend; i++)
		if (q->pend[i].off == off && q->pend[i].len == len)
			break;
	return i;
}

/* After send() answered NFC_PENDING for [off, off + len): record the range,
 * and apply a settlement that overtook the answer (lock held). */
static void pend_add(struct nfc_ctx *out, uint64_t off, size_t len)
{
	struct nfc_outq *q = out->q;

	q->pend[q->npend++] = (struct nfc_range){ off, len };
	for (size_t e = 0; e < q->nearly; e++) {
		if (q->early[e].off == off && q->early[e].len == len) {
			int rc = q->early[e].rc;

			q->early[e] = q->early[--q->nearly];
			settle_locked(out, q->npend - 1, rc);
			return;
		}
	}
}

void nfc_dlv_pump(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	const struct nfc_output_ops *ops = out->plugin->output;
	struct tally t = { 0, 0 };
	size_t sent = 0;

	while (nfc_dlv_ready(q)) {
		int from_resend = q->nresend > 0;
		struct nfc_range r = from_resend ? q->resend[0]
		                                 : (struct nfc_range){ q->send_off, (size_t)(q->end_off - q->send_off) };
		struct nfc_chunk *c = chunk_at(q, r.off);
		size_t in, len, consumed = 0;
		int rc;

		if (!c) { /* cannot happen: every unsettled byte is in a chunk */
			nfc_log(out, NFC_LOG_ERR, "internal error: offset %llu not in any chunk",
			        (unsigned long long)r.off);
			break;
		}
		in = (size_t)(r.off - c->off);
		len = c->buf.len - in < r.len ? c->buf.len - in : r.len;
		if (in >= c->drop_from) { /* already dropped: nothing to offer */
			if (from_resend)
				resend_remove(q, 0);
			else
				q->send_off = c->off + c->buf.len;
			continue;
		}
		q->in_send = 1;
		q->in_send_off = r.off;
		pthread_mutex_unlock(&q->lock);
		rc = ops->send(out->inst, c->buf.data + in, len, r.off, &consumed);
		pthread_mutex_lock(&q->lock);
		q->in_send = 0;
		if (consumed > len)
			consumed = len;
		if ((rc == NFC_OK || rc == NFC_PENDING) && consumed == 0)
			rc = NFC_RETRY; /* no progress: do not spin */
		if (consumed) {
			sent += consumed;
			if (rc == NFC_PENDING)
				pend_add(out, r.off, consumed);
			if (from_resend) {
				size_t j = resend_find(q, r.off);

				if (j < q->nresend) {
					q->resend[j].off += consumed;
					q->resend[j].len -= consumed;
					if (q->resend[j].len == 0)
						resend_remove(q, j);
				}
			} else {
				q->send_off += consumed;
			}
		}
		if (q->nearly) { /* settlements of ranges send() did not answer PENDING for */
			nfc_log(out, NFC_LOG_ERR, "nfc_output_settle: %zu settlement(s) of ranges not pending: a plugin "
			        "bug, ignored", q->nearly);
			q->nearly = 0;
		}
		if (rc == NFC_OK) {
			backoff_done(out);
		} else if (rc == NFC_PENDING) {
			continue;
		} else if (rc > 0) {
			backoff_failed(out);
			break;
		} else {
			drop_rest(out, c, r.off + consumed, from_resend, rc);
		}
	}
	release(out, &t);
	if (sent)
		nfc_counter_add(out, NFC_C_OUT_BYTES, sent);
	if (t.delivered)
		nfc_counter_add(out, NFC_C_OUT_RECORDS, t.delivered);
	if (t.dropped)
		nfc_counter_add(out, NFC_C_OUT_SEND_ERRORS, t.dropped);
}

NFC_EXPORT void nfc_output_set_pending_max(struct nfc_ctx *ctx, unsigned n)
{
	if (ctx->q)
		ctx->q->max_pending = n < 1 ? 1 : n > NFC_MAX_PENDING ? NFC_MAX_PENDING : n;
}

NFC_EXPORT void nfc_output_settle(struct nfc_ctx *ctx, uint64_t off, size_t len, int rc)
{
	struct nfc_outq *q = ctx->q;
	size_t i;

	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	if (q->closed) { /* after the drain: what it carried is spooled or counted */
		pthread_mutex_unlock(&q->lock);
		return;
	}
	i = pend_find(q, off, len);
	if (i == q->npend) {
		if (q->in_send && off >= q->in_send_off && q->nearly < NFC_MAX_PENDING) {
			q->early[q->nearly].off = off;
			q->early[q->nearly].len = len;
			q->early[q->nearly].rc = rc;
			q->nearly++;
			pthread_mutex_unlock(&q->lock);
			return;
		}
		pthread_mutex_unlock(&q->lock);
		nfc_log(ctx, NFC_LOG_ERR, "nfc_output_settle: no pending range at %llu (%zu bytes): a plugin bug, "
		        "ignored", (unsigned long long)off, len);
		return;
	}
	settle_locked(ctx, i, rc);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void nfc_dlv_lose_all(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	struct tally t = { 0, 0 };
	struct nfc_chunk *c;
	size_t lost = 0;

	nfc_dlv_close(out);
	release(out, &t);
	for (c = q->head_chunk; c; c = c->next)
		for (size_t i = c->counted; i < c->nmarks; i++)
			lost += c->marks[i].records;
	if (t.delivered)
		nfc_counter_add(out, NFC_C_OUT_RECORDS, t.delivered);
	if (t.dropped)
		nfc_counter_add(out, NFC_C_OUT_SEND_ERRORS, t.dropped);
	if (lost)
		nfc_counter_add(out, NFC_C_OUT_SHUTDOWN_LOST, lost);
	nfc_dlv_free(q);
	q->chunk_bytes = q->chunk_records = 0;
	q->npend = q->nresend = 0;
	q->send_off = q->end_off;
	q->closed = 1;
}

/* Load the spool's oldest chunk as the next to deliver (lock held). */
static void spool_load(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	const void *p = NULL;
	size_t len = 0;
	uint32_t records = 0;
	struct nfc_chunk *c;
	struct nfc_spool_stats before, after;
	int rc;

	pthread_mutex_unlock(&q->lock);
	nfc_spool_stats(q->spool, &before);
	rc = nfc_spool_peek(q->spool, &p, &len, &records);
	nfc_spool_stats(q->spool, &after);
	if (after.corrupt_frames > before.corrupt_frames)
		nfc_log(out, NFC_LOG_WARN, "the spool had %llu corrupt frame(s) (%llu bytes, a damaged file): "
		        "skipped, their records are lost; the rest is delivered",
		        (unsigned long long)(after.corrupt_frames - before.corrupt_frames),
		        (unsigned long long)(after.corrupt_bytes - before.corrupt_bytes));
	c = rc == 1 ? chunk_get(q) : NULL;
	if (c && (!nfc_buf_reserve(&c->buf, len) || add_mark(c, 0) < 0)) {
		chunk_free(c);
		c = NULL;
	}
	if (c) {
		memcpy(c->buf.data, p, len);
		c->buf.len = len;
		c->marks[0].end = len;
		c->marks[0].records = records;
		c->from_spool = 1;
	}
	pthread_mutex_lock(&q->lock);
	if (rc == 0) {
		q->spooling = 0;
		nfc_log(out, NFC_LOG_INFO, "the spool is empty: delivering from memory again");
		return;
	}
	if (!c) {
		nfc_log(out, NFC_LOG_ERR, "cannot read the spool (%d): its records wait there", rc);
		return;
	}
	nfc_counter_add(out, NFC_C_OUT_UNSPOOLED, records);
	c->off = q->end_off;
	q->end_off += len;
	if (q->tail_chunk)
		q->tail_chunk->next = c;
	else
		q->head_chunk = c;
	q->tail_chunk = c;
	q->chunk_bytes += len;
	q->chunk_records += records;
	q->spool_loaded = 1;
}

void nfc_dlv_spool_step(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;

	if (!q->spool)
		return;
	if (!q->spooling && nfc_dlv_full(q) && q->count) {
		q->spooling = 1;
		nfc_log(out, NFC_LOG_INFO, "delivery is behind (%zu MiB encoded waiting): records go to the spool "
		        "and are delivered from there, in order, when the output catches up", q->chunk_bytes >> 20);
	}
	/* The spool's records are newer than anything in memory: load the
	 * next one only once memory has drained. */
	if (q->spooling && !q->spool_loaded && !q->head_chunk && !q->npend && !q->nresend)
		spool_load(out);
}

void nfc_dlv_spool_all(struct nfc_ctx *out)
{
	struct nfc_outq *q = out->q;
	struct tally t = { 0, 0 };
	uint64_t low;

	if (!q->spool)
		return;
	release(out, &t);
	if (t.delivered)
		nfc_counter_add(out, NFC_C_OUT_RECORDS, t.delivered);
	if (t.dropped)
		nfc_counter_add(out, NFC_C_OUT_SEND_ERRORS, t.dropped);
	/* chunks in memory, from the first byte not known delivered */
	low = low_water(q);
	for (struct nfc_chunk *c = q->head_chunk; c; c = c->next) {
		size_t from = low > c->off ? (size_t)(low - c->off) : 0;

		if (c->from_spool) {
			c->counted = c->nmarks; /* still in the spool, unconsumed */
			continue;
		}
		if (from < c->buf.len && from < c->drop_from &&
		    spill(out, c->buf.data + from, c->buf.len - from, records_after(c, from)) == NFC_OK)
			c->counted = c->nmarks;
	}
	/* then what was encoded and what still waits in the queue */
	spill_open(out);
	while (q->count) {
		struct nfc_batch *b = nfc_outq_pop(q);

		q->inflight = b->nrec;
		pthread_mutex_unlock(&q->lock);
		nfc_dlv_encode(out, b);
		nfc_batch_put(b);
		pthread_mutex_lock(&q->lock);
		if (nfc_dlv_open_len(q) >= NFC_CHUNK_BYTES && spill_open(out) < 0)
			break;
	}
	spill_open(out);
}
