/*
 * Sekoia.io intake framing. One frame per flow record:
 *
 *   LEN SP <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID LOG [SEKOIA@53288 intake_key="KEY"] JSON LF
 *
 * LEN (RFC 6587 octet counting) counts every byte after the space, the LF
 * included, as Sekoia's own concentrator does. Everything before JSON is
 * constant within a batch: it is built once at start, the timestamp is
 * rewritten in place once per batch, and each record costs two memcpy, the
 * JSON encoder and a few digit stores.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sekoia_frame.h"

static const struct {
	const char *region, *host;
} regions[] = {
	{ "FRA1", "intake.sekoia.io" },
	{ "FRA2", "app.fra2.sekoia.io" },
	{ "MCO1", "app.mco1.sekoia.io" },
	{ "UAE1", "app.uae1.sekoia.io" },
	{ "USA1", "app.usa1.sekoia.io" },
};

const char sekoia_test_event[] =
	"{\"IPV4_SRC_ADDR\":\"192.0.2.1\",\"IPV4_DST_ADDR\":\"198.51.100.1\",\"L4_SRC_PORT\":0,"
	"\"L4_DST_PORT\":0,\"PROTOCOL\":0,\"IN_BYTES\":0,\"IN_PKTS\":0,"
	"\"message\":\"netflow-concentrator --test-connection test event\"}";

const char *sekoia_region_host(const char *region)
{
	size_t i;

	if (!region)
		return NULL;
	for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		if (!strcasecmp(region, regions[i].region))
			return regions[i].host;
	return NULL;
}

const char *sekoia_host_region(const char *host)
{
	size_t i;

	if (!host)
		return NULL;
	for (i = 0; i < sizeof(regions) / sizeof(regions[0]); i++)
		if (!strcasecmp(host, regions[i].host))
			return regions[i].region;
	return NULL;
}

#define KEY_WHERE "the intake key shown in Sekoia.io (Intakes > your NetFlow intake)"

const char *sekoia_key_problem(const char *key)
{
	size_t i, n;

	if (!key || !key[0])
		return "is empty: set it to " KEY_WHERE;
	if (!strcmp(key, "<intake_key>") || !strcmp(key, "intake_key"))
		return "is still the placeholder <intake_key>: replace it with " KEY_WHERE;
	n = strlen(key);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)key[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '_' || ch == '-')
			continue;
		if (ch == '"' || ch == '\'')
			return "contains a quote: write the key bare, without quotes (intake_key=AbC123...)";
		if (ch == ' ' || ch == '\t')
			return "contains a space: an intake key is a single word of letters and digits; "
			       "copy " KEY_WHERE;
		if (ch == '<' || ch == '>')
			return "contains '<' or '>': remove the placeholder brackets and put " KEY_WHERE;
		return "contains a character that cannot be in an intake key (only letters, digits, "
		       "'-' and '_'): copy " KEY_WHERE;
	}
	if (n < 8)
		return "is too short to be an intake key (fewer than 8 characters): copy " KEY_WHERE;
	if (n > 128)
		return "is too long to be an intake key (more than 128 characters): copy " KEY_WHERE;
	return NULL;
}

size_t sekoia_sd_escape(char *out, const char *in)
{
	size_t n = 0;

	for (; *in; in++) {
		if (*in == '"' || *in == '\\' || *in == ']')
			out[n++] = '\\';
		out[n++] = *in;
	}
	out[n] = '\0';
	return n;
}

void sekoia_sanitize_name(char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] && i < max; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			s[i] = '_';
	s[i] = '\0';
	if (!s[0])
		strcpy(s, "-");
}

static void put_digits(char *p, unsigned long v, int width)
{
	while (width-- > 0) {
		p[width] = (char)('0' + v % 10);
		v /= 10;
	}
}

void sekoia_format_time(char *out, struct timespec ts)
{
	struct tm tm;
	time_t sec = ts.tv_sec;
	long usec = ts.tv_nsec / 1000;

	if (!gmtime_r(&sec, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900 || usec < 0 ||
	    usec > 999999) {
		memcpy(out, "1970-01-01T00:00:00.000000Z", SEKOIA_TS_LEN);
		return;
	}
	put_digits(out, (unsigned long)(tm.tm_year + 1900), 4);
	out[4] = '-';
	put_digits(out + 5, (unsigned long)tm.tm_mon + 1, 2);
	out[7] = '-';
	put_digits(out + 8, (unsigned long)tm.tm_mday, 2);
	out[10] = 'T';
	put_digits(out + 11, (unsigned long)tm.tm_hour, 2);
	out[13] = ':';
	put_digits(out + 14, (unsigned long)tm.tm_min, 2);
	out[16] = ':';
	put_digits(out + 17, (unsigned long)tm.tm_sec, 2);
	out[19] = '.';
	put_digits(out + 20, (unsigned long)usec, 6);
	out[26] = 'Z';
}

int sekoia_framer_init(struct sekoia_framer *f, unsigned pri, const char *hostname, const char *app_name,
                       unsigned long procid, const char *intake_key, size_t max_frame)
{
	static const char sd_open[] = " LOG [" SEKOIA_SD_ID " intake_key=\"";
	static const char sd_close[] = "\"] ";
	size_t cap, n;
	char *h;
	int r;

	memset(f, 0, sizeof(*f));
	if (pri > 191 || !hostname || !app_name || !intake_key)
		return NFC_EINVAL;
	cap = 16 + SEKOIA_TS_LEN + strlen(hostname) + strlen(app_name) + 24 + sizeof(sd_open) +
	      2 * strlen(intake_key) + sizeof(sd_close) + 1;
	h = malloc(cap);
	if (!h)
		return NFC_ENOMEM;
	r = snprintf(h, cap, "<%u>1 ", pri);
	n = (size_t)r;
	f->ts_off = n;
	sekoia_format_time(h + n, f->ts_cached);
	n += SEKOIA_TS_LEN;
	r = snprintf(h + n, cap - n, " %s %s %lu%s", hostname, app_name, procid, sd_open);
	n += (size_t)r;
	n += sekoia_sd_escape(h + n, intake_key);
	memcpy(h + n, sd_close, sizeof(sd_close));
	n += sizeof(sd_close) - 1;
	f->head = h;
	f->head_len = n;
	f->max_frame = max_frame;
	f->digits = 3;
	return NFC_OK;
}

void sekoia_framer_free(struct sekoia_framer *f)
{
	if (f->head) {
		/* The head holds the intake key: do not leave it in freed memory. */
		memset(f->head, 0, f->head_len);
		free(f->head);
	}
	f->head = NULL;
}

static unsigned ndigits(size_t v)
{
	unsigned d = 1;

	while (v >= 10) {
		v /= 10;
		d++;
	}
	return d;
}

/* Start a frame at the end of `out`: the guessed length digits, a space and
 * the head stamped with `ts`; the caller appends the MSG. Returns where the
 * frame starts, or (size_t)-1 when out of memory. */
static size_t frame_begin(struct sekoia_framer *f, struct timespec ts, struct nfc_buf *out)
{
	size_t start = nfc_buf_len(out), d = f->digits;
	char *p;

	/* The records of one datagram share their time, so it is formatted
	 * about once per datagram. */
	if (ts.tv_sec != f->ts_cached.tv_sec || ts.tv_nsec / 1000 != f->ts_cached.tv_nsec / 1000) {
		sekoia_format_time(f->head + f->ts_off, ts);
		f->ts_cached = ts;
	}
	/* Guess the length digits from the previous frame (records of a batch
	 * have similar sizes), write the frame behind them, and let frame_end()
	 * fix them up; a wrong guess costs one memmove. */
	p = nfc_buf_reserve(out, d + 1 + f->head_len);
	if (!p)
		return (size_t)-1;
	p[d] = ' ';
	memcpy(p + d + 1, f->head, f->head_len);
	nfc_buf_commit(out, d + 1 + f->head_len);
	return start;
}

/* End the frame begun at `start`: the LF, then the real length. Returns
 * 1 when framed, 0 when over max_frame (removed, counted in `st`), or
 * NFC_ENOMEM. */
static int frame_end(struct sekoia_framer *f, struct nfc_buf *out, size_t start, struct sekoia_encode_stats *st)
{
	size_t d = f->digits, flen, nd;
	char *p = nfc_buf_reserve(out, 1);

	if (!p)
		return NFC_ENOMEM;
	*p = '\n';
	nfc_buf_commit(out, 1);
	flen = nfc_buf_len(out) - start - d - 1;
	if (flen >= f->max_frame) { /* events must stay under the limit */
		nfc_buf_truncate(out, start);
		st->dropped++;
		if (flen > st->dropped_largest)
			st->dropped_largest = flen;
		return 0;
	}
	nd = ndigits(flen);
	if (nd > d) {
		if (!nfc_buf_reserve(out, nd - d))
			return NFC_ENOMEM;
		nfc_buf_commit(out, nd - d);
		p = nfc_buf_data(out) + start;
		memmove(p + nd + 1, p + d + 1, flen);
	} else if (nd < d) {
		p = nfc_buf_data(out) + start;
		memmove(p + nd + 1, p + d + 1, flen);
		nfc_buf_truncate(out, start + nd + 1 + flen);
	} else {
		p = nfc_buf_data(out) + start;
	}
	put_digits(p, flen, (int)nd);
	p[nd] = ' ';
	f->digits = (unsigned)nd;
	st->frames++;
	return 1;
}

int sekoia_framer_encode(struct sekoia_framer *f, const struct nfc_batch *b, struct nfc_buf *out,
                         struct sekoia_encode_stats *st)
{
	size_t i, n = nfc_batch_count(b), entry = nfc_buf_len(out), start;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < n; i++) {
		/* stamped with the time its datagram arrived */
		start = frame_begin(f, nfc_batch_record_time(b, i), out);
		if (start == (size_t)-1 || nfc_batch_json(b, i, out) != NFC_OK ||
		    frame_end(f, out, start, st) < 0)
			goto err_nomem;
	}
	return NFC_OK;

err_nomem:
	nfc_buf_truncate(out, entry);
	return NFC_ENOMEM;
}

int sekoia_framer_frame(struct sekoia_framer *f, struct timespec ts, const char *msg, size_t len,
                        struct nfc_buf *out)
{
	struct sekoia_encode_stats st = { 0 };
	size_t entry = nfc_buf_len(out), start = frame_begin(f, ts, out);
	int r;

	if (start == (size_t)-1 || nfc_buf_append(out, msg, len) != NFC_OK)
		goto err_nomem;
	r = frame_end(f, out, start, &st);
	if (r < 0)
		goto err_nomem;
	return r ? NFC_OK : NFC_ETOOBIG;

err_nomem:
	nfc_buf_truncate(out, entry);
	return NFC_ENOMEM;
}
