/* Plugin instances (struct nfc_ctx): memory, counters, configuration errors. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "loader.h"
#include "log.h"
#include "nfc.h"

_Thread_local unsigned nfc_thread_slot;
static const char *state_dir = NFC_STATE_DIR;

void nfc_state_dir_set(const char *dir)
{
	state_dir = dir && *dir ? dir : NFC_STATE_DIR;
}

NFC_EXPORT const char *nfc_state_dir(const struct nfc_ctx *ctx)
{
	(void)ctx;
	return state_dir;
}
static atomic_uint next_slot = 1; /* 0 is shared by the threads without a row of their own */

/* Each thread that bumps counters writes its own row: threads beyond the
 * rows would share one and lose updates, so start-up fails instead. */
int nfc_thread_slot_alloc(void)
{
	unsigned s = atomic_fetch_add(&next_slot, 1);

	if (s >= NFC_MAX_THREADS) {
		nfc_log_core(NFC_LOG_ERR, "too many threads: input workers and outputs may be %d in all; "
		             "lower [listener] workers or the number of instances", NFC_MAX_THREADS - 1);
		return -1;
	}
	return (int)s;
}

static void report_stderr(void *arg, const char *fmt, ...)
{
	va_list ap;

	(void)arg;
	va_start(ap, fmt);
	nfc_logv_prefix(NULL, NFC_LOG_ERR, fmt, ap);
	va_end(ap);
}

int nfc_ctx_apply_defaults(struct nfc_ctx *ctx)
{
	if (!ctx->plugin)
		return NFC_OK;
	return nfc_params_apply(ctx->plugin->params, NULL, ctx->inst, NULL, NULL, NULL, ctx->name, report_stderr,
	                        NULL) ? NFC_EINVAL : NFC_OK;
}

static int register_builtin(struct nfc_ctx *ctx, enum nfc_plugin_kind kind)
{
	static const char *const in[NFC_C_INPUT_NCOUNTERS] = {
		"datagrams", "bytes", "records", "malformed", "unknown_version", "kernel_drops", "truncated"
	};
	static const char *const out[NFC_C_OUTPUT_NCOUNTERS] = {
		"records", "bytes", "queue_overflow", "send_errors", "lost_at_shutdown", "refused", "spooled",
		"unspooled"
	};
	const char *const *names = kind == NFC_KIND_INPUT ? in : kind == NFC_KIND_OUTPUT ? out : NULL;
	int n = kind == NFC_KIND_INPUT ? NFC_C_INPUT_NCOUNTERS : kind == NFC_KIND_OUTPUT ? NFC_C_OUTPUT_NCOUNTERS : 0;

	for (int i = 0; i < n; i++)
		if (nfc_counter_register(ctx, names[i]) != i)
			return NFC_ENOMEM;
	return NFC_OK;
}

struct nfc_ctx *nfc_ctx_new(const char *name, struct nfc_loaded_plugin *lp)
{
	struct nfc_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return NULL;
	ctx->name = strdup(name);
	ctx->rows = aligned_alloc(64, NFC_MAX_THREADS * sizeof(*ctx->rows));
	if (lp) {
		ctx->lp = lp;
		ctx->plugin = &lp->d;
		ctx->inst = calloc(1, lp->d.instance_size ? lp->d.instance_size : 1);
	}
	if (!ctx->name || !ctx->rows || (lp && !ctx->inst)) {
		nfc_ctx_free(ctx);
		return NULL;
	}
	memset(ctx->rows, 0, NFC_MAX_THREADS * sizeof(*ctx->rows));
	pthread_mutex_init(&ctx->rl_lock, NULL);
	/* The core's own counters come first, whatever the plugin registers
	 * later (in check() or start()), so their ids are the enum's. */
	if (lp && register_builtin(ctx, lp->d.kind) < 0) {
		nfc_ctx_free(ctx);
		return NULL;
	}
	ctx->tls.tls = 1;
	ctx->tls.verify = 1;
	return ctx;
}

void nfc_ctx_free(struct nfc_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->plugin && ctx->inst) {
		if (ctx->plugin->destroy)
			ctx->plugin->destroy(ctx->inst);
		nfc_params_free(ctx->plugin->params, ctx->inst);
	}
	free(ctx->tls.ca_file);
	free(ctx->tls.server_name);
	for (int i = 0; i < ctx->ncounters; i++)
		free(ctx->counter_names[i]);
	free(ctx->workers);
	free(ctx->inst);
	free(ctx->rows);
	free(ctx->name);
	pthread_mutex_destroy(&ctx->rl_lock);
	free(ctx);
}

NFC_EXPORT const char *nfc_ctx_name(const struct nfc_ctx *ctx)
{
	return ctx->name;
}

NFC_EXPORT int nfc_ctx_param_set(const struct nfc_ctx *ctx, const char *key)
{
	return nfc_section_get(ctx->section, key, NULL) != NULL;
}

NFC_EXPORT void nfc_config_error(struct nfc_ctx *ctx, const char *key, const char *fmt, ...)
{
	char msg[512], where[300];
	unsigned line = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ctx->section && nfc_section_get(ctx->section, key, &line))
		snprintf(where, sizeof(where), "%s:%u: [%s] %s", ctx->section->path, line, ctx->section->title, key);
	else if (ctx->section)
		snprintf(where, sizeof(where), "%s:%u: [%s] %s", ctx->section->path, ctx->section->line,
		         ctx->section->title, key);
	else
		snprintf(where, sizeof(where), "[%s] %s", ctx->name, key);
	nfc_log_core(NFC_LOG_ERR, "%s: %s", where, msg);
	/* --test-connection reports it as a step too, so the report on
	 * standard output is complete on its own. */
	if (nfc_diag_active())
		nfc_diag(ctx, NFC_DIAG_FAIL, "configuration", "correct it in the configuration file (the "
		         "daemon refuses to start with it)", "%s: %s", where, msg);
	ctx->config_errors++;
}

NFC_EXPORT int nfc_counter_register(struct nfc_ctx *ctx, const char *name)
{
	for (int i = 0; i < ctx->ncounters; i++)
		if (!strcmp(ctx->counter_names[i], name))
			return i;
	if (ctx->ncounters >= NFC_MAX_COUNTERS)
		return NFC_ETOOBIG;
	ctx->counter_names[ctx->ncounters] = strdup(name);
	if (!ctx->counter_names[ctx->ncounters])
		return NFC_ENOMEM;
	return ctx->ncounters++;
}

/* Each worker and output thread writes only its own row: a relaxed load and
 * store, no lock and no atomic read-modify-write. Row 0 belongs to every
 * other thread (the main thread, threads a plugin starts itself, such as an
 * output's completion thread): it takes an atomic add. Readers sum the rows. */
void nfc_counter_add_slot(struct nfc_ctx *ctx, unsigned slot, int id, uint64_t n)
{
	uint64_t *v = &ctx->rows[slot].v[id];

	if (slot == 0)
		__atomic_fetch_add(v, n, __ATOMIC_RELAXED);
	else
		__atomic_store_n(v, __atomic_load_n(v, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

NFC_EXPORT void nfc_counter_add(struct nfc_ctx *ctx, int id, uint64_t n)
{
	if (id < 0 || id >= NFC_MAX_COUNTERS)
		return;
	nfc_counter_add_slot(ctx, nfc_thread_slot, id, n);
}

uint64_t nfc_counter_read(const struct nfc_ctx *ctx, int id)
{
	uint64_t sum = 0;

	for (unsigned s = 0; s < NFC_MAX_THREADS; s++)
		sum += __atomic_load_n(&ctx->rows[s].v[id], __ATOMIC_RELAXED);
	return sum;
}
