/* The periodic stats line: every counter of every instance, summed over
 * the per-thread rows. Outputs also show what is waiting in their queue
 * and, when they have a status(), where they deliver and whether they can. */
#include <stdio.h>

#include "nfc.h"

/* An output's status() ("dest=... state=..."), after a space. Only for an
 * output that started: status() reads state that start() set up. */
static void append_status(struct nfc_ctx *ctx, char *out, size_t len)
{
	const struct nfc_output_ops *ops = ctx->plugin->output;

	if (!ops || !ops->status || !ctx->started || len < 2)
		return;
	out[0] = ' ';
	out[1] = '\0';
	ops->status(ctx->inst, out + 1, len - 1);
	if (!out[1])
		out[0] = '\0';
}

void nfc_stats_log(struct nfc_ctx **inst, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct nfc_ctx *ctx = inst[i];
		char line[1024];
		size_t len = 0;

		if (ctx->ncounters == 0)
			continue;
		for (int c = 0; c < ctx->ncounters && len < sizeof(line); c++)
			len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s=%llu", c ? " " : "",
			                        ctx->counter_names[c],
			                        (unsigned long long)nfc_counter_read(ctx, c));
		if (ctx->q && len < sizeof(line))
			len += (size_t)snprintf(line + len, sizeof(line) - len, " queued=%zu spool=%llu",
			                        nfc_output_queued(ctx), (unsigned long long)nfc_output_spool_records(ctx));
		if (len < sizeof(line))
			append_status(ctx, line + len, sizeof(line) - len);
		nfc_log(ctx, NFC_LOG_INFO, "stats: %s", line);
	}
}
