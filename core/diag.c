/*
 * --test-connection's report: one line per step on standard output, for a
 * person to read,
 *
 *   [forwarder]  FAIL  connect 192.0.2.1:10514      connection timed out ...; fix: ...
 *
 * columns aligned, the whole line escaped as log lines are (the found text
 * may quote a server's certificate names or a resolver's words).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "nfc.h"

#define STEP_WIDTH 28
#define NAME_MIN_WIDTH 12

static int diag_active;
static size_t name_width = NAME_MIN_WIDTH;

void nfc_diag_begin(size_t width)
{
	diag_active = 1;
	name_width = width > NAME_MIN_WIDTH ? width : NAME_MIN_WIDTH;
}

int nfc_diag_active(void)
{
	return diag_active;
}

static const char *verdict_word(enum nfc_diag_verdict v)
{
	switch (v) {
	case NFC_DIAG_OK: return "OK";
	case NFC_DIAG_WARN: return "WARN";
	case NFC_DIAG_FAIL: return "FAIL";
	case NFC_DIAG_INFO: return "INFO";
	}
	return "?";
}

/* Write one report line: escaped, cut to fit, and always ended by a newline. */
static void diag_write(const char *raw, size_t n)
{
	char line[4096];
	size_t len = nfc_log_escape(line, sizeof(line) - 1, (const unsigned char *)raw, n);

	line[len++] = '\n';
	fwrite(line, 1, len, stdout);
	fflush(stdout); /* interleave sensibly with the log lines on stderr */
}

NFC_EXPORT void nfc_diag(struct nfc_ctx *ctx, enum nfc_diag_verdict v, const char *step, const char *fix,
                         const char *fmt, ...)
{
	char raw[4096], name[160];
	size_t n = 0;
	va_list ap;
	int r;

	snprintf(name, sizeof(name), "[%s]", ctx ? ctx->name : "core");
	r = snprintf(raw, sizeof(raw), "%-*s  %-4s  %-*s  ", (int)name_width, name, verdict_word(v), STEP_WIDTH,
	             step ? step : "");
	n = r > 0 && (size_t)r < sizeof(raw) ? (size_t)r : sizeof(raw) - 1;
	va_start(ap, fmt);
	r = vsnprintf(raw + n, sizeof(raw) - n, fmt, ap);
	va_end(ap);
	if (r > 0)
		n += (size_t)r < sizeof(raw) - n ? (size_t)r : sizeof(raw) - n - 1;
	if (fix && (v == NFC_DIAG_WARN || v == NFC_DIAG_FAIL)) {
		r = snprintf(raw + n, sizeof(raw) - n, "; fix: %s", fix);
		if (r > 0)
			n += (size_t)r < sizeof(raw) - n ? (size_t)r : sizeof(raw) - n - 1;
	}
	if (ctx && v == NFC_DIAG_FAIL)
		ctx->diag_failed++;
	diag_write(raw, n);
}

/* The last line of the report. */
void nfc_diag_summary(const char *fmt, ...)
{
	char raw[1024];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (r > 0)
		diag_write(raw, (size_t)r < sizeof(raw) ? (size_t)r : sizeof(raw) - 1);
}
