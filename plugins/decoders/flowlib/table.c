/*
 * The exporter table: streams keyed by exporter (address, port where it
 * scopes, domain), a hash with chains and a least-recently-seen list, both
 * under the table's lock; each stream's templates, held data and options
 * knowledge under the stream's own lock.
 *
 * Bounds (each with a counter and a rate-limited warning): max_exporters
 * streams (the least recently seen one is evicted for a new one);
 * max_templates per stream (more are refused); template_memory for all
 * templates (least recently seen streams other than the one adding are
 * evicted to make room, and a template that still does not fit is
 * refused); hold_sets and hold_bytes of held data per stream
 * (the oldest is dropped) and hold_memory in all (new data is not held);
 * hold_seconds of age. Held data that is dropped or expires is counted in
 * no_template.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flowlib.h"
#include "state.h"

struct fl_table {
	struct nfc_ctx *ctx;
	const struct fl_cfg *cfg;
	fl_compile_fn compile;
	void *arg;
	pthread_mutex_t lock;
	struct fl_stream **bucket;
	size_t nbucket, nstreams;
	struct fl_stream lru; /* sentinel: lru.lru_next is the most recent */
	atomic_size_t tmpl_mem, hold_mem;
	atomic_int dirty;
	time_t saved_at;
	char *state_path;
	struct fl_counters c;
};

static uint32_t key_hash(const struct fl_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

void fl_key_make(struct fl_key *k, const struct sockaddr *sa, uint16_t port, uint32_t domain)
{
	memset(k, 0, sizeof(*k));
	k->domain = domain;
	k->port = port;
	if (sa && sa->sa_family == AF_INET) {
		k->family = AF_INET;
		memcpy(k->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		k->family = AF_INET6;
		memcpy(k->addr, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
	}
}

const char *fl_key_text(const struct fl_key *k, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN] = "unknown sender";

	if (k->family)
		inet_ntop(k->family, k->addr, a, sizeof(a));
	snprintf(buf, len, "%s domain %u", a, k->domain);
	return buf;
}

const struct fl_counters *fl_table_counters(const struct fl_table *tb)
{
	return &tb->c;
}

static void count(struct fl_table *tb, int id, uint64_t n)
{
	if (id >= 0 && n)
		nfc_counter_add(tb->ctx, id, n);
}

/* ------------------------------------------------------------------------ */
/* Templates                                                                */

struct fl_tmpl *fl_tmpl_alloc(uint16_t id, int options, uint16_t nfields, uint16_t nscope)
{
	struct fl_tmpl *t = calloc(1, sizeof(*t) + (size_t)nfields * sizeof(t->f[0]));

	if (!t)
		return NULL;
	atomic_init(&t->refs, 1);
	t->id = id;
	t->options = (uint8_t)!!options;
	t->nfields = nfields;
	t->nscope = nscope;
	return t;
}

void fl_tmpl_put(struct fl_tmpl *t)
{
	if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	nfc_template_put(t->t);
	free(t);
}

static size_t tmpl_index(const struct fl_stream *s, uint16_t id, int *found)
{
	size_t lo = 0, hi = s->ntmpl;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->tmpl[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->ntmpl && s->tmpl[lo]->id == id;
	return lo;
}

struct fl_tmpl *fl_tmpl_find(struct fl_stream *s, uint16_t id)
{
	int found;
	size_t i = tmpl_index(s, id, &found);

	return found ? s->tmpl[i] : NULL;
}

static int same_layout(const struct fl_tmpl *a, const struct fl_tmpl *b)
{
	return a->options == b->options && a->nfields == b->nfields && a->nscope == b->nscope &&
	       !memcmp(a->f, b->f, a->nfields * sizeof(a->f[0]));
}

/* Where options records of t announce what flowlib keeps. */
static void find_options_fields(struct fl_tmpl *t)
{
	/* the interface a record is about: ingressInterface/egressInterface
	 * (or INPUT_SNMP/OUTPUT_SNMP), or a v9 scope of type 2 (Interface) */
	for (uint16_t i = 0; i < t->nfields && !t->o_ifindex; i++)
		if (t->f[i].pen == 0 && (t->f[i].id == 10 || t->f[i].id == 14 || (i < t->nscope && t->f[i].id == 2)))
			t->o_ifindex = (uint16_t)(i + 1);
	for (uint16_t i = 0; i < t->nfields; i++) {
		uint16_t *slot = NULL;

		if (t->f[i].pen)
			continue;
		switch (t->f[i].id) {
		case 34: /* samplingInterval / SAMPLING_INTERVAL */
		case 50: /* samplerRandomInterval / FLOW_SAMPLER_RANDOM_INTERVAL */
			slot = &t->o_interval;
			break;
		case 305: slot = &t->o_pkt_interval; break;
		case 306: slot = &t->o_pkt_space; break;
		case 309: slot = &t->o_size; break;
		case 310: slot = &t->o_population; break;
		case 160: slot = &t->o_init_ms; break;
		case 48:  /* samplerId / FLOW_SAMPLER_ID */
		case 302: /* selectorId */
			slot = &t->o_sampler;
			break;
		case 82: slot = &t->o_ifname; break;
		case 83: slot = &t->o_ifdesc; break;
		}
		if (slot && !*slot)
			*slot = (uint16_t)(i + 1);
	}
}

static void stream_evict_for(struct fl_table *tb, struct fl_stream *keep);

int fl_tmpl_known(struct fl_stream *s, const struct fl_tmpl *t)
{
	struct fl_tmpl *have = fl_tmpl_find(s, t->id);

	if (!have || !same_layout(have, t))
		return 0;
	have->restored = 0;
	return 1;
}

int fl_tmpl_prepare(struct fl_table *tb, struct fl_tmpl *t)
{
	size_t cmem = 0;

	find_options_fields(t);
	t->reclen = 0;
	for (uint16_t k = 0; k < t->nfields; k++) {
		if (t->f[k].len == 65535) {
			t->reclen = 0;
			break;
		}
		t->reclen += t->f[k].len;
	}
	t->t = tb->compile(tb->arg, t, &cmem);
	t->mem = sizeof(*t) + t->nfields * sizeof(t->f[0]) + 32 + cmem;
	return t->t ? NFC_OK : NFC_EINVAL;
}

struct fl_tmpl *fl_tmpl_publish(struct fl_table *tb, struct fl_stream *s, struct fl_tmpl *t, int *changed)
{
	char who[96];
	int found;
	size_t i = tmpl_index(s, t->id, &found);

	*changed = 0;
	if (found && same_layout(s->tmpl[i], t)) {
		/* a resend (or another worker published it meanwhile) */
		s->tmpl[i]->restored = 0;
		fl_tmpl_put(t);
		return s->tmpl[i];
	}
	if (!found && s->ntmpl >= (size_t)tb->cfg->max_templates) {
		count(tb, tb->c.templates_refused, 1);
		nfc_log_remote(tb->ctx, NFC_LOG_WARN, "%s: template %u refused: the exporter already has %zu "
		               "templates (raise max_templates)", fl_key_text(&s->key, who, sizeof(who)), t->id,
		               s->ntmpl);
		fl_tmpl_put(t);
		return NULL;
	}
	if (!t->t && fl_tmpl_prepare(tb, t) < 0) {
		count(tb, tb->c.templates_refused, 1);
		nfc_log_remote(tb->ctx, NFC_LOG_WARN, "%s: template %u of %u fields cannot be used "
		               "(no memory, or records of no bytes)", fl_key_text(&s->key, who, sizeof(who)),
		               t->id, t->nfields);
		fl_tmpl_put(t);
		return NULL;
	}
	if (atomic_fetch_add(&tb->tmpl_mem, t->mem) + t->mem > tb->cfg->template_memory) {
		stream_evict_for(tb, s);
		/* what is left is this exporter's own (or in use elsewhere): it
		 * may not outgrow the budget (a redefinition gives back its old
		 * layout's share) */
		if (atomic_load(&tb->tmpl_mem) - (found ? s->tmpl[i]->mem : 0) > tb->cfg->template_memory) {
			atomic_fetch_sub(&tb->tmpl_mem, t->mem);
			count(tb, tb->c.templates_refused, 1);
			nfc_log_remote(tb->ctx, NFC_LOG_WARN, "%s: template %u refused: templates already take "
			               "template_memory (%llu bytes)", fl_key_text(&s->key, who, sizeof(who)), t->id,
			               (unsigned long long)tb->cfg->template_memory);
			fl_tmpl_put(t);
			return NULL;
		}
	}
	if (!found) {
		if (s->ntmpl == s->captmpl) {
			size_t cap = s->captmpl ? 2 * s->captmpl : 8;
			struct fl_tmpl **n = realloc(s->tmpl, cap * sizeof(*n));

			if (!n) {
				atomic_fetch_sub(&tb->tmpl_mem, t->mem);
				fl_tmpl_put(t);
				return NULL;
			}
			s->tmpl = n;
			s->captmpl = cap;
		}
		memmove(s->tmpl + i + 1, s->tmpl + i, (s->ntmpl - i) * sizeof(*s->tmpl));
		s->ntmpl++;
	} else {
		atomic_fetch_sub(&tb->tmpl_mem, s->tmpl[i]->mem);
		fl_tmpl_put(s->tmpl[i]); /* records already emitted keep their layout */
	}
	s->tmpl[i] = t;
	*changed = 1;
	count(tb, tb->c.templates, 1);
	atomic_store(&tb->dirty, 1);
	return t;
}

static void tmpl_remove(struct fl_table *tb, struct fl_stream *s, size_t i)
{
	atomic_fetch_sub(&tb->tmpl_mem, s->tmpl[i]->mem);
	fl_tmpl_put(s->tmpl[i]);
	memmove(s->tmpl + i, s->tmpl + i + 1, (s->ntmpl - i - 1) * sizeof(*s->tmpl));
	s->ntmpl--;
}

void fl_tmpl_withdraw(struct fl_table *tb, struct fl_stream *s, uint16_t id, int all, int options)
{
	int found;
	size_t i;

	if (all) {
		for (i = s->ntmpl; i-- > 0;) {
			if (s->tmpl[i]->options == !!options) {
				count(tb, tb->c.withdrawals, 1);
				tmpl_remove(tb, s, i);
			}
		}
	} else {
		i = tmpl_index(s, id, &found);
		if (!found)
			return;
		count(tb, tb->c.withdrawals, 1);
		tmpl_remove(tb, s, i);
	}
	atomic_store(&tb->dirty, 1);
}

/* ------------------------------------------------------------------------ */
/* Held data                                                                */

void fl_pending_free(struct fl_table *tb, struct fl_pending *p)
{
	atomic_fetch_sub(&tb->hold_mem, p->mem);
	nfc_held_free(p->h);
	free(p);
}

static void drop_oldest(struct fl_table *tb, struct fl_stream *s, const char *why)
{
	struct fl_pending *p = s->pend;
	char who[96];

	s->pend = p->next;
	if (!s->pend)
		s->pend_tail = NULL;
	s->npend--;
	s->pend_bytes -= p->mem;
	s->no_template++;
	count(tb, tb->c.no_template, 1);
	nfc_log_remote(tb->ctx, NFC_LOG_WARN, "%s: data set for template %u dropped undecoded: %s",
	               fl_key_text(&s->key, who, sizeof(who)), p->tid, why);
	fl_pending_free(tb, p);
}

void fl_hold(struct fl_table *tb, struct fl_stream *s, struct nfc_decode *d, uint16_t tid, const uint8_t *p,
             size_t len, uint64_t export_ms)
{
	struct fl_pending *pe;
	struct timespec now;
	char who[96];

	if (tb->cfg->hold_sets == 0 || len > tb->cfg->hold_bytes ||
	    atomic_load(&tb->hold_mem) + len > tb->cfg->hold_memory) {
		s->no_template++;
		count(tb, tb->c.no_template, 1);
		nfc_log_remote(tb->ctx, NFC_LOG_WARN, "%s: data set for template %u before its template, "
		               "not held (hold_memory %llu bytes in use or hold disabled)",
		               fl_key_text(&s->key, who, sizeof(who)), tid,
		               (unsigned long long)atomic_load(&tb->hold_mem));
		return;
	}
	pe = calloc(1, sizeof(*pe));
	if (!pe || !(pe->h = nfc_hold(d, p, len))) {
		free(pe);
		s->no_template++;
		count(tb, tb->c.no_template, 1);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	pe->held_at = now.tv_sec;
	pe->tid = tid;
	pe->export_ms = export_ms;
	pe->mem = sizeof(*pe) + nfc_held_size(pe->h);
	atomic_fetch_add(&tb->hold_mem, pe->mem);
	while (s->pend && (s->npend >= (size_t)tb->cfg->hold_sets || s->pend_bytes + pe->mem > tb->cfg->hold_bytes))
		drop_oldest(tb, s, "the exporter's held data is at hold_sets/hold_bytes");
	if (s->pend_tail)
		s->pend_tail->next = pe;
	else
		s->pend = pe;
	s->pend_tail = pe;
	s->npend++;
	s->pend_bytes += pe->mem;
	count(tb, tb->c.held, 1);
}

struct fl_pending *fl_take_pending(struct fl_table *tb, struct fl_stream *s, uint16_t tid)
{
	struct fl_pending *out = NULL, **tail = &out, **pp = &s->pend, *last = NULL;

	(void)tb;
	while (*pp) {
		struct fl_pending *p = *pp;

		if (p->tid == tid) {
			*pp = p->next;
			s->npend--;
			s->pend_bytes -= p->mem;
			p->next = NULL;
			*tail = p;
			tail = &p->next;
		} else {
			last = p;
			pp = &p->next;
		}
	}
	s->pend_tail = last;
	return out;
}

/* ------------------------------------------------------------------------ */
/* Streams                                                                  */

static void stream_free(struct fl_table *tb, struct fl_stream *s)
{
	while (s->ntmpl)
		tmpl_remove(tb, s, s->ntmpl - 1);
	free(s->tmpl);
	atomic_fetch_sub(&tb->tmpl_mem, s->capifname * sizeof(*s->ifname));
	free(s->ifname);
	while (s->pend) {
		struct fl_pending *p = s->pend;

		s->pend = p->next;
		count(tb, tb->c.no_template, 1);
		fl_pending_free(tb, p);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void fl_stream_put(struct fl_table *tb, struct fl_stream *s)
{
	if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
		stream_free(tb, s);
}

static void lru_unlink(struct fl_stream *s)
{
	s->lru_prev->lru_next = s->lru_next;
	s->lru_next->lru_prev = s->lru_prev;
}

static void lru_front(struct fl_table *tb, struct fl_stream *s)
{
	s->lru_next = tb->lru.lru_next;
	s->lru_prev = &tb->lru;
	tb->lru.lru_next->lru_prev = s;
	tb->lru.lru_next = s;
}

/* Table lock held: take s out of the table; freed with its last reference. */
static void stream_unlink(struct fl_table *tb, struct fl_stream *s)
{
	struct fl_stream **pp = &tb->bucket[key_hash(&s->key) & (tb->nbucket - 1)];

	while (*pp != s)
		pp = &(*pp)->hnext;
	*pp = s->hnext;
	lru_unlink(s);
	s->dead = 1;
	tb->nstreams--;
}

/* Table lock held: evict the least recently seen stream other than keep. */
static int evict_one(struct fl_table *tb, const struct fl_stream *keep)
{
	struct fl_stream *v = tb->lru.lru_prev;
	char who[96];

	if (v == keep)
		v = v->lru_prev;
	if (v == &tb->lru)
		return 0;
	stream_unlink(tb, v);
	count(tb, tb->c.exporters_evicted, 1);
	nfc_log_remote(tb->ctx, NFC_LOG_WARN, "exporter %s forgotten (least recently seen) to stay within "
	               "max_exporters/template_memory", fl_key_text(&v->key, who, sizeof(who)));
	atomic_store(&tb->dirty, 1);
	/* The victim's templates are released by its last user; only the table's
	 * reference goes here. The victim is never `keep`, whose lock the caller
	 * may hold, and its own lock is not needed: nothing else links to it. */
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) {
		pthread_mutex_unlock(&tb->lock); /* stream_free counts; no lock needed */
		stream_free(tb, v);
		pthread_mutex_lock(&tb->lock);
	}
	return 1;
}

static void stream_evict_for(struct fl_table *tb, struct fl_stream *keep)
{
	pthread_mutex_lock(&tb->lock);
	while (atomic_load(&tb->tmpl_mem) > tb->cfg->template_memory && evict_one(tb, keep))
		;
	pthread_mutex_unlock(&tb->lock);
}

struct fl_stream *fl_stream_get(struct fl_table *tb, const struct fl_key *key)
{
	size_t b = key_hash(key) & (tb->nbucket - 1);
	struct fl_stream *s;

	pthread_mutex_lock(&tb->lock);
	for (s = tb->bucket[b]; s; s = s->hnext)
		if (!memcmp(&s->key, key, sizeof(*key)))
			break;
	if (s) {
		lru_unlink(s);
		lru_front(tb, s);
		atomic_fetch_add(&s->refs, 1);
		pthread_mutex_unlock(&tb->lock);
		return s;
	}
	while (tb->nstreams >= (size_t)tb->cfg->max_exporters && evict_one(tb, NULL))
		;
	s = calloc(1, sizeof(*s));
	if (!s) {
		pthread_mutex_unlock(&tb->lock);
		return NULL;
	}
	s->key = *key;
	pthread_mutex_init(&s->lock, NULL);
	atomic_init(&s->refs, 2); /* the table's and the caller's */
	s->hnext = tb->bucket[b];
	tb->bucket[b] = s;
	lru_front(tb, s);
	tb->nstreams++;
	pthread_mutex_unlock(&tb->lock);
	return s;
}

void fl_seq_count(struct fl_table *tb, const struct fl_seq_result *r)
{
	count(tb, tb->c.seq_gap, r->gap);
	count(tb, tb->c.seq_late, r->late);
	count(tb, tb->c.seq_reset, (uint64_t)r->reset);
}

void fl_table_dirty(struct fl_table *tb)
{
	atomic_store(&tb->dirty, 1);
}

/* The interval every record of the stream gets: the one announced without
 * a sampler, or that of every sampler when they agree; 0 when they differ
 * (a record's own sampler is not known at encode time: no number beats a
 * wrong one). */
static void sampling_update(struct fl_stream *s)
{
	uint32_t v = s->nsampler ? s->sampler[0].interval : 0;

	for (unsigned i = 1; i < s->nsampler; i++)
		if (s->sampler[i].interval != v)
			v = 0;
	s->sampling = v;
}

void fl_learn_sampler(struct fl_table *tb, struct fl_stream *s, int has_id, uint32_t id, uint32_t interval)
{
	unsigned i;

	if (!has_id) {
		/* about the whole exporter: it replaces what samplers said */
		if (s->nsampler == 1 && !s->sampler[0].id && s->sampler[0].interval == interval)
			return;
		s->nsampler = 0;
		id = 0;
	}

	for (i = 0; i < s->nsampler && s->sampler[i].id != id; i++)
		;
	if (i < s->nsampler && s->sampler[i].interval == interval)
		return;
	if (i == s->nsampler) {
		if (s->nsampler == FL_SAMPLERS) /* the oldest makes room */
			memmove(s->sampler, s->sampler + 1, --s->nsampler * sizeof(s->sampler[0]));
		i = s->nsampler++;
	}
	s->sampler[i].id = id;
	s->sampler[i].interval = interval;
	sampling_update(s);
	atomic_store(&tb->dirty, 1);
}

static size_t ifname_index(const struct fl_stream *s, uint32_t index, int *found)
{
	size_t lo = 0, hi = s->nifname;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->ifname[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < s->nifname && s->ifname[lo].index == index;
	return lo;
}

void fl_learn_ifname(struct fl_table *tb, struct fl_stream *s, uint32_t index, const uint8_t *name, size_t len)
{
	char text[FL_IFNAME_MAX + 1];
	size_t n = 0;
	int found;
	size_t i;

	/* printable ASCII only: the name may reach log lines and status tables */
	for (size_t k = 0; k < len && n < FL_IFNAME_MAX && name[k]; k++)
		text[n++] = name[k] >= 0x20 && name[k] < 0x7f ? (char)name[k] : '?';
	text[n] = '\0';
	if (!n)
		return;
	i = ifname_index(s, index, &found);
	if (found) {
		if (strcmp(s->ifname[i].name, text)) {
			memcpy(s->ifname[i].name, text, n + 1);
			atomic_store(&tb->dirty, 1);
		}
		return;
	}
	if (s->nifname >= FL_IFNAMES)
		return;
	if (s->nifname == s->capifname) {
		size_t cap = s->capifname ? 2 * s->capifname : 16;
		struct fl_ifname *v = realloc(s->ifname, cap * sizeof(*v));

		if (!v)
			return;
		/* names count against template_memory: exporter knowledge */
		atomic_fetch_add(&tb->tmpl_mem, (cap - s->capifname) * sizeof(*v));
		s->ifname = v;
		s->capifname = cap;
	}
	memmove(s->ifname + i + 1, s->ifname + i, (s->nifname - i) * sizeof(*s->ifname));
	s->ifname[i].index = index;
	memcpy(s->ifname[i].name, text, n + 1);
	s->nifname++;
	atomic_store(&tb->dirty, 1);
}

/* ------------------------------------------------------------------------ */
/* The table                                                                */

struct fl_table *fl_table_new(struct nfc_ctx *ctx, const struct fl_cfg *cfg, const char *state_name,
                              const char *seq_unit, fl_compile_fn compile, void *arg)
{
	char name[64];
	struct fl_table *tb = calloc(1, sizeof(*tb));
	size_t n = 64;

	if (!tb)
		return NULL;
	while (n < (size_t)cfg->max_exporters && n < (1u << 20))
		n <<= 1;
	tb->bucket = calloc(n, sizeof(*tb->bucket));
	if (!tb->bucket) {
		free(tb);
		return NULL;
	}
	tb->nbucket = n;
	tb->ctx = ctx;
	tb->cfg = cfg;
	tb->compile = compile;
	tb->arg = arg;
	tb->lru.lru_next = tb->lru.lru_prev = &tb->lru;
	pthread_mutex_init(&tb->lock, NULL);
	memset(&tb->c, 0xff, sizeof(tb->c)); /* -1: not registered */
	if (compile) {
		tb->c.templates = nfc_counter_register(ctx, "templates");
		tb->c.templates_refused = nfc_counter_register(ctx, "templates_refused");
		tb->c.withdrawals = nfc_counter_register(ctx, "template_withdrawals");
		tb->c.held = nfc_counter_register(ctx, "held_sets");
		tb->c.replayed = nfc_counter_register(ctx, "replayed_sets");
		tb->c.no_template = nfc_counter_register(ctx, "no_template");
		tb->c.restored = nfc_counter_register(ctx, "templates_restored");
	}
	tb->c.exporters_evicted = nfc_counter_register(ctx, "exporters_evicted");
	snprintf(name, sizeof(name), "sequence_gap_%s", seq_unit);
	tb->c.seq_gap = nfc_counter_register(ctx, name);
	snprintf(name, sizeof(name), "sequence_late_%s", seq_unit);
	tb->c.seq_late = nfc_counter_register(ctx, name);
	tb->c.seq_reset = nfc_counter_register(ctx, "sequence_resets");
	if (state_name && compile && cfg->save_templates) {
		const char *dir = nfc_state_dir(ctx);
		size_t len = strlen(dir) + strlen(state_name) + 16;

		tb->state_path = malloc(len);
		if (tb->state_path) {
			snprintf(tb->state_path, len, "%s/%s.state", dir, state_name);
			fl_state_load(tb, tb->state_path);
		}
	}
	atomic_store(&tb->dirty, 0);
	tb->saved_at = time(NULL);
	return tb;
}

void fl_table_free(struct fl_table *tb)
{
	if (!tb)
		return;
	/* at stop: no decode runs any more, every stream has only the table's
	 * reference; held data still waiting is counted as no_template */
	while (tb->lru.lru_next != &tb->lru) {
		struct fl_stream *s = tb->lru.lru_next;

		stream_unlink(tb, s);
		fl_stream_put(tb, s);
	}
	free(tb->bucket);
	free(tb->state_path);
	pthread_mutex_destroy(&tb->lock);
	free(tb);
}

/* References to every stream, oldest first, so that each can be locked
 * without the table's lock (the lock order forbids table -> stream). */
static struct fl_stream **snapshot(struct fl_table *tb, size_t *n)
{
	struct fl_stream **v;
	size_t i = 0;

	pthread_mutex_lock(&tb->lock);
	v = malloc((tb->nstreams ? tb->nstreams : 1) * sizeof(*v));
	if (v) {
		for (struct fl_stream *s = tb->lru.lru_prev; s != &tb->lru; s = s->lru_prev) {
			atomic_fetch_add(&s->refs, 1);
			v[i++] = s;
		}
	}
	pthread_mutex_unlock(&tb->lock);
	*n = i;
	return v;
}

void fl_table_walk(struct fl_table *tb, void (*fn)(void *arg, struct fl_stream *s), void *arg)
{
	size_t n;
	struct fl_stream **v = snapshot(tb, &n);

	for (size_t i = 0; v && i < n; i++) {
		pthread_mutex_lock(&v[i]->lock);
		if (!v[i]->dead)
			fn(arg, v[i]);
		pthread_mutex_unlock(&v[i]->lock);
		fl_stream_put(tb, v[i]);
	}
	free(v);
}

static void expire(void *arg, struct fl_stream *s)
{
	struct fl_table *tb = arg;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while (s->pend && now.tv_sec - s->pend->held_at > tb->cfg->hold_seconds)
		drop_oldest(tb, s, "its template did not arrive within hold_seconds");
}

void fl_table_tick(struct fl_table *tb)
{
	if (atomic_load(&tb->hold_mem))
		fl_table_walk(tb, expire, tb);
	if (tb->state_path && atomic_load(&tb->dirty) && time(NULL) - tb->saved_at >= 5)
		fl_table_save(tb);
}

void fl_table_save(struct fl_table *tb)
{
	if (!tb->state_path)
		return;
	atomic_store(&tb->dirty, 0);
	tb->saved_at = time(NULL);
	if (fl_state_save(tb, tb->state_path) < 0)
		atomic_store(&tb->dirty, 1);
}

/* ------------------------------------------------------------------------ */
/* For state.c                                                              */

struct nfc_ctx *fl_table_ctx(struct fl_table *tb)
{
	return tb->ctx;
}

void fl_table_count_restored(struct fl_table *tb, uint64_t n)
{
	count(tb, tb->c.restored, n);
}

/* References to the most recent streams are taken under the table lock,
 * then each is read under its own lock alone (decode() takes a stream's
 * lock without the table's, and may take the table's after it). */
void fl_table_exporters(struct fl_table *tb, size_t max, void (*each)(void *arg, const struct nfc_exporter_info *e),
                        void *arg)
{
	struct fl_stream **take;
	size_t n = 0;

	if (!max || !(take = calloc(max, sizeof(*take))))
		return;
	pthread_mutex_lock(&tb->lock);
	for (struct fl_stream *s = tb->lru.lru_next; s != &tb->lru && n < max; s = s->lru_next) {
		atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
		take[n++] = s;
	}
	pthread_mutex_unlock(&tb->lock);
	for (size_t i = 0; i < n; i++) {
		struct fl_stream *s = take[i];
		struct nfc_exporter_info e;

		memset(&e, 0, sizeof(e));
		e.size = sizeof(e);
		e.family = s->key.family;
		memcpy(e.addr, s->key.addr, sizeof(e.addr));
		e.port = s->key.port;
		e.domain = s->key.domain;
		pthread_mutex_lock(&s->lock);
		e.datagrams = s->datagrams;
		e.records = s->records;
		for (size_t k = 0; k < sizeof(s->seq) / sizeof(s->seq[0]); k++)
			if (s->seq[k].used)
				e.sequence_missing += s->seq[k].missing;
		e.templates = (unsigned)s->ntmpl;
		e.no_template = s->no_template;
		e.last_seen = s->last_seen;
		pthread_mutex_unlock(&s->lock);
		if (e.family)
			each(arg, &e);
		fl_stream_put(tb, s);
	}
	free(take);
}
