/* Templates: a decoder's record layout compiled once into a JSON program
 * (pre-quoted keys, kinds, lengths), shared by reference counting between
 * the decoder and the batches still holding records of it. */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "nfc.h"

/* Most bytes a value of this kind and fixed length renders to, quotes included. */
static size_t value_max(enum nfc_field_kind kind, size_t len)
{
	switch (kind) {
	case NFC_FIELD_UINT:
	case NFC_FIELD_INT:
	case NFC_FIELD_TIME_S:
	case NFC_FIELD_TIME_MS:
	case NFC_FIELD_TIME_US:
	case NFC_FIELD_TIME_NS:
	case NFC_FIELD_BOOL:
		return len <= 8 ? 21 : 2 * len + 2;
	case NFC_FIELD_FLOAT:
		return len == 4 || len == 8 ? 32 : 2 * len + 2;
	case NFC_FIELD_IPV4:
		return len == 4 ? 17 : 2 * len + 2;
	case NFC_FIELD_IPV6:
		return len == 16 ? 48 : 2 * len + 2;
	case NFC_FIELD_MAC:
		return len == 6 ? 19 : 2 * len + 2;
	case NFC_FIELD_STRING:
		return 6 * len + 2;
	case NFC_FIELD_BYTES:
		return 2 * len + 2;
	case NFC_FIELD_SKIP:
		return 0;
	case NFC_FIELD_EXPORTER:
		return 48;
	case NFC_FIELD_SAMPLING:
	case NFC_FIELD_UPTIME_SECS:
	case NFC_FIELD_TIME_SECS:
	case NFC_FIELD_DELTA_SECS:
		return 21;
	}
	return 2 * len + 2;
}

static int derived(enum nfc_field_kind k)
{
	return k >= NFC_FIELD_EXPORTER;
}

static int time_derived(enum nfc_field_kind k)
{
	return k == NFC_FIELD_UPTIME_SECS || k == NFC_FIELD_TIME_SECS || k == NFC_FIELD_DELTA_SECS;
}

/* Whether field i takes part in the repeat renaming (padding and the
 * exporter, whose key is fixed, do not). */
static int renamed(const struct nfc_field *f)
{
	return f->kind != NFC_FIELD_SKIP && f->kind != NFC_FIELD_EXPORTER;
}

/* For each field, how many fields before it have the same name: its key
 * gets "_<n+1>" when n > 0 (RFC 7011 section 8 lets an element repeat). A
 * hash of the names, so a template of 16k fields (a 64 KiB IPFIX set) costs
 * linear time. NULL: no memory. */
static unsigned *repeat_counts(const struct nfc_field *fields, size_t n)
{
	size_t cap = 16, mask, i;
	unsigned *rep = calloc(n ? n : 1, sizeof(*rep));
	struct slot {
		const char *name;
		unsigned count;
	} *tab;

	while (cap < 2 * n)
		cap <<= 1;
	mask = cap - 1;
	tab = calloc(cap, sizeof(*tab));
	if (!rep || !tab) {
		free(rep);
		free(tab);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		uint32_t h = 2166136261u;
		size_t k;

		if (!renamed(&fields[i]))
			continue;
		for (const char *c = fields[i].name; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
		for (k = h & mask; tab[k].name && strcmp(tab[k].name, fields[i].name); k = (k + 1) & mask)
			;
		tab[k].name = fields[i].name;
		rep[i] = tab[k].count++;
	}
	free(tab);
	return rep;
}

/* Write ,"NAME": (NAME escaped, with its repeat suffix) at dst. */
static size_t put_key(char *dst, const char *name, unsigned rep)
{
	size_t off = 0;

	dst[off++] = ',';
	dst[off++] = '"';
	off += nfc_json_escape(dst + off, (const uint8_t *)name, strlen(name));
	if (rep) {
		dst[off++] = '_';
		off += nfc_fmt_u64(dst + off, rep + 1);
	}
	dst[off++] = '"';
	dst[off++] = ':';
	return off;
}

NFC_EXPORT struct nfc_template *nfc_template_new(struct nfc_ctx *ctx, const struct nfc_field *fields,
                                                 size_t nfields)
{
	static const char exp4[] = "exporterIPv4Address", exp6[] = "exporterIPv6Address";
	struct nfc_template *t;
	size_t keybytes = 0, off = 0, i;
	unsigned *rep;
	char *keys;

	(void)ctx;
	if (nfields > 65535)
		return NULL;
	for (i = 0; i < nfields; i++) {
		const struct nfc_field *f = &fields[i];

		if (!f->name || f->kind < NFC_FIELD_UINT || f->kind > NFC_FIELD_DELTA_SECS)
			return NULL;
		if (time_derived(f->kind) && (f->src >= i || derived(fields[f->src].kind) ||
		                              (fields[f->src].flags & NFC_FIELD_F_VARLEN)))
			return NULL;
		/* name, escaped, a repeat suffix, the punctuation; EXPORTER has two */
		keybytes += 2 * (10 + 6 * strlen(f->name) + sizeof(exp4));
	}
	rep = repeat_counts(fields, nfields);
	t = calloc(1, sizeof(*t) + nfields * sizeof(t->ops[0]));
	if (!t || !rep) {
		free(rep);
		free(t);
		return NULL;
	}
	t->keys = calloc(1, keybytes + NFC_JSON_SLACK);
	if (!t->keys) {
		free(rep);
		free(t);
		return NULL;
	}
	atomic_init(&t->refs, 1);
	t->nops = nfields;
	t->maxjson = 2 + NFC_JSON_SLACK;
	for (i = 0; i < nfields; i++) {
		const struct nfc_field *f = &fields[i];
		struct nfc_jop *op = &t->ops[i];
		size_t start = off;

		op->kind = (uint8_t)f->kind;
		op->flags = (uint8_t)(f->flags & (NFC_FIELD_F_VARLEN | NFC_FIELD_F_SCALE));
		op->key_off = (uint32_t)start;
		if (f->kind == NFC_FIELD_EXPORTER) {
			off += put_key(t->keys + off, exp4, 0);
			op->key_len = (uint16_t)(off - start);
			off += put_key(t->keys + off, exp6, 0);
		} else {
			off += put_key(t->keys + off, f->name, rep[i]);
			op->key_len = (uint16_t)(off - start);
		}
		if (time_derived(f->kind)) {
			struct nfc_jop *src = &t->ops[f->src];

			if (!src->slot) {
				if (t->nslots == NFC_JSON_SLOTS)
					goto invalid;
				src->slot = (uint8_t)++t->nslots;
			}
			op->src = src->slot;
			op->src_kind = src->kind;
		}
		if (derived(f->kind)) {
			op->flags = 0;
			t->maxjson += op->key_len + value_max(f->kind, 0);
		} else if (op->flags & NFC_FIELD_F_VARLEN) {
			t->varlen = 1;
			t->minlen += 1;
			t->maxjson += op->key_len + 2;
		} else {
			op->len = f->length;
			t->minlen += f->length;
			/* what nfc_json_record() writes: a key and value for every
			 * field but SKIP, zero-length ones only for STRING ("") */
			if (f->kind != NFC_FIELD_SKIP && (f->length > 0 || f->kind == NFC_FIELD_STRING))
				t->maxjson += op->key_len + value_max(f->kind, f->length);
		}
	}
	free(rep);
	rep = NULL;
	/* the key space was sized for the worst escaping: keep what is used
	 * (and the slack the 16-byte key moves read past the last key) */
	keys = realloc(t->keys, off + NFC_JSON_SLACK);
	if (keys)
		t->keys = keys;
	t->reclen = t->varlen ? 0 : t->minlen;
	/* A record of no bytes: a decoder stepping by its length would never
	 * advance. */
	if (t->minlen == 0)
		goto invalid;
	return t;

invalid:
	free(rep);
	nfc_template_put(t);
	return NULL;
}

NFC_EXPORT struct nfc_template *nfc_template_get(struct nfc_template *t)
{
	atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

NFC_EXPORT void nfc_template_put(struct nfc_template *t)
{
	if (!t || atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	free(t->keys);
	free(t);
}

NFC_EXPORT size_t nfc_template_record_len(const struct nfc_template *t)
{
	return t->reclen;
}

long nfc_template_measure(const struct nfc_template *t, const uint8_t *p, size_t avail)
{
	size_t off = 0, i;

	if (!t->varlen)
		return avail >= t->reclen ? (long)t->reclen : -1;
	for (i = 0; i < t->nops; i++) {
		size_t hdr = 0, len = t->ops[i].len;

		if ((t->ops[i].flags & NFC_FIELD_F_VARLEN) &&
		    nfc_varlen_prefix(p + off, avail - off, &hdr, &len) < 0)
			return -1;
		if (avail - off < hdr + len)
			return -1;
		off += hdr + len;
	}
	return (long)off;
}
