/* An output's queue and delivery state, shared by core/output.c (the queue
 * of batches and the output thread) and core/deliver.c (encoded bytes in
 * chunks, send(), settlement, backoff). Private to the core. */
#ifndef NFC_OUTQ_H
#define NFC_OUTQ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "json.h"
#include "nfc.h"

/* Where the records of one encode() call end in a chunk. */
struct nfc_mark {
	size_t end;     /* offset in the chunk */
	size_t records; /* records encoded by that call */
};

/* Encoded bytes of consecutive batches, kept until every byte in it is
 * delivered (or dropped): a pending range may point into it. */
struct nfc_chunk {
	struct nfc_chunk *next;
	struct nfc_buf buf;
	uint64_t off; /* stream offset of buf.data[0] */
	struct nfc_mark *marks;
	size_t nmarks, capmarks;
	size_t counted;   /* marks already counted (delivered or dropped) */
	int from_spool;   /* the spool's oldest chunk: consumed there once delivered */
	size_t drop_from; /* bytes from here on were dropped (SIZE_MAX: none) */
};

/* A range of the stream: pending (sent, not settled) or to send again. */
struct nfc_range {
	uint64_t off;
	size_t len;
};

/* A chunk is closed (offered to send()) once it holds this much. */
#define NFC_CHUNK_BYTES (512u * 1024)

/* Ranges in flight at most: send() answering NFC_PENDING more often waits
 * for settlements first. */
#define NFC_MAX_PENDING 64

struct nfc_outq {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* the output thread waits on it: push, settle, drain */
	struct nfc_batch **ring;
	size_t cap, head, count;
	size_t records, max_records;
	size_t bytes, max_bytes; /* footprint of the batches waiting */
	int draining;
	struct timespec deadline;
	unsigned drain_timeout_ms;
	pthread_t thread;
	int started;
	int slot;              /* counter row of the output thread */
	time_t warned_at;      /* last queue-full warning (monotonic s) */
	size_t overflow_since; /* records dropped since that warning */
	size_t inflight;       /* records taken off the ring, not yet in a chunk */
	/* Inputs that can wait (nfc_worker_throttle) sleep on `room`, which the
	 * output thread signals when it takes a batch off and one is waiting. */
	pthread_cond_t room;
	unsigned room_waiters;
	atomic_int reopen; /* SIGHUP: call the plugin's reopen() */
	struct nfc_outq *next; /* the list of prepared queues */

	/* Delivery (core/deliver.c). The chunk list and `open` change on the
	 * output thread only; ranges, backoff and the counts under `lock`. */
	struct nfc_chunk *head_chunk, *tail_chunk; /* closed chunks, oldest first */
	struct nfc_chunk *open;                    /* being filled by encode() */
	struct nfc_chunk *spare;                   /* a freed chunk, kept for reuse */
	uint64_t send_off;   /* first byte never offered to send() */
	uint64_t end_off;    /* end of the closed chunks */
	size_t chunk_bytes;  /* bytes in every chunk, open included: the window */
	size_t chunk_records; /* records in chunks, not yet counted */
	struct nfc_range pend[NFC_MAX_PENDING];
	size_t npend, max_pending;
	/* Settlements that came from the plugin's thread before send() had
	 * returned the range they settle (a fast answer): applied as soon as
	 * it has. */
	struct { uint64_t off; size_t len; int rc; } early[NFC_MAX_PENDING];
	size_t nearly;
	int in_send;         /* the output thread is inside send() ... */
	uint64_t in_send_off; /* ... for bytes from this offset on */
	struct nfc_range resend[NFC_MAX_PENDING]; /* failed pending ranges, oldest first */
	size_t nresend;
	long backoff_ms;         /* 0: not backing off */
	struct timespec retry_at; /* CLOCK_MONOTONIC */
	uint64_t rng;             /* jitter */
	struct timespec failing_since; /* first failure of the current outage (tv_sec 0: none) */
	size_t failures;               /* failed attempts of the current outage */
	int settled;                   /* a range settled: release what it frees */
	/* The disk spool (NULL: none). While `spooling`, closed chunks go to
	 * the spool, which then holds newer records than memory; its oldest
	 * chunk is loaded back (one at a time) once memory has drained. */
	struct nfc_spool *spool;
	int spooling;
	int spool_loaded;      /* a from_spool chunk is in memory */
	int closed;            /* delivery ended: late settlements are ignored */
	time_t spool_warned;   /* last spool failure warning (monotonic s) */
	struct timespec spool_blocked_until; /* the spool refused a chunk: try again then */
};

/* CLOCK_MONOTONIC now plus `ns` nanoseconds (the clock of q->cond). */
struct timespec nfc_mono_after(long long ns);
/* The CLOCK_MONOTONIC time t has come. */
int nfc_mono_past(const struct timespec *t);
/* Take the oldest batch off the ring (lock held, q->count > 0), waking an
 * input that waits for room. */
struct nfc_batch *nfc_outq_pop(struct nfc_outq *q);

/* deliver.c */
void nfc_dlv_init(struct nfc_outq *q);
void nfc_dlv_free(struct nfc_outq *q);
/* Encode a batch into the open chunk (the lock not held). */
void nfc_dlv_encode(struct nfc_ctx *out, const struct nfc_batch *b);
/* Bytes in the open chunk. */
size_t nfc_dlv_open_len(const struct nfc_outq *q);
/* Make the open chunk sendable, or spool it while spooling (lock held). */
void nfc_dlv_close(struct nfc_ctx *out);
/* Offer what can be sent to send(), until it is all offered, the window of
 * pending ranges is full or the output backs off (lock held; released
 * around each send()). Frees what is delivered. */
void nfc_dlv_pump(struct nfc_ctx *out);
/* Something to offer now (not backing off, window not full). Lock held. */
int nfc_dlv_ready(const struct nfc_outq *q);
/* Nothing encoded waits for delivery. Lock held. */
int nfc_dlv_empty(const struct nfc_outq *q);
/* The chunks hold as many bytes as the window allows. Lock held. */
int nfc_dlv_full(const struct nfc_outq *q);
/* A batch may be taken off the queue now: the window has room, or batches
 * go to a spool that takes them. Lock held. */
int nfc_dlv_can_take(const struct nfc_outq *q);
/* The output thread takes batches off the queue without waiting for the
 * destination: not backing off, or the window or the spool has room. Lock
 * held. */
int nfc_dlv_consuming(const struct nfc_outq *q);
/* Count what was never delivered as lost at shutdown, free it (lock held). */
void nfc_dlv_lose_all(struct nfc_ctx *out);
/* Spool: move closed chunks to disk while spooling, start spooling when
 * memory is full, load the oldest spooled chunk when memory has drained,
 * stop when the spool is empty (output thread, lock held; released around
 * disk I/O). */
void nfc_dlv_spool_step(struct nfc_ctx *out);
/* Shutdown: write everything not delivered to the spool (lock held). */
void nfc_dlv_spool_all(struct nfc_ctx *out);

#endif
