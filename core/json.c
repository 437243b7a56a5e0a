/* The record encoder: walks a template's JSON program over the record bytes
 * with hand-written formatting into one buffer. No printf, no allocation
 * beyond growing the output buffer, no lookup by name. */
#include <arpa/inet.h>
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "json.h"
#include "nfc.h"

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";
static const char hexdig[] = "0123456789abcdef";

static const uint32_t pow10_u32[10] = {
	1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u, 100000000u, 1000000000u,
};

/* Decimal digits of v: log2 from the leading zeros, times log10(2) as
 * 1233/4096, corrected by one comparison. */
static unsigned digits_u32(uint32_t v)
{
	uint32_t x = v | 1; /* 0 has one digit, as 1 */
	unsigned t = ((32u - (unsigned)__builtin_clz(x)) * 1233u) >> 12;

	return t - (x < pow10_u32[t]) + 1;
}

/* Digits are written straight into place, two at a time, from the end, in
 * 32-bit arithmetic (the divisions by 100 become multiplications). */
static size_t fmt_u32(char *dst, uint32_t v)
{
	unsigned n = digits_u32(v);
	char *p = dst + n;

	while (v >= 100) {
		uint32_t r = v % 100;

		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + 2 * r, 2);
	}
	if (v >= 10)
		memcpy(p - 2, digit_pairs + 2 * v, 2);
	else
		p[-1] = (char)('0' + v);
	return n;
}

/* Exactly eight digits of v < 10^8, zero-padded: two independent halves. */
static void fmt_8digits(char *dst, uint32_t v)
{
	uint32_t hi = v / 10000, lo = v % 10000;

	memcpy(dst, digit_pairs + 2 * (hi / 100), 2);
	memcpy(dst + 2, digit_pairs + 2 * (hi % 100), 2);
	memcpy(dst + 4, digit_pairs + 2 * (lo / 100), 2);
	memcpy(dst + 6, digit_pairs + 2 * (lo % 100), 2);
}

/* Counters and addresses fit 32 bits; millisecond times and large byte
 * counts are cut into 8-digit pieces, each formatted in 32 bits. */
size_t nfc_fmt_u64(char *dst, uint64_t v)
{
	size_t n;

	if (v <= UINT32_MAX)
		return fmt_u32(dst, (uint32_t)v);
	if (v < 10000000000000000ULL) {
		n = fmt_u32(dst, (uint32_t)(v / 100000000));
		fmt_8digits(dst + n, (uint32_t)(v % 100000000));
		return n + 8;
	}
	n = fmt_u32(dst, (uint32_t)(v / 10000000000000000ULL));
	fmt_8digits(dst + n, (uint32_t)(v / 100000000 % 100000000));
	fmt_8digits(dst + n + 8, (uint32_t)(v % 100000000));
	return n + 16;
}

/* Text of each octet value, its length in the fourth byte. */
static char u8_text[256][4];

__attribute__((constructor)) static void u8_text_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		char *e = u8_text[v];

		if (v >= 100) {
			e[0] = (char)('0' + v / 100);
			e[1] = (char)('0' + v / 10 % 10);
			e[2] = (char)('0' + v % 10);
			e[3] = 3;
		} else if (v >= 10) {
			e[0] = (char)('0' + v / 10);
			e[1] = (char)('0' + v % 10);
			e[3] = 2;
		} else {
			e[0] = (char)('0' + v);
			e[3] = 1;
		}
	}
}

/* Writes 4 bytes whatever the length: callers leave NFC_JSON_SLACK spare. */
static size_t fmt_u8(char *dst, unsigned v)
{
	memcpy(dst, u8_text[v], 4);
	return (size_t)u8_text[v][3];
}

size_t nfc_fmt_ipv4(char *dst, const uint8_t *a)
{
	size_t n = fmt_u8(dst, a[0]);

	dst[n++] = '.';
	n += fmt_u8(dst + n, a[1]);
	dst[n++] = '.';
	n += fmt_u8(dst + n, a[2]);
	dst[n++] = '.';
	n += fmt_u8(dst + n, a[3]);
	return n;
}

/* A group without leading zeros (at least one digit). */
static size_t fmt_hex16(char *dst, unsigned v)
{
	size_t n = (35u - (unsigned)__builtin_clz(v | 1)) >> 2; /* 1..4 */
	char *p = dst;

	switch (n) {
	case 4:
		*p++ = hexdig[v >> 12];
		/* fall through */
	case 3:
		*p++ = hexdig[(v >> 8) & 0xf];
		/* fall through */
	case 2:
		*p++ = hexdig[(v >> 4) & 0xf];
		/* fall through */
	default:
		*p = hexdig[v & 0xf];
	}
	return n;
}

/* RFC 5952: lower case, no leading zeros, the longest run (two groups or
 * more, the first on a tie) of zero groups as "::", IPv4-mapped addresses
 * in dotted form. */
size_t nfc_fmt_ipv6(char *dst, const uint8_t *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	unsigned g[8], zero = 0, best = 8, bestlen = 1, i;
	size_t n = 0;

	if (!memcmp(a, mapped, 12)) {
		memcpy(dst, "::ffff:", 7);
		return 7 + nfc_fmt_ipv4(dst + 7, a + 12);
	}
	for (i = 0; i < 8; i++) {
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		zero |= (unsigned)(g[i] == 0) << i;
	}
	/* Runs of zero groups are runs of ones in `zero`: skip to each run's
	 * start and measure it with the count of trailing ones. */
	for (unsigned z = zero; z;) {
		unsigned start = (unsigned)__builtin_ctz(z);
		unsigned len = (unsigned)__builtin_ctz(~(z >> start));

		if (len > bestlen) {
			best = start;
			bestlen = len;
		}
		z &= ~0u << (start + len);
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			dst[n++] = ':';
			dst[n++] = ':';
			i += bestlen - 1;
			continue;
		}
		if (i > 0 && i != best + bestlen)
			dst[n++] = ':';
		n += fmt_hex16(dst + n, g[i]);
	}
	return n;
}

void nfc_origin_text(struct nfc_origin *o)
{
	size_t n = 0;

	if (o->family == AF_INET)
		n = nfc_fmt_ipv4(o->addr_text, o->addr);
	else if (o->family == AF_INET6)
		n = nfc_fmt_ipv6(o->addr_text, o->addr);
	o->addr_text_len = (uint8_t)n;
}

/* Length of a valid UTF-8 sequence starting at s (at most n bytes), or 0. */
static size_t utf8_seq(const uint8_t *s, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n < len)
		return 0;
	cp = s[0] & (0xff >> (len + 1));
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

size_t nfc_json_escape(char *dst, const uint8_t *s, size_t n)
{
	size_t o = 0, i = 0;

	while (i < n && s[i]) {
		uint8_t c = s[i];

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			dst[o++] = (char)c;
			i++;
		} else if (c == '"' || c == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)c;
			i++;
		} else if (c == '\n' || c == '\r' || c == '\t') {
			dst[o++] = '\\';
			dst[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			i++;
		} else {
			size_t len = c >= 0x80 ? utf8_seq(s + i, n - i) : 0;

			if (len) {
				memcpy(dst + o, s + i, len);
				o += len;
				i += len;
				continue;
			}
			/* Control character or a byte that is not UTF-8: keep its
			 * value as the Latin-1 code point, so the JSON stays valid. */
			memcpy(dst + o, "\\u00", 4);
			dst[o + 4] = hexdig[c >> 4];
			dst[o + 5] = hexdig[c & 0xf];
			o += 6;
			i++;
		}
	}
	return o;
}

static uint64_t be_uint(const uint8_t *p, size_t len)
{
	uint64_t v = 0;
	size_t i;

	switch (len) {
	case 1:
		return p[0];
	case 2: {
		uint16_t x;

		memcpy(&x, p, 2);
		return ntohs(x);
	}
	case 4: {
		uint32_t x;

		memcpy(&x, p, 4);
		return ntohl(x);
	}
	case 8: {
		uint64_t x;

		memcpy(&x, p, 8);
		return be64toh(x);
	}
	}
	for (i = 0; i < len; i++)
		v = v << 8 | p[i];
	return v;
}

static size_t fmt_hex_string(char *dst, const uint8_t *p, size_t len)
{
	size_t n = 0, i;

	dst[n++] = '"';
	for (i = 0; i < len; i++) {
		dst[n++] = hexdig[p[i] >> 4];
		dst[n++] = hexdig[p[i] & 0xf];
	}
	dst[n++] = '"';
	return n;
}

/* Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
#define NTP_UNIX_OFFSET 2208988800ULL

static size_t fmt_i64(char *dst, int64_t v)
{
	if (v < 0) {
		dst[0] = '-';
		return 1 + nfc_fmt_u64(dst + 1, ~(uint64_t)v + 1);
	}
	return nfc_fmt_u64(dst, (uint64_t)v);
}

/* An NTP timestamp (RFC 7011 6.1.9/6.1.10) in units of 10^-digits s since 1970. */
static int64_t ntp_to_unix(uint64_t v, uint64_t per_second)
{
	int64_t secs = (int64_t)(v >> 32) - (int64_t)NTP_UNIX_OFFSET;
	uint64_t frac = ((v & 0xffffffffu) * per_second) >> 32;

	return secs * (int64_t)per_second + (int64_t)frac;
}

static size_t fmt_float(char *dst, const uint8_t *p, size_t len)
{
	double d;
	int n;

	if (len == 4) {
		uint32_t x = (uint32_t)be_uint(p, 4);
		float f;

		memcpy(&f, &x, 4);
		d = f;
		if (d != d || d - d != 0) /* NaN or infinite: no JSON number */
			goto null;
		/* the shortest text that reads back as the same binary32 */
		n = snprintf(dst, 32, "%.9g", d);
	} else {
		uint64_t x = be_uint(p, 8);

		memcpy(&d, &x, 8);
		if (d != d || d - d != 0)
			goto null;
		n = snprintf(dst, 32, "%.17g", d);
	}
	return n > 0 && n < 32 ? (size_t)n : 0;
null:
	memcpy(dst, "null", 4);
	return 4;
}

static size_t fmt_value(char *dst, enum nfc_field_kind kind, const uint8_t *p, size_t len, uint64_t scale)
{
	size_t n = 0, i;

	switch (kind) {
	case NFC_FIELD_UINT:
		if (len > 8)
			break;
		return nfc_fmt_u64(dst, be_uint(p, len) * scale);
	case NFC_FIELD_INT:
		if (len > 8 || len == 0)
			break;
		{
			uint64_t v = be_uint(p, len);

			if (len < 8 && (v >> (8 * len - 1)) & 1)
				v |= ~0ULL << (8 * len);
			return fmt_i64(dst, (int64_t)v);
		}
	case NFC_FIELD_TIME_S:
	case NFC_FIELD_TIME_MS:
		if (len > 8)
			break;
		return nfc_fmt_u64(dst, be_uint(p, len));
	case NFC_FIELD_TIME_US:
	case NFC_FIELD_TIME_NS:
		if (len != 8)
			break;
		return fmt_i64(dst, ntp_to_unix(be_uint(p, 8), kind == NFC_FIELD_TIME_US ? 1000000 : 1000000000));
	case NFC_FIELD_FLOAT:
		if (len != 4 && len != 8)
			break;
		n = fmt_float(dst, p, len);
		if (n)
			return n;
		break;
	case NFC_FIELD_BOOL:
		if (len != 1)
			break;
		if (p[0] == 1 || p[0] == 2) {
			memcpy(dst, p[0] == 1 ? "true" : "false", p[0] == 1 ? 4 : 5);
			return p[0] == 1 ? 4 : 5;
		}
		return nfc_fmt_u64(dst, p[0]);
	case NFC_FIELD_IPV4:
		if (len != 4)
			break;
		dst[n++] = '"';
		n += nfc_fmt_ipv4(dst + n, p);
		dst[n++] = '"';
		return n;
	case NFC_FIELD_IPV6:
		if (len != 16)
			break;
		dst[n++] = '"';
		n += nfc_fmt_ipv6(dst + n, p);
		dst[n++] = '"';
		return n;
	case NFC_FIELD_MAC:
		if (len != 6)
			break;
		dst[n++] = '"';
		for (i = 0; i < 6; i++) {
			if (i)
				dst[n++] = ':';
			dst[n++] = hexdig[p[i] >> 4];
			dst[n++] = hexdig[p[i] & 0xf];
		}
		dst[n++] = '"';
		return n;
	case NFC_FIELD_STRING:
		dst[n++] = '"';
		n += nfc_json_escape(dst + n, p, len);
		dst[n++] = '"';
		return n;
	default:
		break;
	}
	return fmt_hex_string(dst, p, len);
}

/* The value of a derived op in seconds (or the sampling interval); 0 when
 * it cannot be known (then the key is left out). */
static int derive(const struct nfc_jop *op, const uint8_t *const *slotp, const uint16_t *slotl,
                  const struct nfc_origin *o, int64_t *v)
{
	const uint8_t *p;
	size_t len;
	uint64_t x;

	if (op->kind == NFC_FIELD_SAMPLING) {
		*v = o ? o->sampling : 0;
		return o && o->sampling;
	}
	p = slotp[op->src - 1];
	len = slotl[op->src - 1];
	if (!p || len == 0 || len > 8)
		return 0;
	x = be_uint(p, len);
	switch (op->kind) {
	case NFC_FIELD_UPTIME_SECS:
		if (!o || !o->export_ms || !o->has_uptime)
			return 0;
		/* signed: a flow may end a moment after the export time on a
		 * skewed clock, and uptime wraps at 2^32 ms */
		*v = ((int64_t)o->export_ms - (int32_t)(o->uptime_ms - (uint32_t)x)) / 1000;
		return 1;
	case NFC_FIELD_DELTA_SECS:
		if (!o || !o->export_ms)
			return 0;
		*v = ((int64_t)o->export_ms * 1000 - (int64_t)x) / 1000000;
		return 1;
	case NFC_FIELD_TIME_SECS:
		switch (op->src_kind) {
		case NFC_FIELD_TIME_S:
			*v = (int64_t)x;
			return 1;
		case NFC_FIELD_TIME_US:
		case NFC_FIELD_TIME_NS:
			if (len != 8)
				return 0;
			*v = (int64_t)(x >> 32) - (int64_t)NTP_UNIX_OFFSET;
			return 1;
		default: /* milliseconds */
			*v = (int64_t)(x / 1000);
			return 1;
		}
	default:
		return 0;
	}
}

int nfc_json_record(const struct nfc_template *t, const uint8_t *p, size_t len, const struct nfc_origin *o,
                    struct nfc_buf *out)
{
	size_t max = t->maxjson + (t->varlen ? 6 * len : 0);
	size_t off = 0, n = 0, i;
	const uint8_t *slotp[NFC_JSON_SLOTS];
	uint16_t slotl[NFC_JSON_SLOTS];
	uint64_t scale = o && o->sampling > 1 ? o->sampling : 1;
	char *dst = nfc_buf_reserve(out, max);

	if (!dst)
		return NFC_ENOMEM;
	for (i = 0; i < (size_t)t->nslots; i++) {
		slotp[i] = NULL;
		slotl[i] = 0;
	}
	for (i = 0; i < t->nops; i++) {
		const struct nfc_jop *op = &t->ops[i];
		size_t flen = op->len, hdr = 0;
		int64_t v;

		if (op->kind >= NFC_FIELD_EXPORTER) {
			if (op->kind == NFC_FIELD_EXPORTER) {
				if (!o || !o->addr_text_len)
					continue;
				for (size_t k = 0; k < op->key_len; k += 16)
					memcpy(dst + n + k, t->keys + op->key_off +
					       (o->family == AF_INET6 ? op->key_len : 0) + k, 16);
				n += op->key_len;
				dst[n++] = '"';
				for (size_t k = 0; k < o->addr_text_len; k += 16)
					memcpy(dst + n + k, o->addr_text + k, 16);
				n += o->addr_text_len;
				dst[n++] = '"';
			} else if (derive(op, slotp, slotl, o, &v)) {
				for (size_t k = 0; k < op->key_len; k += 16)
					memcpy(dst + n + k, t->keys + op->key_off + k, 16);
				n += op->key_len;
				n += fmt_i64(dst + n, v);
			}
			continue;
		}
		if ((op->flags & NFC_FIELD_F_VARLEN) && nfc_varlen_prefix(p + off, len - off, &hdr, &flen) < 0)
			return NFC_EMALFORMED;
		if (len - off < hdr + flen)
			return NFC_EMALFORMED;
		off += hdr;
		if (op->slot) {
			slotp[op->slot - 1] = p + off;
			slotl[op->slot - 1] = (uint16_t)flen;
		}
		/* Zero-length fields carry no value: leave the key out, except an
		 * empty string, which is a value. */
		if (op->kind != NFC_FIELD_SKIP && (flen > 0 || op->kind == NFC_FIELD_STRING)) {
			/* Fixed 16-byte moves (inlined) rather than a libc call of
			 * variable length: keys and output both have the slack. */
			for (size_t k = 0; k < op->key_len; k += 16)
				memcpy(dst + n + k, t->keys + op->key_off + k, 16);
			n += op->key_len;
			n += fmt_value(dst + n, (enum nfc_field_kind)op->kind, p + off, flen,
			               (op->flags & NFC_FIELD_F_SCALE) ? scale : 1);
		}
		off += flen;
	}
	if (n == 0)
		dst[n++] = '{';
	else
		dst[0] = '{';
	dst[n++] = '}';
	nfc_buf_commit(out, n);
	return NFC_OK;
}
