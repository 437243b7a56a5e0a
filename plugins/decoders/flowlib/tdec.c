/*
 * NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) decoding, written once.
 *
 * A message is a header and sets. Template sets (v9 0, IPFIX 2) and options
 * template sets (v9 1, IPFIX 3) describe record layouts, which are
 * published in the exporter stream's table (exporter address + source id /
 * observation domain); data sets (id >= 256) are records of a template.
 * A data set whose template is unknown is held (bounded) and decoded when
 * the template arrives, with its own origin and receive time.
 *
 * What real exporters do besides the RFCs, and is accepted here:
 *  - set padding, zero or garbage, shorter than a record (MikroTik, WLC);
 *  - template and data in either order in one message;
 *  - v9 field length 65535 as a variable-length field (H3C vrfName);
 *  - options templates with a scope of length 0 (Juniper SRX);
 *  - v9 vendor field types >= 32768 (ASA NSEL, Palo Alto, nProbe);
 *  - the same element twice in a template (the core renames the repeat);
 *  - enterprise elements IPFIX does not know: kept by length, under ie_<pen>_<id>.
 * What is refused: a set whose length runs past the message, a template
 * record cut short (the rest of that set), an IPFIX length larger than the
 * datagram or shorter than its header (bytes past a shorter length are
 * ignored). Records already emitted from the message stay.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ie.h"
#include "tdec.h"

#define V9_HDR 20
#define IPFIX_HDR 16
#define PEN_REVERSE 29305u /* RFC 5103 */
#define VARLEN 65535u
/* A late export may be this far back in the sequence. */
#define SEQ_WINDOW_V9 64u
#define SEQ_WINDOW_IPFIX (64u * 30u)

const struct nfc_param tdec_params[] = {
	{ "options_records", NFC_PARAM_BOOL, "no", 0, offsetof(struct tdec, cfg.options_records), 0, 0,
	  "forward options records (sampling, interface and application tables) as records too" },
	FL_PARAMS_ADDED(struct tdec),
	{ "renormalize", NFC_PARAM_BOOL, "no", 0, offsetof(struct tdec, cfg.renormalize), 0, 0,
	  "multiply packet and byte counters by the announced sampling interval" },
	{ "save_templates", NFC_PARAM_BOOL, "yes", 0, offsetof(struct tdec, cfg.save_templates), 0, 0,
	  "keep templates and options knowledge in state_dir across restarts" },
	{ "max_templates", NFC_PARAM_INT, "1024", 0, offsetof(struct tdec, cfg.max_templates), 1, 65536,
	  "templates per exporter stream; more are refused" },
	{ "template_memory", NFC_PARAM_SIZE, "64M", 0, offsetof(struct tdec, cfg.template_memory), 1 << 20,
	  1LL << 40, "memory for all templates; the least recently seen exporters make room, else a new template is "
	  "refused" },
	{ "hold_sets", NFC_PARAM_INT, "256", 0, offsetof(struct tdec, cfg.hold_sets), 0, 1 << 20,
	  "data sets held per exporter until their template arrives (0: none)" },
	{ "hold_bytes", NFC_PARAM_SIZE, "1M", 0, offsetof(struct tdec, cfg.hold_bytes), 0, 1LL << 32,
	  "bytes of data held per exporter until their template arrives" },
	{ "hold_memory", NFC_PARAM_SIZE, "64M", 0, offsetof(struct tdec, cfg.hold_memory), 0, 1LL << 40,
	  "bytes of data held in all, waiting for templates" },
	{ "hold_seconds", NFC_PARAM_INT, "120", 0, offsetof(struct tdec, cfg.hold_seconds), 1, 86400,
	  "how long data waits for its template before it is counted as no_template" },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

/* ------------------------------------------------------------------------ */
/* Names and kinds                                                          */

static const char *const v9_scope_names[] = { NULL, "SCOPE_SYSTEM", "SCOPE_INTERFACE", "SCOPE_LINE_CARD",
	                                      "SCOPE_NETFLOW_CACHE", "SCOPE_TEMPLATE" };

/* Kind of an element no table knows: a number when it has a number's size. */
static enum nfc_field_kind unknown_kind(uint16_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8 ? NFC_FIELD_UINT : NFC_FIELD_BYTES;
}

/* Name, kind and flags of field i of t, the name written to buf when it
 * has to be made up. */
static void describe(const struct tdec *x, const struct fl_tmpl *t, uint16_t i, char *buf, size_t buflen,
                     struct nfc_field *out)
{
	const struct fl_field *f = &t->f[i];
	const struct ie_def *def = NULL;

	memset(out, 0, sizeof(*out));
	out->id = f->id;
	out->enterprise = f->pen;
	out->length = f->len == VARLEN ? 0 : f->len;
	out->flags = f->len == VARLEN ? NFC_FIELD_F_VARLEN : 0;
	if (x->fmt->version == 9) {
		if (t->options && i < t->nscope) {
			out->kind = unknown_kind(f->len);
			if (f->id >= 1 && f->id <= 5) {
				out->name = v9_scope_names[f->id];
			} else {
				snprintf(buf, buflen, "SCOPE_%u", f->id);
				out->name = buf;
			}
			return;
		}
		def = ie_v9(f->id);
		if (!def)
			snprintf(buf, buflen, "v9_%u", f->id);
	} else if (f->pen == 0) {
		def = ie_iana(f->id);
		if (!def)
			snprintf(buf, buflen, "ie_%u", f->id);
	} else if (f->pen == PEN_REVERSE) {
		def = ie_iana(f->id);
		if (def) {
			/* RFC 5103 section 6.1: "reverse" + the name, first letter up */
			snprintf(buf, buflen, "reverse%c%s", def->name[0] >= 'a' && def->name[0] <= 'z' ?
			         def->name[0] - 'a' + 'A' : def->name[0], def->name + 1);
			out->name = buf;
			out->kind = def->kind;
			if (x->cfg.renormalize && (def->flags & IE_F_COUNTER))
				out->flags |= NFC_FIELD_F_SCALE;
			return;
		}
		snprintf(buf, buflen, "reverse_ie_%u", f->id);
	} else {
		snprintf(buf, buflen, "ie_%u_%u", f->pen, f->id);
	}
	if (def) {
		out->name = def->name;
		out->kind = def->kind;
		if (x->cfg.renormalize && (def->flags & IE_F_COUNTER))
			out->flags |= NFC_FIELD_F_SCALE;
	} else {
		out->name = buf;
		out->kind = unknown_kind(f->len);
	}
}

/* Index of the first IANA element `id` of fixed length in t, or -1. */
static int find_ie(const struct fl_tmpl *t, uint16_t id)
{
	for (uint16_t i = 0; i < t->nfields; i++)
		if (t->f[i].id == id && t->f[i].pen == 0 && t->f[i].len != VARLEN && t->f[i].len > 0 &&
		    t->f[i].len <= 8)
			return i;
	return -1;
}

/* Does t carry IANA element `id` (any length) from field `from` on? Its key
 * is then in the record, and a derived field of that key would repeat it. */
static int has_ie(const struct fl_tmpl *t, uint16_t id, uint16_t from)
{
	for (uint16_t i = from; i < t->nfields; i++)
		if (t->f[i].id == id && t->f[i].pen == 0)
			return 1;
	return 0;
}

/* A derived flowStart/flowEnd field from the first source the template has. */
static int add_time(const struct fl_tmpl *t, struct nfc_field *fields, size_t *n, const char *name,
                    uint16_t secs_id, const uint16_t *abs_ids, uint16_t delta_id, uint16_t uptime_id)
{
	int i;

	if (has_ie(t, secs_id, 0))
		return 0;
	for (; *abs_ids; abs_ids++) {
		if ((i = find_ie(t, *abs_ids)) >= 0) {
			fields[*n] = (struct nfc_field){ .name = name, .kind = NFC_FIELD_TIME_SECS, .src = (uint16_t)i };
			(*n)++;
			return 1;
		}
	}
	if ((i = find_ie(t, delta_id)) >= 0) {
		fields[*n] = (struct nfc_field){ .name = name, .kind = NFC_FIELD_DELTA_SECS, .src = (uint16_t)i };
		(*n)++;
		return 1;
	}
	if ((i = find_ie(t, uptime_id)) >= 0) {
		fields[*n] = (struct nfc_field){ .name = name, .kind = NFC_FIELD_UPTIME_SECS, .src = (uint16_t)i };
		(*n)++;
		return 1;
	}
	return 0;
}

static struct nfc_template *compile(void *arg, const struct fl_tmpl *t, size_t *mem)
{
	static const uint16_t start_abs[] = { 152, 154, 156, 0 }, end_abs[] = { 153, 155, 157, 0 };
	struct tdec *x = arg;
	size_t n = t->nfields, cap = n + 4;
	struct nfc_field *fields = calloc(cap, sizeof(*fields));
	char *names = calloc(n ? n : 1, 72);
	struct nfc_template *ct = NULL;

	if (!fields || !names)
		goto out;
	for (uint16_t i = 0; i < t->nfields; i++)
		describe(x, t, i, names + 72 * i, 72, &fields[i]);
	/* v9 scope fields have names of their own (SCOPE_*) */
	if (x->cfg.add_exporter && !has_ie(t, 130, x->fmt->version == 9 ? t->nscope : 0) &&
	    !has_ie(t, 131, x->fmt->version == 9 ? t->nscope : 0))
		fields[n++] = (struct nfc_field){ .name = "exporterIPAddress", .kind = NFC_FIELD_EXPORTER };
	if (!t->options) {
		if (x->cfg.add_sampling && !has_ie(t, 34, 0) && find_ie(t, 50) < 0 && find_ie(t, 305) < 0)
			fields[n++] = (struct nfc_field){ .name = x->fmt->sampling_key, .kind = NFC_FIELD_SAMPLING };
		if (x->cfg.add_times) {
			add_time(t, fields, &n, "flowStartSeconds", 150, start_abs, 158, 22);
			add_time(t, fields, &n, "flowEndSeconds", 151, end_abs, 159, 21);
		}
	}
	ct = nfc_template_new(x->ctx, fields, n);
	/* What that costs (core/template.c): a header and a JSON op per field,
	 * and the keys (,"NAME": with a repeat suffix, then 16 bytes of slack),
	 * in two allocations with their malloc overhead. Counted against
	 * template_memory, which bounds the process's memory only if this is
	 * close to what is allocated. */
	*mem = 96 + 2 * 16 + 16;
	for (size_t i = 0; i < n; i++)
		*mem += 16 + strlen(fields[i].name) + 10;
out:
	free(fields);
	free(names);
	return ct;
}

/* ------------------------------------------------------------------------ */
/* Records                                                                  */

/* Length of one record of t at p (at most avail bytes), walking variable
 * lengths; 0 when it does not fit. With want < nfields, also where field
 * `want` is. */
static size_t record_walk(const struct fl_tmpl *t, const uint8_t *p, size_t avail, uint16_t want,
                          const uint8_t **fp, size_t *flen)
{
	size_t off = 0;

	for (uint16_t i = 0; i < t->nfields; i++) {
		size_t len = t->f[i].len;

		if (len == VARLEN) {
			if (off >= avail)
				return 0;
			len = p[off++];
			if (len == 255) {
				if (avail - off < 2)
					return 0;
				len = fl_be16(p + off);
				off += 2;
			}
		}
		if (avail - off < len)
			return 0;
		if (i == want) {
			*fp = p + off;
			*flen = len;
		}
		off += len;
	}
	return off;
}

static uint64_t field_uint(const struct fl_tmpl *t, const uint8_t *rec, size_t len, uint16_t idx1, int *ok)
{
	const uint8_t *fp = NULL;
	size_t fl = 0;
	uint64_t v = 0;

	*ok = 0;
	if (!idx1)
		return 0;
	record_walk(t, rec, len, (uint16_t)(idx1 - 1), &fp, &fl);
	if (!fp || fl == 0 || fl > 8)
		return 0;
	for (size_t i = 0; i < fl; i++)
		v = v << 8 | fp[i];
	*ok = 1;
	return v;
}

/* What an options record announces: kept in the stream (its lock held). */
/* Where field idx1 - 1 of a record is (idx1 0: absent): NULL when absent. */
static const uint8_t *field_at(const struct fl_tmpl *t, const uint8_t *rec, size_t len, uint16_t idx1,
                               size_t *flen)
{
	const uint8_t *fp = NULL;

	*flen = 0;
	if (idx1)
		record_walk(t, rec, len, (uint16_t)(idx1 - 1), &fp, flen);
	return fp;
}

/* What an options record announces: kept in the stream (its lock held). */
static void learn_options(struct tdec *x, struct fl_stream *s, const struct fl_tmpl *t, const uint8_t *rec,
                          size_t len)
{
	uint64_t v, a, b, id;
	uint32_t interval = 0;
	const uint8_t *np;
	size_t nl;
	int ok, ok2, has_id;

	v = field_uint(t, rec, len, t->o_interval, &ok);
	if (ok && v)
		interval = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
	a = field_uint(t, rec, len, t->o_pkt_interval, &ok);
	b = field_uint(t, rec, len, t->o_pkt_space, &ok2);
	if (ok && ok2 && a) /* RFC 5476: select `a` packets, skip `b` */
		interval = (uint32_t)((a + b) / a);
	a = field_uint(t, rec, len, t->o_size, &ok);
	b = field_uint(t, rec, len, t->o_population, &ok2);
	if (ok && ok2 && a)
		interval = (uint32_t)(b / a);
	if (interval) {
		id = field_uint(t, rec, len, t->o_sampler, &has_id);
		fl_learn_sampler(x->tb, s, has_id, (uint32_t)id, interval);
	}
	v = field_uint(t, rec, len, t->o_init_ms, &ok);
	if (ok && v && v != s->init_ms) {
		s->init_ms = v;
		fl_table_dirty(x->tb);
	}
	v = field_uint(t, rec, len, t->o_ifindex, &ok);
	if (ok && ((np = field_at(t, rec, len, t->o_ifname, &nl)) || (np = field_at(t, rec, len, t->o_ifdesc, &nl))))
		fl_learn_ifname(x->tb, s, (uint32_t)v, np, nl);
}

/* Origin details that come from the stream's knowledge. */
static void stream_origin(struct nfc_decode *d, const struct fl_stream *s, uint64_t export_ms, int ipfix)
{
	if (s->sampling)
		nfc_decode_set_sampling(d, s->sampling);
	if (ipfix && s->init_ms && export_ms >= s->init_ms)
		nfc_decode_set_uptime(d, (uint32_t)(export_ms - s->init_ms));
}

/* Decode the records of a data set of template tid (stream lock held).
 * Returns the number of data records, or -1 when held (count unknown). */
static long data_set(struct tdec *x, struct nfc_decode *d, struct fl_stream *s, uint16_t tid, const uint8_t *p,
                     size_t len, int may_hold, uint64_t export_ms)
{
	struct fl_tmpl *t = fl_tmpl_find(s, tid);
	size_t off = 0;
	long n = 0;

	if (!t) {
		if (may_hold)
			fl_hold(x->tb, s, d, tid, p, len, export_ms);
		return -1;
	}
	while (off < len) {
		/* fixed layouts (nearly all) need no walk */
		size_t rl = t->reclen ? (len - off >= t->reclen ? t->reclen : 0)
		                      : record_walk(t, p + off, len - off, UINT16_MAX, NULL, NULL);

		if (rl == 0)
			break; /* padding: shorter than a record */
		if (t->options) {
			learn_options(x, s, t, p + off, rl);
			if (x->c_options >= 0)
				nfc_counter_add(x->ctx, x->c_options, 1);
		}
		if (!t->options || x->cfg.options_records) {
			int rc = nfc_emit(d, t->t, p + off, rl);

			if (rc < 0)
				break;
		}
		off += rl;
		n++;
	}
	return n;
}

struct replay_arg {
	struct tdec *x;
	struct fl_stream *s;
	uint16_t tid;
	uint64_t export_ms;
};

static int replay_one(void *arg, struct nfc_decode *sub, const uint8_t *p, size_t len)
{
	struct replay_arg *r = arg;

	pthread_mutex_lock(&r->s->lock);
	stream_origin(sub, r->s, r->export_ms, r->x->fmt->version == 10);
	if (data_set(r->x, sub, r->s, r->tid, p, len, 0, r->export_ms) < 0) {
		r->s->no_template++;
		nfc_counter_add(r->x->ctx, fl_table_counters(r->x->tb)->no_template, 1);
	}
	pthread_mutex_unlock(&r->s->lock);
	return NFC_OK;
}

/* ------------------------------------------------------------------------ */
/* Templates                                                                */

/* Parse one template record (v9 or IPFIX, template or options); NULL with
 * *bad set when it is cut short or inconsistent, NULL with *withdraw set for
 * an IPFIX withdrawal. */
static struct fl_tmpl *template_record(const struct tdec *x, struct fl_cur *c, int options, int *bad,
                                       int *withdraw, uint16_t *wid)
{
	uint16_t tid, count, nscope = 0, scope_len = 0, opt_len = 0;
	struct fl_tmpl *t;

	*bad = *withdraw = 0;
	if (fl_u16(c, &tid) < 0 || fl_u16(c, &count) < 0)
		goto bad;
	if (x->fmt->version == 9 && options) {
		/* v9 options: scope and option lengths in bytes, 4 per field */
		scope_len = count;
		if (fl_u16(c, &opt_len) < 0 || scope_len % 4 || opt_len % 4)
			goto bad;
		nscope = scope_len / 4;
		count = (uint16_t)(nscope + opt_len / 4);
	} else if (count == 0) {
		if (x->fmt->version == 9)
			goto bad;
		*withdraw = 1;
		*wid = tid;
		return NULL;
	} else if (options && fl_u16(c, &nscope) < 0) {
		goto bad;
	}
	if (tid < 256 || count == 0 || nscope > count)
		goto bad;
	t = fl_tmpl_alloc(tid, options, count, nscope);
	if (!t)
		goto bad;
	for (uint16_t i = 0; i < count; i++) {
		uint16_t id, len;
		uint32_t pen = 0;

		if (fl_u16(c, &id) < 0 || fl_u16(c, &len) < 0)
			goto bad_free;
		if (x->fmt->version == 10 && (id & 0x8000)) {
			if (fl_u32(c, &pen) < 0)
				goto bad_free;
			id &= 0x7fff;
		}
		t->f[i].id = id;
		t->f[i].len = len;
		t->f[i].pen = pen;
	}
	return t;
bad_free:
	fl_tmpl_put(t);
bad:
	*bad = 1;
	return NULL;
}

/* A template or options template set: publish each record; replay what
 * waited for it. Returns NFC_OK or NFC_EMALFORMED. */
static int template_set(struct tdec *x, struct nfc_decode *d, struct fl_stream *s, uint16_t set_id,
                        struct fl_cur *c)
{
	int options = x->fmt->version == 9 ? set_id == 1 : set_id == 3;
	char who[96];

	/* Each record needs at least 4 bytes; what is shorter is padding. */
	while (c->left >= 4) {
		struct fl_tmpl *t, *got;
		struct fl_pending *pend = NULL;
		int bad, withdraw, changed = 0;
		uint16_t wid = 0;

		if (fl_be16(c->p) == 0 && fl_be16(c->p + 2) == 0)
			break; /* zero padding of 4 bytes or more */
		t = template_record(x, c, options, &bad, &withdraw, &wid);
		if (bad) {
			if (x->c_bad_templates >= 0)
				nfc_counter_add(x->ctx, x->c_bad_templates, 1);
			nfc_log_remote(x->ctx, NFC_LOG_WARN, "%s: malformed %s%s template record: rest of the set "
			               "skipped", fl_key_text(&s->key, who, sizeof(who)), x->fmt->name,
			               options ? " options" : "");
			return NFC_EMALFORMED;
		}
		pthread_mutex_lock(&s->lock);
		if (withdraw) {
			/* RFC 7011 8.1: id 2 (3 in an options set) withdraws all */
			fl_tmpl_withdraw(x->tb, s, wid, wid == set_id, options);
			pthread_mutex_unlock(&s->lock);
			continue;
		}
		if (fl_tmpl_known(s, t)) {
			/* the periodic resend: nothing to build */
			pthread_mutex_unlock(&s->lock);
			fl_tmpl_put(t);
			continue;
		}
		pthread_mutex_unlock(&s->lock);
		/* a new layout is compiled outside the lock: data of the stream
		 * keeps decoding meanwhile */
		fl_tmpl_prepare(x->tb, t);
		pthread_mutex_lock(&s->lock);
		got = fl_tmpl_publish(x->tb, s, t, &changed);
		if (got && changed)
			pend = fl_take_pending(x->tb, s, got->id);
		pthread_mutex_unlock(&s->lock);
		while (pend) {
			struct fl_pending *next = pend->next;
			struct replay_arg ra = { x, s, pend->tid, pend->export_ms };

			nfc_replay(d, pend->h, replay_one, &ra);
			nfc_counter_add(x->ctx, fl_table_counters(x->tb)->replayed, 1);
			fl_pending_free(x->tb, pend);
			pend = next;
		}
	}
	return NFC_OK;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */

static int all_zero(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

static int tdec_decode(void *inst, struct nfc_decode *d, const uint8_t *p, size_t len)
{
	struct tdec *x = inst;
	const int ipfix = x->fmt->version == 10;
	struct fl_cur c = { p, len };
	uint16_t version, count_or_len;
	uint32_t uptime = 0, secs, seq, domain;
	uint64_t export_ms;
	struct fl_key key;
	struct fl_stream *s;
	struct fl_seq_result sr;
	long records = 0;
	int rc = NFC_OK, unknown = 0;

	if (fl_u16(&c, &version) < 0 || fl_u16(&c, &count_or_len) < 0 || version != x->fmt->version)
		return NFC_EMALFORMED;
	if (!ipfix && fl_u32(&c, &uptime) < 0)
		return NFC_EMALFORMED;
	if (fl_u32(&c, &secs) < 0 || fl_u32(&c, &seq) < 0 || fl_u32(&c, &domain) < 0)
		return NFC_EMALFORMED;
	if (ipfix) {
		/* RFC 7011 3.1: the message length, header included */
		if (count_or_len < IPFIX_HDR || count_or_len > len) {
			nfc_log_remote(x->ctx, NFC_LOG_DEBUG, "IPFIX: message length %u but %zu bytes received",
			               count_or_len, len);
			return NFC_EMALFORMED;
		}
		c.left = count_or_len - IPFIX_HDR;
	}
	export_ms = (uint64_t)secs * 1000;
	nfc_decode_set_origin(d, version, domain, export_ms);
	if (!ipfix)
		nfc_decode_set_uptime(d, uptime);
	fl_key_make(&key, nfc_decode_source(d), 0, domain);
	s = fl_stream_get(x->tb, &key);
	if (!s)
		return NFC_ENOMEM;
	pthread_mutex_lock(&s->lock);
	stream_origin(d, s, export_ms, ipfix);
	pthread_mutex_unlock(&s->lock);

	while (c.left >= 4) {
		uint16_t set_id = fl_be16(c.p), set_len = fl_be16(c.p + 2);
		struct fl_cur body;

		if (set_len < 4 && all_zero(c.p, c.left))
			break; /* zero padding after the last set (Cisco ACI, Palo Alto) */
		if (set_len < 4 || set_len > c.left) {
			nfc_log_remote(x->ctx, NFC_LOG_DEBUG, "%s: set %u of length %u in %zu bytes left",
			               x->fmt->name, set_id, set_len, c.left);
			rc = NFC_EMALFORMED;
			break;
		}
		fl_take(&c, 4);
		body.p = fl_take(&c, set_len - 4u);
		body.left = set_len - 4u;
		if (set_id == (ipfix ? 2 : 0) || set_id == (ipfix ? 3 : 1)) {
			if (template_set(x, d, s, set_id, &body) < 0)
				rc = NFC_EMALFORMED;
		} else if (set_id >= 256) {
			long n;

			pthread_mutex_lock(&s->lock);
			n = data_set(x, d, s, set_id, body.p, body.left, 1, export_ms);
			pthread_mutex_unlock(&s->lock);
			if (n < 0)
				unknown = 1;
			else
				records += n;
		} else if (x->c_unknown_sets >= 0) {
			nfc_counter_add(x->ctx, x->c_unknown_sets, 1);
		}
	}
	pthread_mutex_lock(&s->lock);
	/* options in this message may have taught the sampling interval */
	stream_origin(d, s, export_ms, ipfix);
	s->datagrams++;
	s->records += (uint64_t)records;
	s->last_seen = nfc_decode_time(d).tv_sec;
	sr.gap = sr.late = 0;
	sr.reset = 0;
	if (rc == NFC_OK) {
		struct fl_seq *q = fl_seq_for(s, fl_source_port(nfc_decode_source(d)));

		if (ipfix && unknown) {
			/* records of unknown templates cannot be counted: follow
			 * again from the next message */
			q->used = 0;
		} else {
			fl_seq_track(q, seq, ipfix ? (uint32_t)records : 1u, ipfix ? SEQ_WINDOW_IPFIX : SEQ_WINDOW_V9,
			             uptime, !ipfix, &sr);
		}
	}
	pthread_mutex_unlock(&s->lock);
	fl_stream_put(x->tb, s);
	fl_seq_count(x->tb, &sr);
	return rc;
}

static int tdec_start(struct tdec *x, struct nfc_ctx *ctx, const struct tdec_format *fmt)
{
	x->ctx = ctx;
	x->fmt = fmt;
	x->c_options = nfc_counter_register(ctx, "options_records");
	x->c_unknown_sets = nfc_counter_register(ctx, "unknown_sets");
	x->c_bad_templates = nfc_counter_register(ctx, "malformed_templates");
	x->tb = fl_table_new(ctx, &x->cfg, fmt->state_name, fmt->version == 9 ? "datagrams" : "records", compile, x);
	return x->tb ? NFC_OK : NFC_ENOMEM;
}

static void tdec_tick(void *inst)
{
	struct tdec *x = inst;

	if (x->tb)
		fl_table_tick(x->tb);
}

static void tdec_stop(void *inst)
{
	struct tdec *x = inst;

	if (!x->tb)
		return;
	fl_table_save(x->tb);
	fl_table_free(x->tb);
	x->tb = NULL;
}

/* The two formats: what differs is in the code above, keyed by version. */
static const struct tdec_format v9_format = { 9, "v9", "netflow_v9", "SAMPLING_INTERVAL" };
static const struct tdec_format ipfix_format = { 10, "IPFIX", "ipfix", "samplingInterval" };

static int v9_start(void *inst, struct nfc_ctx *ctx)
{
	return tdec_start(inst, ctx, &v9_format);
}

static int ipfix_start(void *inst, struct nfc_ctx *ctx)
{
	return tdec_start(inst, ctx, &ipfix_format);
}

static void tdec_exporters(void *inst, size_t max, void (*each)(void *arg, const struct nfc_exporter_info *e),
                           void *arg)
{
	struct tdec *t = inst;

	if (t->tb)
		fl_table_exporters(t->tb, max, each, arg);
}

const struct nfc_decoder_ops tdec_v9_ops = {
	.size = sizeof(struct nfc_decoder_ops),
	.versions = { 9, 0 },
	.start = v9_start,
	.decode = tdec_decode,
	.stop = tdec_stop,
	.tick = tdec_tick,
	.exporters = tdec_exporters,
};

const struct nfc_decoder_ops tdec_ipfix_ops = {
	.size = sizeof(struct nfc_decoder_ops),
	.versions = { 10, 0 },
	.start = ipfix_start,
	.decode = tdec_decode,
	.stop = tdec_stop,
	.tick = tdec_tick,
	.exporters = tdec_exporters,
};
