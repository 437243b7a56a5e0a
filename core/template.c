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
		return len <= 8 ? 20 : 2 * len + 2;
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
	}
	return 2 * len + 2;
}

NFC_EXPORT struct nfc_template *nfc_template_new(struct nfc_ctx *ctx, const struct nfc_field *fields,
                                                 size_t nfields)
{
	struct nfc_template *t;
	size_t keybytes = 0, off = 0, i;

	if (nfields > 65535)
		return NULL;
	for (i = 0; i < nfields; i++) {
		if (!fields[i].name || fields[i].kind < NFC_FIELD_UINT || fields[i].kind > NFC_FIELD_SKIP)
			return NULL;
		keybytes += 4 + 6 * strlen(fields[i].name);
	}
	t = calloc(1, sizeof(*t) + nfields * sizeof(t->ops[0]));
	if (!t)
		return NULL;
	t->keys = calloc(1, keybytes + NFC_JSON_SLACK);
	if (!t->keys) {
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

		t->keys[off++] = ',';
		t->keys[off++] = '"';
		off += nfc_json_escape(t->keys + off, (const uint8_t *)f->name, strlen(f->name));
		t->keys[off++] = '"';
		t->keys[off++] = ':';
		op->kind = (uint8_t)f->kind;
		op->len = f->length;
		op->key_off = (uint32_t)start;
		op->key_len = (uint16_t)(off - start);
		if (f->length == NFC_FIELD_VARLEN) {
			t->varlen = 1;
			t->minlen += 1;
			t->maxjson += op->key_len + 2;
		} else {
			t->minlen += f->length;
			/* what nfc_json_record() writes: a key and value for every
			 * field but SKIP, zero-length ones only for STRING ("") */
			if (f->kind != NFC_FIELD_SKIP && (f->length > 0 || f->kind == NFC_FIELD_STRING))
				t->maxjson += op->key_len + value_max(f->kind, f->length);
		}
	}
	t->reclen = t->varlen ? 0 : t->minlen;
	if (t->minlen == 0) {
		/* A record of no bytes: a decoder stepping by its length would
		 * never advance. */
		nfc_template_put(t);
		return NULL;
	}
	return t;
}

struct nfc_template *nfc_template_get(struct nfc_template *t)
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

		if (len == NFC_FIELD_VARLEN && nfc_varlen_prefix(p + off, avail - off, &hdr, &len) < 0)
			return -1;
		if (avail - off < hdr + len)
			return -1;
		off += hdr + len;
	}
	return (long)off;
}
