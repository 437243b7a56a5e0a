/* Logging: one line per call, written with a single write(2) so lines from
 * several threads never interleave; control characters and invalid UTF-8 in
 * the text are escaped, so a line is always one line. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "nfc.h"

static int log_debug;

void nfc_log_set_debug(int on)
{
	log_debug = on;
}

int nfc_log_debug_enabled(void)
{
	return log_debug;
}

static const char *level_name(enum nfc_log_level level)
{
	switch (level) {
	case NFC_LOG_ERR: return "ERROR";
	case NFC_LOG_WARN: return "WARN";
	case NFC_LOG_INFO: return "INFO";
	case NFC_LOG_DEBUG: return "DEBUG";
	}
	return "?";
}

/* Length of the character at s[0..n) when it may be written to the log as
 * it is: printable ASCII, or a whole valid UTF-8 sequence that is not a C1
 * control (U+0080..U+009F, which some terminals obey like ESC). 0 when the
 * byte must be escaped: a C0 control, DEL, or not valid UTF-8 (overlong forms,
 * surrogates, beyond U+10FFFF, a sequence cut short). */
static size_t log_char_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return c < 0x20 || c == 0x7f ? 0 : 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xc2)
		lo = 0xa0; /* U+0080..U+009F: C1 controls */
	else if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* Copy src[0..n) into dst (cap bytes), every byte log_char_len() refuses
 * written as \xNN, so text from the network (exporter strings, template
 * names, TLS peer names) can neither start a new line nor drive a terminal.
 * Stops before a character or an escape that does not fit whole. Returns the
 * bytes written. */
size_t nfc_log_escape(char *dst, size_t cap, const unsigned char *src, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t len = log_char_len(src + i, n - i);

		if (len == 0) {
			if (o + 4 > cap)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[src[i] >> 4];
			dst[o++] = hex[src[i] & 15];
			i++;
			continue;
		}
		if (o + len > cap)
			break;
		memcpy(dst + o, src + i, len);
		o += len;
		i += len;
	}
	return o;
}

void nfc_logv_prefix(const char *prefix, enum nfc_log_level level, const char *fmt, va_list ap)
{
	char raw[2048], line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (level == NFC_LOG_DEBUG && !log_debug)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(raw, sizeof(raw), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(raw + n, sizeof(raw) - n, ".%03ldZ %-5s %s%s%s", ts.tv_nsec / 1000000L,
	             level_name(level), prefix ? "[" : "", prefix ? prefix : "", prefix ? "] " : "");
	if (r > 0)
		n += (size_t)r < sizeof(raw) - n ? (size_t)r : sizeof(raw) - n - 1;
	r = vsnprintf(raw + n, sizeof(raw) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(raw) - n ? (size_t)r : sizeof(raw) - n - 1;
	/* One line whatever the arguments hold: escaped, and cut (at a character
	 * boundary) so that the newline always fits. */
	n = nfc_log_escape(line, sizeof(line) - 1, (const unsigned char *)raw, n);
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) < 0 && errno == EINTR)
		;
}

void nfc_log_core(enum nfc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nfc_logv_prefix(NULL, level, fmt, ap);
	va_end(ap);
}

NFC_EXPORT void nfc_log(struct nfc_ctx *ctx, enum nfc_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	nfc_logv_prefix(ctx ? ctx->name : NULL, level, fmt, ap);
	va_end(ap);
}

/* Remote input can produce a line per datagram: allow a burst of lines per
 * 10-second window per instance, then say how many were held back. */
#define RL_WINDOW 10
#define RL_BURST 5

NFC_EXPORT void nfc_log_remote(struct nfc_ctx *ctx, enum nfc_log_level level, const char *fmt, ...)
{
	unsigned long suppressed = 0;
	time_t now = time(NULL);
	int emit;
	va_list ap;

	if (level == NFC_LOG_DEBUG && !log_debug)
		return;
	pthread_mutex_lock(&ctx->rl_lock);
	if (now >= ctx->rl_window + RL_WINDOW) {
		suppressed = ctx->rl_suppressed;
		ctx->rl_window = now;
		ctx->rl_count = 0;
		ctx->rl_suppressed = 0;
	}
	emit = ctx->rl_count < RL_BURST;
	if (emit)
		ctx->rl_count++;
	else
		ctx->rl_suppressed++;
	pthread_mutex_unlock(&ctx->rl_lock);

	if (suppressed)
		nfc_log(ctx, NFC_LOG_WARN, "%lu similar messages suppressed in the last %d s", suppressed,
		        RL_WINDOW);
	if (!emit)
		return;
	va_start(ap, fmt);
	nfc_logv_prefix(ctx->name, level, fmt, ap);
	va_end(ap);
}
