/*
 * flowlib: what the NetFlow decoders share, written once.
 *
 *  - a bounds-checked cursor over the datagram (every read is checked);
 *  - a bounded table of exporter streams (exporter address, UDP port for v5,
 *    observation domain / source id / engine), shared by every input worker,
 *    least recently seen first out;
 *  - per stream: sequence accounting, the template cache (v9, IPFIX), data
 *    held until its template arrives, and what options data announced
 *    (sampling interval, system init time);
 *  - saving templates and options knowledge to state_dir, and restoring them.
 *
 * Locking: the table's lock is taken once per datagram (lookup and LRU
 * touch), a stream's lock once per set; never per record. Lock order: a
 * thread holding a stream's lock may take the table's lock (eviction), never
 * the other way round. Streams are reference counted, so an evicted stream
 * lives until the last datagram using it is decoded.
 */
#ifndef NFC_FLOWLIB_H
#define NFC_FLOWLIB_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "nfc/plugin.h"

/* ------------------------------------------------------------------------ */
/* Cursor                                                                   */

struct fl_cur {
	const uint8_t *p;
	size_t left;
};

/* The next n bytes, advancing; NULL (cursor unchanged) when fewer remain. */
static inline const uint8_t *fl_take(struct fl_cur *c, size_t n)
{
	const uint8_t *q;

	if (n > c->left)
		return NULL;
	q = c->p;
	c->p += n;
	c->left -= n;
	return q;
}

static inline uint16_t fl_be16(const uint8_t *q)
{
	return (uint16_t)((unsigned)q[0] << 8 | q[1]);
}

static inline uint32_t fl_be32(const uint8_t *q)
{
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

static inline int fl_u8(struct fl_cur *c, uint8_t *v)
{
	const uint8_t *q = fl_take(c, 1);

	if (!q)
		return NFC_EMALFORMED;
	*v = q[0];
	return NFC_OK;
}

static inline int fl_u16(struct fl_cur *c, uint16_t *v)
{
	const uint8_t *q = fl_take(c, 2);

	if (!q)
		return NFC_EMALFORMED;
	*v = fl_be16(q);
	return NFC_OK;
}

static inline int fl_u32(struct fl_cur *c, uint32_t *v)
{
	const uint8_t *q = fl_take(c, 4);

	if (!q)
		return NFC_EMALFORMED;
	*v = fl_be32(q);
	return NFC_OK;
}

/* ------------------------------------------------------------------------ */
/* Sequence accounting                                                      */

/* What one export's sequence number says. */
struct fl_seq {
	uint8_t used;
	uint16_t port;     /* the transport session (UDP source port) it follows */
	uint32_t expected; /* sequence of the next export */
	uint32_t uptime;   /* sysUptime of the newest export (v5, v9) */
	uint64_t missing;  /* units counted in gaps that have not turned up */
};

struct fl_seq_result {
	uint64_t gap, late;
	int reset;
};

/* Account one export: `seq` its sequence number, `units` what it adds to it
 * (flows for v5, 1 for v9, data records for IPFIX), `window` how far back a
 * late export may be. `has_uptime`: the uptime can tell a reboot. */
void fl_seq_track(struct fl_seq *s, uint32_t seq, uint32_t units, uint32_t window, uint32_t uptime,
                  int has_uptime, struct fl_seq_result *r);

/* The UDP source port of a sender (network order; 0: unknown). */
uint16_t fl_source_port(const struct sockaddr *sa);

/* ------------------------------------------------------------------------ */
/* Streams and their templates                                              */

/* Identity of an exporter stream. All uint8_t/aligned: no padding. */
struct fl_key {
	uint8_t family; /* AF_INET, AF_INET6, 0: unknown sender */
	uint8_t zero;
	uint16_t port;  /* UDP source port where it scopes the stream (v5), else 0 */
	uint32_t domain;
	uint8_t addr[16];
};

/* One field of a template as the wire described it. */
struct fl_field {
	uint16_t id;  /* without the enterprise bit */
	uint16_t len; /* 65535: variable length */
	uint32_t pen; /* enterprise number, 0: IANA */
};

/* A template as the decoder knows it: the wire description, the compiled
 * record layout, and what options records of it announce. Immutable once
 * published; replaced whole. */
struct fl_tmpl {
	atomic_int refs;
	uint16_t id;
	uint8_t options;  /* an options template */
	uint8_t restored; /* loaded from state_dir and not yet sent again */
	uint16_t nfields, nscope;
	struct nfc_template *t; /* NULL: not compiled (an options template whose
	                           records are not forwarded still has one) */
	size_t mem;             /* bytes counted against template_memory */
	size_t reclen;          /* record length when no field is variable, else 0 */
	/* options fields of interest: index in f[] + 1, 0 when absent */
	uint16_t o_interval, o_pkt_interval, o_pkt_space, o_size, o_population, o_init_ms, o_sampler,
		o_ifindex, o_ifname, o_ifdesc;
	struct fl_field f[];
};

#define FL_SAMPLERS 8
#define FL_IFNAME_MAX 48 /* bytes of an interface name kept */
#define FL_IFNAMES 512   /* interface names kept per exporter stream */

struct fl_ifname {
	uint32_t index;
	char name[FL_IFNAME_MAX + 1];
};

struct fl_pending {
	struct fl_pending *next;
	uint16_t tid;
	struct nfc_held *h;
	size_t mem;
	time_t held_at; /* CLOCK_MONOTONIC seconds (a capture's times may be old) */
	uint64_t export_ms;
};

struct fl_stream {
	struct fl_key key;
	atomic_int refs;
	pthread_mutex_t lock;
	struct fl_stream *hnext;            /* hash chain (table lock) */
	struct fl_stream *lru_prev, *lru_next; /* table lock */
	int dead;                           /* evicted (table lock) */
	/* the rest under the stream's lock */
	struct fl_tmpl **tmpl; /* sorted by id */
	size_t ntmpl, captmpl;
	struct fl_pending *pend, *pend_tail;
	size_t npend, pend_bytes;
	uint32_t sampling;  /* announced sampling interval, 0: none (or samplers disagree) */
	struct fl_sampler {
		uint32_t id, interval;
	} sampler[FL_SAMPLERS]; /* intervals announced per sampler / selector id */
	unsigned nsampler;
	struct fl_ifname *ifname; /* interface names announced by options data */
	size_t nifname, capifname;
	uint64_t init_ms;   /* IPFIX systemInitTimeMilliseconds, 0: unknown */
	struct fl_seq seq[4]; /* one per transport session seen lately */
	time_t last_seen;
	uint64_t datagrams, records;
	uint64_t no_template; /* data sets of this stream dropped undecoded */
};

/* Limits and options of a template decoder instance (its parameters). */
struct fl_cfg {
	int options_records, add_exporter, add_sampling, add_times, renormalize, save_templates;
	long long max_exporters, max_templates, hold_sets, hold_seconds;
	unsigned long long hold_bytes, hold_memory, template_memory;
};

struct fl_table;

/* Compile a template into the layout records are emitted with (the
 * decoder's naming); NULL when it cannot be. *mem: the bytes the compiled
 * layout takes (counted against template_memory). */
typedef struct nfc_template *(*fl_compile_fn)(void *arg, const struct fl_tmpl *t, size_t *mem);

/* A table for a decoder instance. compile NULL: no templates (v5), and no
 * template counters. seq_unit names the sequence counters
 * (sequence_gap_<unit>, sequence_late_<unit>, sequence_resets). state_name
 * NULL: nothing saved. */
struct fl_table *fl_table_new(struct nfc_ctx *ctx, const struct fl_cfg *cfg, const char *state_name,
                              const char *seq_unit, fl_compile_fn compile, void *arg);
void fl_table_free(struct fl_table *tb);

/* The stream of `key`, created when new (NULL: no memory). Takes a
 * reference: give it back with fl_stream_put(). */
struct fl_stream *fl_stream_get(struct fl_table *tb, const struct fl_key *key);
void fl_stream_put(struct fl_table *tb, struct fl_stream *s);
/* Fill a key from the datagram's sender. */
void fl_key_make(struct fl_key *k, const struct sockaddr *sa, uint16_t port, uint32_t domain);
/* "192.0.2.1 domain 7" for log lines. */
const char *fl_key_text(const struct fl_key *k, char *buf, size_t len);

/* Under the stream's lock: */
struct fl_tmpl *fl_tmpl_find(struct fl_stream *s, uint16_t id);
/* Allocate a template description of n fields (refs 1). */
struct fl_tmpl *fl_tmpl_alloc(uint16_t id, int options, uint16_t nfields, uint16_t nscope);
void fl_tmpl_put(struct fl_tmpl *t);
/* Is the same layout already published under t's id (a resend)? Marks it
 * sent again (no longer only restored). Stream lock held. */
int fl_tmpl_known(struct fl_stream *s, const struct fl_tmpl *t);
/* Compile t (no lock needed: t is not published yet). NFC_EINVAL when it
 * cannot be used. */
int fl_tmpl_prepare(struct fl_table *tb, struct fl_tmpl *t);
/* Publish t (taking over the caller's reference): an identical template
 * already there is kept (the exporter's periodic resend costs no compile);
 * otherwise t, compiled here unless fl_tmpl_prepare() did it outside the
 * lock, replaces it. Returns the template in place, or NULL when refused
 * (limits, no memory: counted and logged). *changed says whether a new
 * layout was published. Takes the table lock only to evict. */
struct fl_tmpl *fl_tmpl_publish(struct fl_table *tb, struct fl_stream *s, struct fl_tmpl *t, int *changed);
/* Withdraw one template (id), or with all set every template of that kind
 * (options or not: RFC 7011 8.1, ids 2 and 3). */
void fl_tmpl_withdraw(struct fl_table *tb, struct fl_stream *s, uint16_t id, int all, int options);
/* Hold `len` bytes of set data for template `tid` (counted, bounded). */
void fl_hold(struct fl_table *tb, struct fl_stream *s, struct nfc_decode *d, uint16_t tid, const uint8_t *p,
             size_t len, uint64_t export_ms);
/* Detach the held data of template `tid`, oldest first (the caller
 * replays then frees each with fl_pending_free). */
struct fl_pending *fl_take_pending(struct fl_table *tb, struct fl_stream *s, uint16_t tid);
void fl_pending_free(struct fl_table *tb, struct fl_pending *p);
/* The sequence state of transport session `port` in s (its lock held):
 * the one following it, else a free or reused slot, reset. */
struct fl_seq *fl_seq_for(struct fl_stream *s, uint16_t port);
/* Count what fl_seq_track() found (no lock needed). */
void fl_seq_count(struct fl_table *tb, const struct fl_seq_result *r);
/* Options knowledge changed: saved with the templates. */
void fl_table_dirty(struct fl_table *tb);
/* What options data announced (stream lock held): the sampling interval of
 * a sampler (without an id: of the whole exporter), an interface's name. */
void fl_learn_sampler(struct fl_table *tb, struct fl_stream *s, int has_id, uint32_t id, uint32_t interval);
void fl_learn_ifname(struct fl_table *tb, struct fl_stream *s, uint32_t index, const uint8_t *name, size_t len);

/* Once a second: expire held data, save the state when it changed. */
void fl_table_tick(struct fl_table *tb);
/* Write the state now (at stop). */
void fl_table_save(struct fl_table *tb);

/* The parameters every decoder has for the keys added to each record
 * (docs/flow-fields.md); T is the instance struct, whose member `cfg` is a
 * struct fl_cfg. */
#define FL_PARAMS_ADDED(T)                                                                                  \
	{ "add_exporter", NFC_PARAM_BOOL, "yes", 0, offsetof(T, cfg.add_exporter), 0, 0,                    \
	  "add exporterIPv4Address/exporterIPv6Address (the datagram's sender) to every record" },          \
	{ "add_sampling", NFC_PARAM_BOOL, "yes", 0, offsetof(T, cfg.add_sampling), 0, 0,                    \
	  "add the sampling interval the exporter announced to records that do not carry one" },            \
	{ "add_times", NFC_PARAM_BOOL, "yes", 0, offsetof(T, cfg.add_times), 0, 0,                          \
	  "add flowStartSeconds/flowEndSeconds (absolute) to records that can have them" },                 \
	{ "max_exporters", NFC_PARAM_INT, "4096", 0, offsetof(T, cfg.max_exporters), 1, 1 << 20,            \
	  "exporter streams remembered; the least recently seen one makes room for a new one" }

/* Counter ids of the table (registered by fl_table_new). */
struct fl_counters {
	int templates, templates_refused, withdrawals, exporters_evicted, no_template, held, replayed,
	    restored, seq_gap, seq_late, seq_reset;
};
const struct fl_counters *fl_table_counters(const struct fl_table *tb);
/* The decoders' exporters() op: the `max` most recently seen streams. */
void fl_table_exporters(struct fl_table *tb, size_t max, void (*each)(void *arg, const struct nfc_exporter_info *e),
                        void *arg);

#endif
