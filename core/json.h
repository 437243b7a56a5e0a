/* Record layouts compiled to JSON programs, and the buffer body. */
#ifndef NFC_JSON_H
#define NFC_JSON_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nfc/plugin.h"

struct nfc_buf {
	char *data;
	size_t len, cap;
};

int nfc_buf_init(struct nfc_buf *b, size_t cap);
void nfc_buf_free(struct nfc_buf *b);

/* Spare bytes past the last character the encoder may scribble on: keys are
 * copied in 16-byte moves and octets in 4-byte moves. Buffers the encoder
 * writes into are reserved with this much extra. */
#define NFC_JSON_SLACK 16

/* Fields whose values derived fields read, per template (flowStart and
 * flowEnd in one of their forms: two are needed, eight is ample). */
#define NFC_JSON_SLOTS 8

/* One step of a template's JSON program. */
struct nfc_jop {
	uint8_t kind;     /* enum nfc_field_kind */
	uint8_t flags;    /* NFC_FIELD_F_* */
	uint8_t slot;     /* 1..NFC_JSON_SLOTS: keep this field's bytes for a derived op */
	uint8_t src;      /* derived time kinds: the slot they read */
	uint8_t src_kind; /* and the kind of the field in it */
	uint16_t len;     /* bytes in the record (0 for derived kinds and VARLEN) */
	uint16_t key_len;
	uint32_t key_off; /* into keys: ,"NAME": (EXPORTER: the IPv6 key follows) */
};

/* The origin of a datagram: what derived fields and outputs read. */
struct nfc_origin {
	struct timespec received; /* CLOCK_REALTIME */
	uint64_t export_ms;       /* 0: unknown */
	uint32_t domain;
	uint32_t uptime_ms;
	uint32_t sampling;
	uint16_t version;
	uint8_t has_uptime;
	uint8_t family;  /* AF_INET, AF_INET6, 0: unknown */
	uint16_t port;   /* host order */
	uint8_t addr[16];
	/* addr as text (RFC 5952 for IPv6), made once per datagram by
	 * nfc_origin_text() rather than once per record; addr_text_len 0 when
	 * family is unknown. */
	uint8_t addr_text_len;
	char addr_text[INET6_ADDRSTRLEN + NFC_JSON_SLACK];
};

/* Fill o->addr_text from o->family and o->addr: whoever sets those calls it
 * (the core's fold_source for every received datagram). */
void nfc_origin_text(struct nfc_origin *o);

struct nfc_template {
	atomic_int refs;
	size_t nops;
	size_t reclen;  /* fixed record length; 0 when some field is VARLEN */
	size_t minlen;  /* the smallest a record can be (VARLEN prefixes of 1 byte) */
	size_t maxjson; /* JSON bytes at most for the fixed part of a record */
	int varlen;
	int nslots;
	char *keys;
	struct nfc_jop ops[];
};

/* RFC 7011 section 7: a VARLEN field starts with one length byte, or 255
 * followed by a two-byte length. */
static inline int nfc_varlen_prefix(const uint8_t *p, size_t avail, size_t *hdr, size_t *len)
{
	if (avail < 1)
		return -1;
	if (p[0] < 255) {
		*hdr = 1;
		*len = p[0];
		return 0;
	}
	if (avail < 3)
		return -1;
	*hdr = 3;
	*len = (size_t)p[1] << 8 | p[2];
	return 0;
}

/* Length of a record of template t starting at p with at most `avail` bytes,
 * walking VARLEN prefixes; negative when it does not fit. */
long nfc_template_measure(const struct nfc_template *t, const uint8_t *p, size_t avail);
/* Append the JSON object of one record (validated by measure); `o` (NULL:
 * none known) feeds the derived fields. */
int nfc_json_record(const struct nfc_template *t, const uint8_t *p, size_t len, const struct nfc_origin *o,
                    struct nfc_buf *out);
/* Escape `n` bytes of text as the inside of a JSON string (no quotes) at dst,
 * which has room for 6*n bytes; stops at a NUL. Returns bytes written. */
size_t nfc_json_escape(char *dst, const uint8_t *s, size_t n);
/* Formatters used by the encoder and the tests; each returns bytes written
 * and may write up to NFC_JSON_SLACK bytes further. */
size_t nfc_fmt_u64(char *dst, uint64_t v);
size_t nfc_fmt_ipv4(char *dst, const uint8_t *a);
size_t nfc_fmt_ipv6(char *dst, const uint8_t *a);

#endif
