/* Logging: one line per call, written with a single write(2) so lines from
 * several threads never interleave. */
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

void nfc_logv_prefix(const char *prefix, enum nfc_log_level level, const char *fmt, va_list ap)
{
	char line[2048];
	struct timespec ts;
	struct tm tm;
	size_t n;
	int r;

	if (level == NFC_LOG_DEBUG && !log_debug)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ %-5s %s%s%s", ts.tv_nsec / 1000000L,
	             level_name(level), prefix ? "[" : "", prefix ? prefix : "", prefix ? "] " : "");
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(line) - n ? (size_t)r : sizeof(line) - n - 1;
	if (n >= sizeof(line) - 1)
		n = sizeof(line) - 2;
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
