/* Internal definitions of the core: the bodies of the SDK's opaque handles. */
#ifndef NFC_CORE_H
#define NFC_CORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <sys/socket.h>

#include "json.h"
#include "nfc/plugin.h"

#define NFC_MAX_THREADS 64    /* counter slots: input workers + outputs + main */
#define NFC_MAX_COUNTERS 32   /* per instance */
#define NFC_MAX_DECODERS 16

/* Which slot of every counter the calling thread writes; 0 for the main
 * thread. Assigned by the core when it creates a thread. */
extern _Thread_local unsigned nfc_thread_slot;
int nfc_thread_slot_alloc(void); /* -1 when every row is taken (logged) */

struct nfc_counter_row {
	_Alignas(64) uint64_t v[NFC_MAX_COUNTERS];
};

/* TLS settings of an output that set NFC_PLUGIN_TLS (filled from its section). */
struct nfc_tls_cfg {
	int tls;           /* 0: plain TCP (lab use) */
	int verify;        /* 0: tls_verify=no (lab use, warned) */
	char *ca_file;     /* NULL: the system trust store */
	char *server_name; /* NULL: the host connected to */
};

struct nfc_loaded_plugin;
struct nfc_section;
struct nfc_outq;

struct nfc_ctx {
	char *name;                        /* instance name: "listener", "forwarder", ... */
	const struct nfc_plugin *plugin;   /* descriptor (first `size` bytes valid) */
	struct nfc_loaded_plugin *lp;
	void *inst;                        /* instance_size bytes, zeroed */
	const struct nfc_section *section; /* where it was configured; NULL: defaults */
	int config_errors;
	int started; /* open()/start() succeeded: close()/stop() are due */

	/* counters */
	int ncounters;
	char *counter_names[NFC_MAX_COUNTERS];
	struct nfc_counter_row *rows; /* [NFC_MAX_THREADS] */

	/* remote-driven log rate limit */
	pthread_mutex_t rl_lock;
	time_t rl_window;
	unsigned rl_count;
	unsigned long rl_suppressed;

	/* outputs */
	struct nfc_tls_cfg tls;
	void *ssl_ctx; /* SSL_CTX *, built at start when NFC_PLUGIN_TLS */
	/* CLOCK_MONOTONIC ms at which blocking I/O of this output gives up (the
	 * end of the drain at shutdown); 0: none. Set by the main thread. */
	atomic_llong abort_at_ms;
	/* conn.c: the addresses of the last successful lookup of host:port,
	 * used instead of a new lookup during the drain (a lookup cannot be
	 * bounded by the deadline). Only the output thread touches them. */
	void *addr_cache; /* struct addrinfo * */
	char addr_cache_key[300];
	struct nfc_outq *q;
	/* --test-connection: FAIL lines this instance printed */
	unsigned diag_failed;

	/* inputs */
	unsigned nworkers;
	unsigned nrunning; /* worker threads started */
	struct nfc_worker *workers;
};

/* Record views and batches. */
struct nfc_rec {
	struct nfc_template *t;
	const uint8_t *data;
	uint32_t len;
	uint32_t dg; /* index of its datagram in the batch's org */
};

struct nfc_batch {
	atomic_int refs;
	struct nfc_batch *next; /* free list */
	struct nfc_origin *org; /* origin and receive time of each datagram with records */
	size_t ndg, capdg;
	size_t nrec, caprec;
	struct nfc_rec *rec;
	uint8_t *arena;
	size_t used, cap;
	struct nfc_template **tmpl; /* templates referenced by records */
	size_t ntmpl, captmpl;
	int compact; /* right-sized copy: freed, not pooled */
};

struct nfc_decode {
	struct nfc_worker *w;
	struct nfc_batch *b;
	const uint8_t *base; /* the datagram's bytes inside the batch arena */
	size_t len;
	uint32_t dgidx;      /* its index in the batch's org */
	int failed;
	size_t nested;       /* records replays added to the same batch meanwhile */
	struct sockaddr_storage src; /* the sender, IPv4-mapped folded to IPv4 */
};

/* Bytes a decoder holds until their template arrives (nfc_hold). */
struct nfc_held {
	struct nfc_origin org;
	struct sockaddr_storage src;
	size_t len;
	uint8_t data[];
};

struct nfc_worker {
	struct nfc_ctx *ctx; /* the input instance */
	unsigned index;
	unsigned slot;       /* counter slot of its thread */
	pthread_t thread;
	struct nfc_batch *b; /* being filled */
	struct nfc_batch *side; /* replayed held data that did not fit in b */
	int rc;
};

/* Built-in counter ids of every input instance (registered by the core). */
enum {
	NFC_C_DATAGRAMS, NFC_C_BYTES, NFC_C_RECORDS, NFC_C_MALFORMED, NFC_C_UNKNOWN_VERSION,
	NFC_C_KERNEL_DROPS, NFC_C_TRUNCATED, NFC_C_INPUT_NCOUNTERS
};
/* Built-in counter ids of every output instance. */
enum {
	NFC_C_OUT_RECORDS, NFC_C_OUT_BYTES, NFC_C_OUT_OVERFLOW, NFC_C_OUT_SEND_ERRORS,
	NFC_C_OUT_SHUTDOWN_LOST, NFC_C_OUT_REFUSED, NFC_C_OUT_SPOOLED, NFC_C_OUT_UNSPOOLED,
	NFC_C_OUTPUT_NCOUNTERS
};

/* instance.c */
struct nfc_ctx *nfc_ctx_new(const char *name, struct nfc_loaded_plugin *lp);
void nfc_ctx_free(struct nfc_ctx *ctx);
/* Write every parameter's default into the instance, as a configuration
 * without the section would (for tests and the fuzzers). */
int nfc_ctx_apply_defaults(struct nfc_ctx *ctx);
uint64_t nfc_counter_read(const struct nfc_ctx *ctx, int id);
void nfc_counter_add_slot(struct nfc_ctx *ctx, unsigned slot, int id, uint64_t n);
/* [core] state_dir, for nfc_state_dir() (the string must outlive the plugins). */
void nfc_state_dir_set(const char *dir);

/* pipeline.c: the record path from input workers to output queues */
int nfc_pipeline_init(struct nfc_ctx **outputs, size_t noutputs, struct nfc_ctx **decoders,
                      size_t ndecoders);
struct nfc_batch *nfc_batch_get(void);
void nfc_batch_put(struct nfc_batch *b);
/* Memory a batch holds (arena and arrays). */
size_t nfc_batch_footprint(const struct nfc_batch *b);
void nfc_worker_flush(struct nfc_worker *w);
/* From now on nfc_worker_stopping() is true: input workers return. */
void nfc_pipeline_stop_inputs(void);
void nfc_pipeline_free(void);
/* The core's decode path, also used by tests and the fuzzers: decode one
 * datagram into `b` through the loaded decoders. Returns NFC_OK,
 * NFC_EMALFORMED or NFC_EINVAL (unknown version). */
int nfc_decode_datagram(struct nfc_worker *w, struct nfc_batch *b, const struct nfc_datagram *dg);

/* output.c: per-output queue and thread */
struct nfc_outq_cfg {
	size_t queue_records;
	size_t queue_memory; /* bytes of batches waiting */
	unsigned drain_timeout_ms;
	const char *state_dir; /* the spool goes to state_dir/spool/NAME-PLUGIN */
	uint64_t spool_max;    /* 0: no spool */
};
int nfc_output_prepare(struct nfc_ctx *out, const struct nfc_outq_cfg *cfg);
int nfc_output_start(struct nfc_ctx *out);
/* Queue a batch for an output (the batch's reference count is the caller's
 * business). Returns 0, or -1 when the queue is full (counted). */
int nfc_output_push(struct nfc_ctx *out, struct nfc_batch *b);
void nfc_output_drain_begin(struct nfc_ctx *out);
/* SIGHUP: have the output's thread call its reopen() before its next batch. */
void nfc_output_reopen(struct nfc_ctx *out);
void nfc_output_drain_and_stop(struct nfc_ctx *out);
size_t nfc_output_queued(const struct nfc_ctx *out);
/* Seconds the output's deliveries have been failing (0: delivering). */
long nfc_output_failing_for(const struct nfc_ctx *out);
/* Records in the output's disk spool (0 without one). Any thread. */
uint64_t nfc_output_spool_records(const struct nfc_ctx *out);

/* conn.c */
int nfc_tls_prepare(struct nfc_ctx *ctx);
void nfc_tls_release(struct nfc_ctx *ctx);

/* resolve.c: getaddrinfo (TCP) abandoned after timeout_ms. NFC_OK and *out
 * (freeaddrinfo it), or NFC_RETRY / NFC_ENOMEM with the reason in `why`. */
struct addrinfo;
int nfc_lookup(const char *host, unsigned port, unsigned timeout_ms, struct addrinfo **out, char *why,
               size_t whylen);

/* diag.c: --test-connection. nfc_diag() lines start with the instance name
 * padded to `width`; each FAIL is counted in ctx->diag_failed. */
void nfc_diag_begin(size_t width);
int nfc_diag_active(void);
void nfc_diag_summary(const char *fmt, ...) NFC_PRINTF(1, 2);

/* stats.c */
void nfc_stats_log(struct nfc_ctx **inst, size_t n);

#endif
