/* The periodic stats line: every counter of every instance, summed over
 * the per-thread rows. Outputs also show what is waiting in their queue. */
#include <stdio.h>

#include "nfc.h"

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
			snprintf(line + len, sizeof(line) - len, " queued=%zu", nfc_output_queued(ctx));
		nfc_log(ctx, NFC_LOG_INFO, "stats: %s", line);
	}
}
