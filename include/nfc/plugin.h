/*
 * netflow-concentrator plugin SDK: the only installed header.
 *
 * ABI changelog (bump NFC_ABI_MINOR for additions, NFC_ABI_MAJOR for anything
 * that breaks an existing plugin):
 *   1.0  first public ABI: descriptors, parameter tables, input/decoder/output
 *        operation tables, batches, buffers, TLS connections, logging.
 *        (It is frozen by the first release, 0.1.0, not tagged yet; from
 *        then on every change here bumps a number.)
 *        Changed within 1.0 before any release, for NetFlow v9 and IPFIX:
 *        struct nfc_field gained flags, id, src and enterprise (VARLEN is
 *        the flag NFC_FIELD_F_VARLEN, no longer the length 0xffff); kinds
 *        FLOAT, BOOL, TIME_*, and the derived kinds EXPORTER, SAMPLING,
 *        UPTIME_SECS, TIME_SECS, DELTA_SECS; each datagram's origin
 *        (nfc_decode_set_origin/_uptime/_sampling, nfc_batch_record_exporter/
 *        _domain/_export_time/_version); data held until its template
 *        arrives (nfc_hold, nfc_replay); nfc_template_get, nfc_decode_worker,
 *        nfc_state_dir, the decoder's tick(); nfc_worker_throttle and the
 *        input's end of data (run() returning NFC_OK before shutdown);
 *        the output's reopen() on SIGHUP; for delivery without loss, send()
 *        reports the bytes it consumed and may answer NFC_PENDING
 *        (nfc_output_settle), the core owns retries and backoff; the
 *        decoder's exporters() (struct nfc_exporter_info) for the metrics
 *        and --status; the output's diagnose() and status() for --test-connection and the
 *        stats line, nfc_diag(), the steps of a connection (nfc_conn_resolve/
 *        _connect_addr/_handshake/_info), nfc_buf_new/_destroy.
 *
 * Rules of this header:
 *  - Every struct a plugin fills in starts with its own `size` (sizeof as the
 *    plugin was compiled) and is append-only. The core reads only the first
 *    `size` bytes, so a plugin built against an older minor keeps working.
 *  - Handles (struct nfc_ctx, nfc_worker, nfc_decode, nfc_batch, nfc_buf,
 *    nfc_template, nfc_conn) are opaque: their bodies live in the core and
 *    plugins use the functions declared here.
 *  - Functions return NFC_OK (0), NFC_RETRY (> 0, transient: the core keeps the
 *    data, backs off and calls again) or a negative NFC_E* error, except
 *    where a count is documented (nfc_emit(), encode()).
 *
 * Threading contract:
 *  - One instance's callbacks MUST NOT be assumed to run on one thread, but the
 *    core never runs two callbacks of one output instance concurrently.
 *  - An input's run() is called once per worker, each on its own thread.
 *  - A decoder's decode() may run on several input workers at once: decoder
 *    state shared between datagrams MUST be protected by the plugin (a lock
 *    per datagram or per set, never per record). tick() runs on the main
 *    thread, concurrently with decode().
 *  - A batch passed to encode() is borrowed read-only for the call.
 *  - Bytes appended to a struct nfc_buf belong to the core.
 */
#ifndef NFC_PLUGIN_H
#define NFC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NFC_ABI_MAJOR 1
#define NFC_ABI_MINOR 0

/** The one symbol every plugin exports (a struct nfc_plugin). */
#define NFC_PLUGIN_SYMBOL "nfc_plugin_v1"

#if defined(__GNUC__)
#define NFC_EXPORT __attribute__((visibility("default")))
#define NFC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NFC_EXPORT
#define NFC_PRINTF(a, b)
#endif

/* Results. */
#define NFC_OK 0
#define NFC_RETRY 1
#define NFC_PENDING 2 /**< output send(): accepted, settled later */
#define NFC_ERROR (-1)      /**< generic failure, already logged */
#define NFC_EINVAL (-2)     /**< bad argument or configuration value */
#define NFC_ENOMEM (-3)     /**< allocation failed */
#define NFC_EMALFORMED (-4) /**< remote input is malformed */
#define NFC_ETOOBIG (-5)    /**< a limit was exceeded */
#define NFC_ETIMEDOUT (-6)  /**< the shutdown's drain deadline passed */

/* ------------------------------------------------------------------------ */
/* Opaque handles                                                           */

struct nfc_ctx;      /**< one plugin instance as seen by the core */
struct nfc_worker;   /**< one input worker thread */
struct nfc_decode;   /**< one datagram being decoded */
struct nfc_batch;    /**< decoded records handed to outputs */
struct nfc_buf;      /**< a growable byte buffer owned by the core */
struct nfc_template; /**< a compiled record layout */
struct nfc_conn;     /**< an outbound TCP or TLS connection */
struct nfc_held;     /**< bytes a decoder keeps until it can decode them */

/* ------------------------------------------------------------------------ */
/* Parameters                                                               */

enum nfc_param_type {
	NFC_PARAM_STRING = 1, /**< char *, owned by the core, NUL-terminated */
	NFC_PARAM_INT,        /**< long long, checked against min/max */
	NFC_PARAM_BOOL,       /**< int: yes/no, true/false, on/off, 1/0 */
	NFC_PARAM_SIZE,       /**< unsigned long long, accepts k/M/G suffixes (1024) */
};

#define NFC_PARAM_REQUIRED 0x1u /**< no default; the key must be set */
#define NFC_PARAM_SECRET 0x2u   /**< never printed, not even in debug logs */

/**
 * One configuration key. The core reads the section of the instance, rejects
 * unknown keys and values of the wrong type or range (naming file and line),
 * applies `def` when the key is absent and writes the value at `offset` in
 * the instance struct. A table ends with an entry whose name is NULL.
 */
struct nfc_param {
	const char *name;
	enum nfc_param_type type;
	const char *def; /**< default, as it would be written in the file; NULL: none */
	unsigned flags;
	size_t offset; /**< offsetof(instance struct, member) */
	long long min, max; /**< for INT and SIZE; both 0: no range */
	const char *doc;
};

/* ------------------------------------------------------------------------ */
/* Logging (lines go to stderr, prefixed with the instance name)           */

enum nfc_log_level { NFC_LOG_ERR = 3, NFC_LOG_WARN = 4, NFC_LOG_INFO = 6, NFC_LOG_DEBUG = 7 };

NFC_EXPORT void nfc_log(struct nfc_ctx *ctx, enum nfc_log_level level, const char *fmt, ...)
	NFC_PRINTF(3, 4);
/** For events caused by remote input: at most a few lines per interval per
 *  instance, then one line saying how many were suppressed. */
NFC_EXPORT void nfc_log_remote(struct nfc_ctx *ctx, enum nfc_log_level level, const char *fmt, ...)
	NFC_PRINTF(3, 4);
/** Report a configuration error about `key` of this instance from check():
 *  the core prints it with the file and line where the key was set. */
NFC_EXPORT void nfc_config_error(struct nfc_ctx *ctx, const char *key, const char *fmt, ...)
	NFC_PRINTF(3, 4);
NFC_EXPORT const char *nfc_ctx_name(const struct nfc_ctx *ctx);
/** Was `key` written in the configuration file (rather than defaulted)? */
NFC_EXPORT int nfc_ctx_param_set(const struct nfc_ctx *ctx, const char *key);
/** The directory for persistent state ([core] state_dir); it may not exist
 *  or be writable: plugins create files in it and report failures. */
NFC_EXPORT const char *nfc_state_dir(const struct nfc_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Counters: registered at start(), then bumped without locks              */

/** Register a named counter for this instance (shown in the stats line).
 *  Returns its id (>= 0) or a negative error. Counters are per thread inside
 *  the core and summed when read. */
NFC_EXPORT int nfc_counter_register(struct nfc_ctx *ctx, const char *name);
NFC_EXPORT void nfc_counter_add(struct nfc_ctx *ctx, int id, uint64_t n);

/* ------------------------------------------------------------------------ */
/* Buffers                                                                  */

/** Make room for `n` more bytes and return where they go, or NULL (no memory). */
NFC_EXPORT char *nfc_buf_reserve(struct nfc_buf *b, size_t n);
/** Account `n` bytes written at the pointer the last reserve returned. */
NFC_EXPORT void nfc_buf_commit(struct nfc_buf *b, size_t n);
NFC_EXPORT int nfc_buf_append(struct nfc_buf *b, const void *p, size_t n);
NFC_EXPORT size_t nfc_buf_len(const struct nfc_buf *b);
NFC_EXPORT char *nfc_buf_data(struct nfc_buf *b);
/** Shrink to `len` bytes (to undo a partially written frame). */
NFC_EXPORT void nfc_buf_truncate(struct nfc_buf *b, size_t len);
/** A buffer of the plugin's own (scratch space, a test event in
 *  diagnose()), `cap` bytes to start (0: a small default); NULL when out of
 *  memory. Free it with nfc_buf_destroy() (NULL: a no-op). Buffers passed
 *  to encode() are the core's: never destroy those. */
NFC_EXPORT struct nfc_buf *nfc_buf_new(size_t cap);
NFC_EXPORT void nfc_buf_destroy(struct nfc_buf *b);

/* ------------------------------------------------------------------------ */
/* Templates and records (decoder side)                                     */

/** How a field's bytes are rendered in the record JSON. */
enum nfc_field_kind {
	NFC_FIELD_UINT = 1, /**< big-endian unsigned, 1..8 bytes: a JSON number */
	NFC_FIELD_INT,      /**< big-endian two's complement, 1..8 bytes */
	NFC_FIELD_IPV4,     /**< 4 bytes: "a.b.c.d" */
	NFC_FIELD_IPV6,     /**< 16 bytes: RFC 5952 text */
	NFC_FIELD_MAC,      /**< 6 bytes: "aa:bb:cc:dd:ee:ff" */
	NFC_FIELD_STRING,   /**< UTF-8 text up to the first NUL, JSON-escaped */
	NFC_FIELD_BYTES,    /**< anything else: lower-case hex string */
	NFC_FIELD_SKIP,     /**< not rendered (padding) */
	NFC_FIELD_FLOAT,    /**< IEEE 754 binary32 (4 bytes) or binary64 (8): a number; NaN and
	                         infinities (no JSON form) as null */
	NFC_FIELD_BOOL,     /**< RFC 7011 6.1.5: 1 true, 2 false; other values as a number */
	NFC_FIELD_TIME_S,   /**< dateTimeSeconds: seconds since 1970, a number */
	NFC_FIELD_TIME_MS,  /**< dateTimeMilliseconds: milliseconds since 1970, a number */
	NFC_FIELD_TIME_US,  /**< dateTimeMicroseconds (NTP format): microseconds since 1970 */
	NFC_FIELD_TIME_NS,  /**< dateTimeNanoseconds (NTP format): nanoseconds since 1970 */
	/* Derived kinds take no bytes of the record: their value comes from the
	 * datagram's origin (nfc_decode_set_*) and, for the time kinds, from the
	 * field at index `src` of the same template. Omitted when unknown. */
	NFC_FIELD_EXPORTER,    /**< the exporter's address; the key is "exporterIPv4Address" or
	                            "exporterIPv6Address" (IANA IEs 130/131) whatever `name` says */
	NFC_FIELD_SAMPLING,    /**< the sampling interval set with nfc_decode_set_sampling() */
	NFC_FIELD_UPTIME_SECS, /**< seconds since 1970 of field `src`, a sysUptime in ms:
	                            export time - (uptime - value) */
	NFC_FIELD_TIME_SECS,   /**< field `src`, of a kind TIME_S/MS/US/NS, in seconds since 1970 */
	NFC_FIELD_DELTA_SECS,  /**< export time - field `src` (microseconds), in seconds */
};

/** The field's length is carried in each record (RFC 7011 section 7). */
#define NFC_FIELD_F_VARLEN 0x1u
/** An unsigned counter multiplied by the sampling interval when rendered. */
#define NFC_FIELD_F_SCALE 0x2u

/** One field of a record layout, as the decoder describes it. */
struct nfc_field {
	const char *name;    /**< JSON key; copied by the core. A name used earlier in the same
	                          template gets "_2", "_3", ... (RFC 7011 allows repeats) */
	enum nfc_field_kind kind;
	uint16_t length;     /**< bytes in the record; ignored for VARLEN and derived fields */
	uint16_t flags;      /**< NFC_FIELD_F_* */
	uint16_t id;         /**< information element id / v9 field type (0: none) */
	uint16_t src;        /**< derived time kinds: index of the field they convert */
	uint32_t enterprise; /**< private enterprise number of the element (0: IANA) */
};

/**
 * Compile a record layout: fields are consecutive in the record, in this
 * order. The core builds the JSON program for it once. The template is
 * reference-counted: the decoder holds one reference and drops it with
 * nfc_template_put(); batches in flight hold their own, so a decoder may
 * replace or withdraw a template at any time. Returns NULL when the layout
 * is invalid (an unknown kind, a bad `src`, or records of zero bytes).
 */
NFC_EXPORT struct nfc_template *nfc_template_new(struct nfc_ctx *ctx, const struct nfc_field *fields,
                                                 size_t nfields);
/** Take one more reference (for a template shared between threads). */
NFC_EXPORT struct nfc_template *nfc_template_get(struct nfc_template *t);
NFC_EXPORT void nfc_template_put(struct nfc_template *t);
/** Fixed record length in bytes, or 0 when the template has VARLEN fields. */
NFC_EXPORT size_t nfc_template_record_len(const struct nfc_template *t);

/**
 * Emit one record from decode(): `data` points into the datagram being
 * decoded and `len` is how many bytes are available from there (the record's
 * length for fixed templates; for VARLEN templates the core walks the length
 * prefixes itself, RFC 7011 section 7). Returns the record's length in bytes
 * (>= 0), or NFC_EMALFORMED when the record does not fit in `len`.
 */
NFC_EXPORT int nfc_emit(struct nfc_decode *d, struct nfc_template *t, const uint8_t *data, size_t len);
/** The datagram's sender (an IPv4-mapped IPv6 address is given as IPv4) and
 *  the time it was received. */
NFC_EXPORT const struct sockaddr *nfc_decode_source(const struct nfc_decode *d);
NFC_EXPORT struct timespec nfc_decode_time(const struct nfc_decode *d);
/** Index of the input worker decoding this datagram (0..workers-1). */
NFC_EXPORT unsigned nfc_decode_worker(const struct nfc_decode *d);

/** The datagram's origin, from its header: the observation domain (IPFIX),
 *  source id (v9) or engine (v5), and the export time in ms since 1970. */
NFC_EXPORT void nfc_decode_set_origin(struct nfc_decode *d, uint16_t version, uint32_t domain,
                                      uint64_t export_ms);
/** The exporter's sysUptime at export, in ms (v5, v9; for IPFIX the time
 *  since systemInitTimeMilliseconds when known): enables UPTIME_SECS. */
NFC_EXPORT void nfc_decode_set_uptime(struct nfc_decode *d, uint32_t uptime_ms);
/** The sampling interval the exporter announced (0: none known). */
NFC_EXPORT void nfc_decode_set_sampling(struct nfc_decode *d, uint32_t interval);

/**
 * Data before its template: nfc_hold() copies `len` bytes of the datagram
 * being decoded, with its origin and receive time, and returns a handle the
 * decoder keeps (bounded by its own limits) or NULL (no memory). Later,
 * from any decode() call, nfc_replay() decodes them as if they had just
 * arrived in their own datagram: it calls fn(arg, sub, bytes, len) with a
 * decode context `sub` whose source, origin and receive time are the held
 * ones; fn emits records with nfc_emit(sub, ...) from those bytes and
 * returns NFC_OK or NFC_EMALFORMED (counted as malformed). The handle stays
 * the decoder's: free it with nfc_held_free() (from any thread).
 */
NFC_EXPORT struct nfc_held *nfc_hold(struct nfc_decode *d, const uint8_t *p, size_t len);
NFC_EXPORT int nfc_replay(struct nfc_decode *d, struct nfc_held *h,
                          int (*fn)(void *arg, struct nfc_decode *sub, const uint8_t *p, size_t len),
                          void *arg);
/** Memory the handle takes, and when its datagram was received (REALTIME). */
NFC_EXPORT size_t nfc_held_size(const struct nfc_held *h);
NFC_EXPORT struct timespec nfc_held_time(const struct nfc_held *h);
NFC_EXPORT void nfc_held_free(struct nfc_held *h);

/* ------------------------------------------------------------------------ */
/* Batches (output side)                                                    */

NFC_EXPORT size_t nfc_batch_count(const struct nfc_batch *b);
/** When the first datagram of the batch was received (CLOCK_REALTIME). */
NFC_EXPORT struct timespec nfc_batch_time(const struct nfc_batch *b);
/** When the datagram of record `i` was received (CLOCK_REALTIME; the
 *  kernel's receive time where the input provides it). */
NFC_EXPORT struct timespec nfc_batch_record_time(const struct nfc_batch *b, size_t i);
/** The exporter of record `i`: fills `out` (IPv4-mapped IPv6 given as
 *  IPv4) and returns its length, or 0 when unknown. */
NFC_EXPORT socklen_t nfc_batch_record_exporter(const struct nfc_batch *b, size_t i,
                                               struct sockaddr_storage *out);
/** Observation domain / source id / engine of record `i` (0: none). */
NFC_EXPORT uint32_t nfc_batch_record_domain(const struct nfc_batch *b, size_t i);
/** Export time of record `i`'s datagram, ms since 1970 (0: unknown). */
NFC_EXPORT uint64_t nfc_batch_record_export_time(const struct nfc_batch *b, size_t i);
/** Export format version of record `i` (5, 9, 10). */
NFC_EXPORT uint16_t nfc_batch_record_version(const struct nfc_batch *b, size_t i);
/** Append record `i` as one flat JSON object (no newline). The one encoder
 *  every output uses. Returns NFC_OK or NFC_ENOMEM. */
NFC_EXPORT int nfc_batch_json(const struct nfc_batch *b, size_t i, struct nfc_buf *out);

/* ------------------------------------------------------------------------ */
/* Input side                                                               */

struct nfc_datagram {
	const uint8_t *data;
	size_t len;
	struct sockaddr_storage source;
	struct timespec received; /**< CLOCK_REALTIME; zero: the core stamps it */
	int truncated;            /**< larger than the receive buffer */
};

/** Hand received datagrams to the core: it decodes them on this thread and
 *  queues the records for every output. The data may be reused on return.
 *  The core holds a small batch of records for up to ~2 ms to gather more:
 *  run() MUST call nfc_submit(w, NULL, 0) when nothing arrived for a while
 *  (at most ~250 ms), which sends what is held. */
NFC_EXPORT void nfc_submit(struct nfc_worker *w, const struct nfc_datagram *dg, size_t n);
/** Datagrams the kernel dropped on this worker's socket (SO_RXQ_OVFL delta). */
NFC_EXPORT void nfc_worker_drops(struct nfc_worker *w, uint64_t n);
NFC_EXPORT unsigned nfc_worker_index(const struct nfc_worker *w);
/** For inputs that can wait (a file being read): block while any output's
 *  memory queue is more than half full, so nothing is dropped for want of
 *  room. Returns early when the daemon stops. From its first call on, a
 *  batch of this worker that finds a queue full also waits for room rather
 *  than being dropped (a batch can be larger than half a small queue). */
NFC_EXPORT void nfc_worker_throttle(struct nfc_worker *w);
/** Non-zero once the daemon is shutting down: run() must return soon
 *  (block at most ~250 ms at a time). */
NFC_EXPORT int nfc_worker_stopping(const struct nfc_worker *w);
NFC_EXPORT struct nfc_ctx *nfc_worker_ctx(struct nfc_worker *w);

/* ------------------------------------------------------------------------ */
/* Connections (core-owned TLS: the keys tls, tls_verify, ca_file and       */
/* server_name are added to the parameters of plugins with NFC_PLUGIN_TLS)  */

/** Connect to host:port (TCP, then TLS unless the instance set tls=no).
 *  Returns NFC_OK, NFC_RETRY (unreachable, handshake failed: logged with the
 *  reason) or a negative error. */
NFC_EXPORT int nfc_conn_open(struct nfc_ctx *ctx, const char *host, unsigned port, struct nfc_conn **out);
/** Write all `len` bytes. NFC_OK, or NFC_RETRY when the connection broke
 *  (the caller closes it and reconnects). *written (may be NULL) is set to
 *  the bytes handed to the connection before it broke. */
NFC_EXPORT int nfc_conn_write(struct nfc_conn *c, const void *p, size_t len, size_t *written);
/** Non-zero when the peer closed or reset the connection while idle. */
NFC_EXPORT int nfc_conn_dead(struct nfc_conn *c);
/** Clean close: TLS close_notify, half-close, drain, close. NULL is a no-op. */
NFC_EXPORT void nfc_conn_close(struct nfc_conn *c);
/** Wait up to timeout_ms for `events` (POLLIN, POLLOUT) on a descriptor of
 *  the plugin's own, returning early when the shutdown's drain deadline
 *  passes, so an output's blocking I/O never outlives drain_timeout:
 *  1 ready, 0 timed out, NFC_ETIMEDOUT the drain deadline passed, negative
 *  on a poll error. */
NFC_EXPORT int nfc_wait_fd(struct nfc_ctx *ctx, int fd, short events, int timeout_ms);
/** The instance's TLS keys, for a plugin that makes its connections with
 *  another library (libcurl): returns 1 when tls=yes, 0 for plain TCP;
 *  *verify, *ca_file (NULL: the system store) and *server_name (NULL: the
 *  host) as configured. Any pointer may be NULL. */
NFC_EXPORT int nfc_tls_settings(const struct nfc_ctx *ctx, int *verify, const char **ca_file,
                                const char **server_name);

/*
 * The steps of nfc_conn_open(), one at a time, for an output's diagnose():
 * each is bounded by `timeout_ms`, logs nothing and, on failure, writes the
 * reason in plain words to `why` (one line, no newline; it may quote
 * what the server sent: escape it before printing, as nfc_diag() does).
 */

/** Look `host` up for TCP `port`, giving up after timeout_ms. Fills up to
 *  `max` addresses in the resolver's order and returns how many (>= 1);
 *  0 when there is none (the name does not resolve, the DNS does not
 *  answer: see `why`); NFC_EINVAL for bad arguments. */
NFC_EXPORT int nfc_conn_resolve(const char *host, unsigned port, unsigned timeout_ms,
                                struct sockaddr_storage *addrs, size_t max, char *why, size_t whylen);
/** TCP connection to one address (no TLS yet). NFC_OK and *out, or
 *  NFC_RETRY with errno set (ECONNREFUSED, ETIMEDOUT, ENETUNREACH, ...). The
 *  connection is then used like one from nfc_conn_open() (write, close). */
NFC_EXPORT int nfc_conn_connect_addr(struct nfc_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
                                     unsigned timeout_ms, struct nfc_conn **out, char *why, size_t whylen);
/** TLS handshake on a connection from nfc_conn_connect_addr(), verifying the
 *  certificate against `host` (or server_name=) as nfc_conn_open() does.
 *  NFC_OK, NFC_RETRY (refused, timed out: see `why` and nfc_conn_info()),
 *  NFC_EINVAL (tls=no, or TLS not prepared). Close the connection either way. */
NFC_EXPORT int nfc_conn_handshake(struct nfc_conn *c, const char *host, unsigned timeout_ms, char *why,
                                  size_t whylen);

/** What a connection is connected to. Strings are "" when unknown. */
struct nfc_conn_info {
	size_t size;           /**< set by the caller: sizeof(struct nfc_conn_info) */
	char addr[56];         /**< "192.0.2.1:10514", "[2001:db8::1]:10514" */
	int tls;               /**< a handshake was attempted */
	int handshake_done;
	int verified;          /**< certificate and name verified (0 with tls_verify=no) */
	int untrusted_issuer;  /**< refused because no trusted CA issued it (a private CA,
	                            or a TLS-inspecting proxy's own certificate) */
	char verify_error[128];/**< OpenSSL's words for a refused certificate */
	char protocol[16];     /**< "TLSv1.3" once the handshake is done */
	char cipher[64];       /**< "TLS_AES_256_GCM_SHA384" */
	char subject[256];     /**< the server certificate's subject, RFC 2253, also when refused */
	char issuer[256];      /**< and its issuer */
};

/** Fill the first info->size bytes of `info`. NFC_OK or NFC_EINVAL. */
NFC_EXPORT int nfc_conn_info(const struct nfc_conn *c, struct nfc_conn_info *info);

/* ------------------------------------------------------------------------ */
/* Descriptors                                                              */

enum nfc_plugin_kind { NFC_KIND_INPUT = 1, NFC_KIND_DECODER = 2, NFC_KIND_OUTPUT = 3 };

#define NFC_PLUGIN_TLS 0x1u /**< output uses nfc_conn_*: the core adds the TLS keys */

struct nfc_input_ops {
	size_t size;
	/** Open sockets; set *nworkers (>= 1). Errors here stop start-up. */
	int (*open)(void *inst, struct nfc_ctx *ctx, unsigned *nworkers);
	/** Receive until nfc_worker_stopping(); called once per worker thread.
	 *  An input with a natural end (a capture file) returns NFC_OK when its
	 *  data is exhausted: once every worker of every input has returned, the
	 *  daemon delivers what is queued and exits. */
	int (*run)(void *inst, struct nfc_worker *w);
	/** Describe what is listened on, for the start-up log line. */
	void (*describe)(void *inst, char *out, size_t outlen);
	void (*close)(void *inst);
};

/** One exporter as a decoder knows it (the exporters() op). */
struct nfc_exporter_info {
	size_t size;       /**< sizeof as the decoder was compiled */
	uint8_t family;    /**< AF_INET or AF_INET6 */
	uint8_t addr[16];  /**< 4 bytes for AF_INET */
	uint16_t port;     /**< the source port where it scopes the stream (v5), else 0 */
	uint32_t domain;   /**< source id / observation domain (v5: engine type and id) */
	uint64_t datagrams, records;
	uint64_t sequence_missing; /**< units the sequence numbers say are missing */
	unsigned templates;        /**< templates known now */
	time_t last_seen;          /**< wall clock, seconds */
	uint64_t no_template;      /**< data sets dropped undecoded (no template in time) */
};

struct nfc_decoder_ops {
	size_t size;
	/** Export format versions handled (first 16 bits of the datagram, network
	 *  order), 0-terminated. */
	uint16_t versions[8];
	int (*start)(void *inst, struct nfc_ctx *ctx);
	/** Decode one datagram, calling nfc_emit() per record. Return NFC_OK, or
	 *  NFC_EMALFORMED (the core counts it; records already emitted stay). */
	int (*decode)(void *inst, struct nfc_decode *d, const uint8_t *p, size_t len);
	void (*stop)(void *inst);
	/** Optional: about once a second on the main thread (expire held data,
	 *  save state). */
	void (*tick)(void *inst);
	/** Optional: report the exporters the decoder knows, most recently seen
	 *  first, at most `max`, calling each() once per exporter (its address
	 *  and domain as streams are scoped). Runs on the metrics thread,
	 *  concurrently with decode(): take the decoder's own locks. */
	void (*exporters)(void *inst, size_t max, void (*each)(void *arg, const struct nfc_exporter_info *e),
	                  void *arg);
};

struct nfc_output_ops {
	size_t size;
	int (*start)(void *inst, struct nfc_ctx *ctx);
	/** Pure: append the bytes for the records of the batch to `out`. Must
	 *  not do I/O. Returns how many records it encoded (>= 0): the others
	 *  it refused (too large, say) and the core counts them as `refused`.
	 *  Negative: nothing of this batch is kept (the core removes what was
	 *  appended) and its records count as `send_errors`. */
	int (*encode)(void *inst, const struct nfc_batch *b, struct nfc_buf *out);
	/** Deliver bytes produced by encode(). `off` is the offset of p[0] in
	 *  the output's byte stream (it only grows; a resend of failed bytes
	 *  repeats their offset). Set *consumed to how many bytes from p on
	 *  this call took (0..len); the core keeps the rest and offers it again.
	 *   NFC_OK       the consumed bytes are delivered.
	 *   NFC_PENDING  the consumed bytes were accepted but are not delivered
	 *                yet: the plugin settles exactly that range later, from
	 *                any thread, with nfc_output_settle(ctx, off, *consumed,
	 *                ok). Until then the core keeps them (an in-flight
	 *                window bounds how much is pending).
	 *   NFC_RETRY    transient failure after the consumed bytes: the core
	 *                backs off (exponential, with jitter) and offers the rest
	 *                again; the plugin keeps no copy.
	 *   negative     permanent failure: the bytes of the records not
	 *                consumed are dropped and counted (send_errors).
	 *  A record counts as delivered once all its bytes are delivered. */
	int (*send)(void *inst, const char *p, size_t len, uint64_t off, size_t *consumed);
	/** Called when idle about once a second (keepalive, reconnect checks). */
	void (*idle)(void *inst);
	void (*stop)(void *inst);
	/** Optional: the daemon got SIGHUP (log rotation): reopen files by their
	 *  configured names. Runs on the output's thread, between two send()s
	 *  (nothing encoded is waiting), so it needs no lock. */
	void (*reopen)(void *inst);
	/** Optional: `--test-connection`. Check, step by step, that this output
	 *  can deliver (resolve, connect, handshake, ...), reporting each step
	 *  with nfc_diag(); with NFC_DIAG_SEND_EVENT in flags also deliver one
	 *  test event, else send nothing. Runs on the main thread after check()
	 *  and the core's TLS set-up, without start(); every wait bounded (a
	 *  few seconds). NFC_OK only if it can deliver. */
	int (*diagnose)(void *inst, struct nfc_ctx *ctx, unsigned flags);
	/** Optional: one line on the current state (destination address,
	 *  connected or not, since when), for the stats line.
	 *  Called from another thread than the output's: read only what is safe
	 *  to read concurrently (atomics, or a copy under the plugin's lock). */
	void (*status)(void *inst, char *out, size_t outlen);
};

/** Settle a range a send() answered NFC_PENDING for: NFC_OK when it is
 *  delivered, NFC_RETRY when it failed for now (the core backs off and
 *  offers those bytes again), negative when it can never be delivered (its
 *  records are dropped and counted as send_errors). Any thread, any order,
 *  each range exactly once, and not after stop() began. */
NFC_EXPORT void nfc_output_settle(struct nfc_ctx *ctx, uint64_t off, size_t len, int rc);
/** From start(): at most `n` ranges pending at once (1..64; default 64),
 *  e.g. the requests the plugin keeps in flight. */
NFC_EXPORT void nfc_output_set_pending_max(struct nfc_ctx *ctx, unsigned n);

#define NFC_DIAG_SEND_EVENT 0x1u

enum nfc_diag_verdict { NFC_DIAG_OK = 0, NFC_DIAG_WARN, NFC_DIAG_FAIL, NFC_DIAG_INFO };

/** One step of diagnose(): its name ("resolve intake.sekoia.io"), the
 *  verdict, what was found, and on WARN/FAIL how to fix it (NULL: none).
 *  Printed on standard output as one aligned line after the instance
 *  name, control characters escaped (the text may quote a server). */
NFC_EXPORT void nfc_diag(struct nfc_ctx *ctx, enum nfc_diag_verdict v, const char *step, const char *fix,
                         const char *fmt, ...) NFC_PRINTF(5, 6);

struct nfc_plugin {
	size_t size;          /**< sizeof(struct nfc_plugin) as compiled */
	unsigned abi_major;   /**< NFC_ABI_MAJOR */
	unsigned abi_minor;   /**< NFC_ABI_MINOR */
	enum nfc_plugin_kind kind;
	const char *name;     /**< matches the file name: <kind>_<name>.so */
	const char *version;
	const char *description;
	const char *license;
	unsigned flags;       /**< NFC_PLUGIN_* */
	size_t instance_size; /**< bytes the core allocates (zeroed) per instance */
	const struct nfc_param *params;
	/** Optional: validate the values after they are written into the
	 *  instance; report with nfc_config_error() and return NFC_EINVAL. */
	int (*check)(void *inst, struct nfc_ctx *ctx);
	/** Release what check()/start() allocated. Optional. */
	void (*destroy)(void *inst);
	const struct nfc_input_ops *input;
	const struct nfc_decoder_ops *decoder;
	const struct nfc_output_ops *output;
};

#define NFC_PLUGIN_DEFINE NFC_EXPORT const struct nfc_plugin nfc_plugin_v1

#ifdef __cplusplus
}
#endif
#endif /* NFC_PLUGIN_H */
