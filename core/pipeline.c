/* The record path: input workers hand datagrams to nfc_submit(); they are
 * copied into the worker's current batch, decoded there by the decoder that
 * handles their version, and the batch is queued for every output. Decoding
 * runs on the receiving thread; the only lock taken is one per batch. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "nfc.h"

/* Under AddressSanitizer, the spare bytes of the batch arena are poisoned
 * while a decoder runs, so reading past the datagram is caught although the
 * arena is larger. */
#if defined(__SANITIZE_ADDRESS__)
#define NFC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NFC_ASAN 1
#endif
#endif
#ifdef NFC_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define BATCH_ARENA (512 * 1024) /* datagram bytes per batch */
#define BATCH_RECORDS 4096       /* initial record slots; grows if needed */
#define POOL_KEEP 256            /* free batches kept for reuse */
#define HOLD_NS 2000000L         /* a worker holds a small batch this long */
#define BATCH_DATAGRAMS 256      /* initial datagram slots; grows if needed */

static struct {
	struct nfc_ctx **out;
	size_t nout;
	struct {
		uint16_t version;
		struct nfc_ctx *ctx;
	} dec[NFC_MAX_DECODERS * 8];
	size_t ndec;
	pthread_mutex_t pool_lock;
	struct nfc_batch *pool;
	size_t npool;
} P = { .pool_lock = PTHREAD_MUTEX_INITIALIZER };

static atomic_int stopping;

void nfc_pipeline_stop_inputs(void)
{
	atomic_store(&stopping, 1);
}

int nfc_pipeline_init(struct nfc_ctx **outputs, size_t noutputs, struct nfc_ctx **decoders, size_t ndecoders)
{
	P.out = outputs;
	P.nout = noutputs;
	P.ndec = 0;
	atomic_store(&stopping, 0);
	for (size_t i = 0; i < ndecoders; i++) {
		const struct nfc_decoder_ops *ops = decoders[i]->plugin->decoder;

		for (size_t v = 0; v < 8 && ops->versions[v]; v++) {
			for (size_t j = 0; j < P.ndec; j++) {
				if (P.dec[j].version == ops->versions[v]) {
					nfc_log_core(NFC_LOG_ERR, "decoders '%s' and '%s' both handle version %u; "
					             "list only one in [core] decoders", P.dec[j].ctx->name,
					             decoders[i]->name, ops->versions[v]);
					return NFC_EINVAL;
				}
			}
			if (P.ndec == sizeof(P.dec) / sizeof(P.dec[0]))
				return NFC_ETOOBIG;
			P.dec[P.ndec].version = ops->versions[v];
			P.dec[P.ndec].ctx = decoders[i];
			P.ndec++;
		}
	}
	return NFC_OK;
}

static void batch_free(struct nfc_batch *b)
{
	free(b->arena);
	free(b->rec);
	free(b->tmpl);
	free(b->org);
	free(b);
}

static struct nfc_batch *batch_alloc(void)
{
	struct nfc_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->arena = malloc(BATCH_ARENA);
	b->rec = malloc(BATCH_RECORDS * sizeof(*b->rec));
	b->tmpl = malloc(16 * sizeof(*b->tmpl));
	b->org = malloc(BATCH_DATAGRAMS * sizeof(*b->org));
	if (!b->arena || !b->rec || !b->tmpl || !b->org) {
		batch_free(b);
		return NULL;
	}
	b->cap = BATCH_ARENA;
	b->caprec = BATCH_RECORDS;
	b->captmpl = 16;
	b->capdg = BATCH_DATAGRAMS;
	return b;
}

struct nfc_batch *nfc_batch_get(void)
{
	struct nfc_batch *b;

	pthread_mutex_lock(&P.pool_lock);
	b = P.pool;
	if (b) {
		P.pool = b->next;
		P.npool--;
	}
	pthread_mutex_unlock(&P.pool_lock);
	if (!b)
		b = batch_alloc();
	if (b) {
		atomic_init(&b->refs, 1);
		b->next = NULL;
	}
	return b;
}

static void batch_reset(struct nfc_batch *b)
{
	for (size_t i = 0; i < b->ntmpl; i++)
		nfc_template_put(b->tmpl[i]);
	b->ntmpl = 0;
	b->nrec = 0;
	b->ndg = 0;
	b->used = 0;
}

void nfc_batch_put(struct nfc_batch *b)
{
	if (!b || atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) != 1)
		return;
	batch_reset(b);
	if (b->compact) {
		batch_free(b);
		return;
	}
	pthread_mutex_lock(&P.pool_lock);
	if (P.npool < POOL_KEEP) {
		b->next = P.pool;
		P.pool = b;
		P.npool++;
		b = NULL;
	}
	pthread_mutex_unlock(&P.pool_lock);
	if (b)
		batch_free(b);
}

void nfc_pipeline_free(void)
{
	pthread_mutex_lock(&P.pool_lock);
	while (P.pool) {
		struct nfc_batch *b = P.pool;

		P.pool = b->next;
		batch_free(b);
	}
	P.npool = 0;
	pthread_mutex_unlock(&P.pool_lock);
}

/* A batch that is not nearly full (light traffic, or a batch flushed when
 * half full or 2 ms old) is copied into a right-sized one, so queued records
 * cost about their own size and the worker keeps its large batch. The copy
 * is per batch, not per record: a few microseconds for thousands of records. */
#define COMPACT_BELOW (BATCH_ARENA / 4 * 3)

size_t nfc_batch_footprint(const struct nfc_batch *b)
{
	return sizeof(*b) + b->cap + b->caprec * sizeof(*b->rec) + b->capdg * sizeof(*b->org) +
	       b->captmpl * sizeof(*b->tmpl);
}

static struct nfc_batch *batch_compact(struct nfc_batch *b)
{
	struct nfc_batch *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->arena = malloc(b->used ? b->used : 1);
	c->rec = malloc(b->nrec * sizeof(*c->rec));
	c->tmpl = malloc(b->ntmpl * sizeof(*c->tmpl));
	c->org = malloc(b->ndg * sizeof(*c->org));
	if (!c->arena || !c->rec || !c->tmpl || !c->org) {
		batch_free(c);
		return NULL;
	}
	memcpy(c->arena, b->arena, b->used);
	for (size_t i = 0; i < b->nrec; i++) {
		c->rec[i] = b->rec[i];
		c->rec[i].data = c->arena + (b->rec[i].data - b->arena);
	}
	/* the references move with the templates */
	memcpy(c->tmpl, b->tmpl, b->ntmpl * sizeof(*c->tmpl));
	c->used = c->cap = b->used;
	c->nrec = c->caprec = b->nrec;
	c->ntmpl = c->captmpl = b->ntmpl;
	memcpy(c->org, b->org, b->ndg * sizeof(*c->org));
	c->ndg = c->capdg = b->ndg;
	c->compact = 1;
	b->ntmpl = 0;
	b->nrec = 0;
	b->ndg = 0;
	b->used = 0;
	return c;
}

/* Hand a batch's records to every output; the batch is recycled by the
 * last one to finish with it. Returns the batch the caller keeps filling:
 * `b` itself (emptied) when its records were copied into a right-sized one,
 * else NULL. */
static struct nfc_batch *flush_batch(struct nfc_batch *b)
{
	struct nfc_batch *keep = NULL;

	if (!b || b->nrec == 0)
		return b;
	if (P.nout == 0) {
		batch_reset(b);
		return b;
	}
	if (b->used < COMPACT_BELOW) {
		struct nfc_batch *c = batch_compact(b);

		if (c) {
			keep = b; /* the worker keeps its (now empty) large batch */
			b = c;
		}
	}
	atomic_store(&b->refs, (int)P.nout);
	for (size_t i = 0; i < P.nout; i++)
		if (nfc_output_push(P.out[i], b) < 0)
			nfc_batch_put(b);
	return keep;
}

void nfc_worker_flush(struct nfc_worker *w)
{
	w->side = flush_batch(w->side);
	w->b = flush_batch(w->b);
}

static struct nfc_ctx *decoder_for(uint16_t version)
{
	for (size_t i = 0; i < P.ndec; i++)
		if (P.dec[i].version == version)
			return P.dec[i].ctx;
	return NULL;
}

static const char *addr_text(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = NULL;
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		a = &s4->sin_addr;
		port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		a = &s6->sin6_addr;
		port = ntohs(s6->sin6_port);
	}
	if (!a || !inet_ntop(ss->ss_family, a, buf, (socklen_t)len)) {
		snprintf(buf, len, "unknown sender");
		return buf;
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ":%u", port);
	return buf;
}

/* Make room for one more datagram's origin in b. */
static int org_reserve(struct nfc_batch *b)
{
	struct nfc_origin *o;

	if (b->ndg < b->capdg)
		return NFC_OK;
	o = realloc(b->org, 2 * b->capdg * sizeof(*o));
	if (!o)
		return NFC_ENOMEM;
	b->org = o;
	b->capdg *= 2;
	return NFC_OK;
}

/* The sender as the core keeps it: IPv4-mapped IPv6 folded to IPv4, once
 * here rather than in every input and decoder, and its text, once per
 * datagram rather than per record. */
static void fold_source(const struct sockaddr_storage *in, struct sockaddr_storage *out, struct nfc_origin *o)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	*out = *in;
	o->family = 0;
	o->port = 0;
	memset(o->addr, 0, sizeof(o->addr));
	if (in->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)in;

		if (!memcmp(s6->sin6_addr.s6_addr, v4mapped, 12)) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)out;

			memset(out, 0, sizeof(*out));
			s4->sin_family = AF_INET;
			s4->sin_port = s6->sin6_port;
			memcpy(&s4->sin_addr, s6->sin6_addr.s6_addr + 12, 4);
		}
	}
	if (out->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)out;

		o->family = AF_INET;
		o->port = ntohs(s4->sin_port);
		memcpy(o->addr, &s4->sin_addr, 4);
	} else if (out->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)out;

		o->family = AF_INET6;
		o->port = ntohs(s6->sin6_port);
		memcpy(o->addr, s6->sin6_addr.s6_addr, 16);
	}
	nfc_origin_text(o);
}

/* Copy `len` bytes into b's arena as a datagram of origin `org` and run
 * fn over them with a decode context of their own. Counts the records
 * (*emitted); a datagram that yielded none gives its bytes back. The caller
 * checked that they fit. */
static int decode_into(struct nfc_worker *w, struct nfc_batch *b, const uint8_t *data, size_t len,
                       const struct nfc_origin *org, const struct sockaddr_storage *src,
                       int (*fn)(void *arg, struct nfc_decode *d, const uint8_t *p, size_t len), void *arg,
                       struct nfc_decode *d, size_t *emitted)
{
	size_t nrec0 = b->nrec, used0 = b->used;
	int rc;

	*emitted = 0;
	if (org_reserve(b) < 0)
		return NFC_ENOMEM;
	d->w = w;
	d->b = b;
	d->dgidx = (uint32_t)b->ndg;
	d->len = len;
	d->failed = 0;
	d->nested = 0;
	d->src = *src;
	b->org[b->ndg++] = *org;
	/* A replay runs inside the decode of another datagram, whose call
	 * poisoned the spare arena: unpoison it for the copy, poison what is
	 * left while fn runs, and leave it poisoned for the caller (the next
	 * copy unpoisons it again). */
	UNPOISON(b->arena + b->used, b->cap - b->used);
	memcpy(b->arena + b->used, data, len);
	d->base = b->arena + b->used;
	b->used += len;
	POISON(b->arena + b->used, b->cap - b->used);
	rc = fn(arg, d, d->base, len);
	/* Nothing points into the copy: give the bytes back (unless replayed
	 * data was appended after it meanwhile). */
	if (b->nrec == nrec0 && b->ndg == d->dgidx + 1u && b->used == used0 + len) {
		b->used = used0;
		b->ndg--;
	}
	/* records of replays into this batch were counted by their own call */
	*emitted = b->nrec - nrec0 - d->nested;
	nfc_counter_add_slot(w->ctx, w->slot, NFC_C_RECORDS, *emitted);
	return rc < 0 || d->failed ? NFC_EMALFORMED : NFC_OK;
}

static int run_decoder(void *arg, struct nfc_decode *d, const uint8_t *p, size_t len)
{
	struct nfc_ctx *dec = arg;

	return dec->plugin->decoder->decode(dec->inst, d, p, len);
}

int nfc_decode_datagram(struct nfc_worker *w, struct nfc_batch *b, const struct nfc_datagram *dg)
{
	struct nfc_ctx *in = w->ctx, *dec;
	struct nfc_decode d;
	struct nfc_origin org;
	struct sockaddr_storage src;
	size_t emitted;
	uint16_t version;
	char srctext[INET6_ADDRSTRLEN + 8];
	int rc;

	if (dg->len < 2 || dg->len > b->cap - b->used) {
		nfc_counter_add_slot(in, w->slot, NFC_C_MALFORMED, 1);
		nfc_log_remote(in, NFC_LOG_WARN, "datagram from %s: %zu bytes, too short or too long",
		               addr_text(&dg->source, srctext, sizeof(srctext)), dg->len);
		return NFC_EMALFORMED;
	}
	version = (uint16_t)(dg->data[0] << 8 | dg->data[1]);
	dec = decoder_for(version);
	if (!dec) {
		nfc_counter_add_slot(in, w->slot, NFC_C_UNKNOWN_VERSION, 1);
		nfc_log_remote(in, NFC_LOG_WARN, "datagram from %s: unknown export version %u (%zu bytes); "
		               "the loaded decoders handle NetFlow v5/v9 and IPFIX", addr_text(&dg->source, srctext,
		               sizeof(srctext)), version, dg->len);
		return NFC_EINVAL;
	}
	memset(&org, 0, sizeof(org));
	org.received = dg->received;
	org.version = version;
	fold_source(&dg->source, &src, &org);
	rc = decode_into(w, b, dg->data, dg->len, &org, &src, run_decoder, dec, &d, &emitted);
	if (rc == NFC_ENOMEM) {
		nfc_counter_add_slot(in, w->slot, NFC_C_MALFORMED, 1);
		nfc_log_remote(in, NFC_LOG_ERR, "out of memory: datagram dropped");
		return NFC_ENOMEM;
	}
	if (rc < 0) {
		nfc_counter_add_slot(in, w->slot, NFC_C_MALFORMED, 1);
		nfc_log_remote(in, NFC_LOG_WARN, "malformed datagram from %s (version %u, %zu bytes): skipped%s",
		               addr_text(&dg->source, srctext, sizeof(srctext)), version, dg->len,
		               emitted ? " after its first records" : "");
		rc = NFC_EMALFORMED;
	}
	/* replayed records that did not fit in b travel in their own batch */
	if (w->side && w->side->nrec)
		w->side = flush_batch(w->side);
	return rc;
}

/* Was `first` received HOLD_NS or more before `last` (or after it by more
 * than a second: a capture's clock may jump)? Without overflow whatever
 * the times are (a capture file's can be anything). */
static int held_long(struct timespec first, struct timespec last)
{
	long long ds = (long long)last.tv_sec - (long long)first.tv_sec;

	if (ds > 1 || ds < -1)
		return 1;
	return ds * 1000000000LL + (last.tv_nsec - first.tv_nsec) >= HOLD_NS;
}

NFC_EXPORT void nfc_submit(struct nfc_worker *w, const struct nfc_datagram *dg, size_t n)
{
	struct nfc_ctx *in = w->ctx;
	struct timespec now = { 0, 0 }, last = { 0, 0 };

	for (size_t i = 0; i < n; i++) {
		struct nfc_datagram stamped;
		const struct nfc_datagram *d = &dg[i];

		nfc_counter_add_slot(in, w->slot, NFC_C_DATAGRAMS, 1);
		nfc_counter_add_slot(in, w->slot, NFC_C_BYTES, d->len);
		if (d->truncated) {
			nfc_counter_add_slot(in, w->slot, NFC_C_TRUNCATED, 1);
			nfc_log_remote(in, NFC_LOG_WARN, "datagram larger than the receive buffer: dropped "
			               "(raise max_datagram)");
			continue;
		}
		if (d->received.tv_sec == 0) {
			if (now.tv_sec == 0)
				clock_gettime(CLOCK_REALTIME, &now);
			stamped = *d;
			stamped.received = now;
			d = &stamped;
		}
		if (w->b && d->len > w->b->cap - w->b->used)
			nfc_worker_flush(w);
		if (!w->b) {
			w->b = nfc_batch_get();
			if (!w->b) {
				nfc_log_remote(in, NFC_LOG_ERR, "out of memory: datagram dropped");
				nfc_counter_add_slot(in, w->slot, NFC_C_MALFORMED, 1);
				continue;
			}
		}
		nfc_decode_datagram(w, w->b, d);
		last = d->received;
	}
	/* Hold the batch while it is young and small, so light traffic still
	 * travels in batches; an empty call (the input's idle tick) flushes. */
	if (w->b && (n == 0 || w->b->used >= w->b->cap / 2 || (w->b->ndg && held_long(w->b->org[0].received, last))))
		nfc_worker_flush(w);
}

NFC_EXPORT int nfc_emit(struct nfc_decode *d, struct nfc_template *t, const uint8_t *data, size_t len)
{
	struct nfc_batch *b = d->b;
	long rl;

	if (data < d->base || data > d->base + d->len || len > (size_t)(d->base + d->len - data)) {
		d->failed = 1;
		return NFC_EINVAL;
	}
	rl = nfc_template_measure(t, data, len);
	if (rl <= 0)
		return NFC_EMALFORMED;
	if (b->nrec == b->caprec) {
		struct nfc_rec *r = realloc(b->rec, 2 * b->caprec * sizeof(*r));

		if (!r)
			return NFC_ENOMEM;
		b->rec = r;
		b->caprec *= 2;
	}
	if (b->ntmpl == 0 || b->tmpl[b->ntmpl - 1] != t) {
		size_t i;

		for (i = 0; i < b->ntmpl && b->tmpl[i] != t; i++)
			;
		if (i == b->ntmpl) {
			if (b->ntmpl == b->captmpl) {
				struct nfc_template **nt = realloc(b->tmpl, 2 * b->captmpl * sizeof(*nt));

				if (!nt)
					return NFC_ENOMEM;
				b->tmpl = nt;
				b->captmpl *= 2;
			}
			b->tmpl[b->ntmpl++] = nfc_template_get(t);
		} else if (i != b->ntmpl - 1) {
			/* keep the most recent template last for the fast check */
			struct nfc_template *tmp = b->tmpl[i];

			b->tmpl[i] = b->tmpl[b->ntmpl - 1];
			b->tmpl[b->ntmpl - 1] = tmp;
		}
	}
	b->rec[b->nrec].t = t;
	b->rec[b->nrec].data = data;
	b->rec[b->nrec].len = (uint32_t)rl;
	b->rec[b->nrec].dg = d->dgidx;
	b->nrec++;
	return (int)rl;
}

NFC_EXPORT const struct sockaddr *nfc_decode_source(const struct nfc_decode *d)
{
	return (const struct sockaddr *)&d->src;
}

NFC_EXPORT struct timespec nfc_decode_time(const struct nfc_decode *d)
{
	return d->b->org[d->dgidx].received;
}

NFC_EXPORT unsigned nfc_decode_worker(const struct nfc_decode *d)
{
	return d->w->index;
}

NFC_EXPORT void nfc_decode_set_origin(struct nfc_decode *d, uint16_t version, uint32_t domain, uint64_t export_ms)
{
	struct nfc_origin *o = &d->b->org[d->dgidx];

	o->version = version;
	o->domain = domain;
	o->export_ms = export_ms;
}

NFC_EXPORT void nfc_decode_set_uptime(struct nfc_decode *d, uint32_t uptime_ms)
{
	d->b->org[d->dgidx].uptime_ms = uptime_ms;
	d->b->org[d->dgidx].has_uptime = 1;
}

NFC_EXPORT void nfc_decode_set_sampling(struct nfc_decode *d, uint32_t interval)
{
	d->b->org[d->dgidx].sampling = interval;
}

NFC_EXPORT struct nfc_held *nfc_hold(struct nfc_decode *d, const uint8_t *p, size_t len)
{
	struct nfc_held *h;

	if (p < d->base || len > d->len || p > d->base + d->len - len) {
		d->failed = 1;
		return NULL;
	}
	h = malloc(sizeof(*h) + len);
	if (!h)
		return NULL;
	h->org = d->b->org[d->dgidx];
	h->src = d->src;
	h->len = len;
	memcpy(h->data, p, len);
	return h;
}

NFC_EXPORT int nfc_replay(struct nfc_decode *d, struct nfc_held *h,
                          int (*fn)(void *arg, struct nfc_decode *sub, const uint8_t *p, size_t len), void *arg)
{
	struct nfc_worker *w = d->w;
	struct nfc_batch *b = d->b;
	struct nfc_decode sub;
	size_t emitted;
	int rc;

	if (h->len > b->cap - b->used) {
		/* The current batch is full: the replay goes into the worker's
		 * side batch, flushed after the datagram being decoded. */
		if (w->side && h->len > w->side->cap - w->side->used)
			w->side = flush_batch(w->side);
		if (!w->side)
			w->side = nfc_batch_get();
		if (!w->side)
			return NFC_ENOMEM;
		b = w->side;
		if (h->len > b->cap - b->used)
			return NFC_ETOOBIG;
	}
	rc = decode_into(w, b, h->data, h->len, &h->org, &h->src, fn, arg, &sub, &emitted);
	if (b == d->b)
		d->nested += emitted + sub.nested;
	if (rc < 0 && rc != NFC_ENOMEM) {
		nfc_counter_add_slot(w->ctx, w->slot, NFC_C_MALFORMED, 1);
		rc = NFC_EMALFORMED;
	}
	return rc;
}

NFC_EXPORT size_t nfc_held_size(const struct nfc_held *h)
{
	return sizeof(*h) + h->len;
}

NFC_EXPORT struct timespec nfc_held_time(const struct nfc_held *h)
{
	return h->org.received;
}

NFC_EXPORT void nfc_held_free(struct nfc_held *h)
{
	free(h);
}

NFC_EXPORT size_t nfc_batch_count(const struct nfc_batch *b)
{
	return b->nrec;
}

NFC_EXPORT struct timespec nfc_batch_time(const struct nfc_batch *b)
{
	struct timespec none = { 0, 0 };

	return b->ndg ? b->org[0].received : none;
}

static const struct nfc_origin *rec_origin(const struct nfc_batch *b, size_t i)
{
	return i < b->nrec ? &b->org[b->rec[i].dg] : NULL;
}

NFC_EXPORT struct timespec nfc_batch_record_time(const struct nfc_batch *b, size_t i)
{
	const struct nfc_origin *o = rec_origin(b, i);
	struct timespec none = { 0, 0 };

	return o ? o->received : none;
}

NFC_EXPORT socklen_t nfc_batch_record_exporter(const struct nfc_batch *b, size_t i, struct sockaddr_storage *out)
{
	const struct nfc_origin *o = rec_origin(b, i);

	memset(out, 0, sizeof(*out));
	if (o && o->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(o->port);
		memcpy(&s4->sin_addr, o->addr, 4);
		return sizeof(*s4);
	}
	if (o && o->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(o->port);
		memcpy(s6->sin6_addr.s6_addr, o->addr, 16);
		return sizeof(*s6);
	}
	return 0;
}

NFC_EXPORT uint32_t nfc_batch_record_domain(const struct nfc_batch *b, size_t i)
{
	const struct nfc_origin *o = rec_origin(b, i);

	return o ? o->domain : 0;
}

NFC_EXPORT uint64_t nfc_batch_record_export_time(const struct nfc_batch *b, size_t i)
{
	const struct nfc_origin *o = rec_origin(b, i);

	return o ? o->export_ms : 0;
}

NFC_EXPORT uint16_t nfc_batch_record_version(const struct nfc_batch *b, size_t i)
{
	const struct nfc_origin *o = rec_origin(b, i);

	return o ? o->version : 0;
}

NFC_EXPORT int nfc_batch_json(const struct nfc_batch *b, size_t i, struct nfc_buf *out)
{
	if (i >= b->nrec)
		return NFC_EINVAL;
	return nfc_json_record(b->rec[i].t, b->rec[i].data, b->rec[i].len, &b->org[b->rec[i].dg], out);
}

NFC_EXPORT void nfc_worker_drops(struct nfc_worker *w, uint64_t n)
{
	nfc_counter_add_slot(w->ctx, w->slot, NFC_C_KERNEL_DROPS, n);
}

NFC_EXPORT unsigned nfc_worker_index(const struct nfc_worker *w)
{
	return w->index;
}

NFC_EXPORT int nfc_worker_stopping(const struct nfc_worker *w)
{
	(void)w;
	return atomic_load_explicit(&stopping, memory_order_relaxed);
}

NFC_EXPORT struct nfc_ctx *nfc_worker_ctx(struct nfc_worker *w)
{
	return w->ctx;
}
