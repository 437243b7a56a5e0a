/* struct nfc_buf: a growable byte buffer; outputs append encoded frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "nfc.h"

int nfc_buf_init(struct nfc_buf *b, size_t cap)
{
	b->data = malloc(cap);
	b->len = 0;
	b->cap = b->data ? cap : 0;
	return b->data ? NFC_OK : NFC_ENOMEM;
}

void nfc_buf_free(struct nfc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

NFC_EXPORT struct nfc_buf *nfc_buf_new(size_t cap)
{
	struct nfc_buf *b = malloc(sizeof(*b));

	if (b && nfc_buf_init(b, cap ? cap : 64) < 0) {
		free(b);
		b = NULL;
	}
	return b;
}

NFC_EXPORT void nfc_buf_destroy(struct nfc_buf *b)
{
	if (!b)
		return;
	nfc_buf_free(b);
	free(b);
}

NFC_EXPORT char *nfc_buf_reserve(struct nfc_buf *b, size_t n)
{
	if (b->cap - b->len < n) {
		size_t cap = b->cap ? b->cap : 4096;

		if (n > SIZE_MAX / 4 - b->len)
			return NULL; /* no buffer grows that far */
		char *p;

		while (cap - b->len < n)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p)
			return NULL;
		b->data = p;
		b->cap = cap;
	}
	return b->data + b->len;
}

NFC_EXPORT void nfc_buf_commit(struct nfc_buf *b, size_t n)
{
	b->len += n;
}

NFC_EXPORT int nfc_buf_append(struct nfc_buf *b, const void *p, size_t n)
{
	char *dst = nfc_buf_reserve(b, n);

	if (!dst)
		return NFC_ENOMEM;
	memcpy(dst, p, n);
	b->len += n;
	return NFC_OK;
}

NFC_EXPORT size_t nfc_buf_len(const struct nfc_buf *b)
{
	return b->len;
}

NFC_EXPORT char *nfc_buf_data(struct nfc_buf *b)
{
	return b->data;
}

NFC_EXPORT void nfc_buf_truncate(struct nfc_buf *b, size_t len)
{
	if (len < b->len)
		b->len = len;
}

