/* netflow-concentrator: command line, start-up, signals and shutdown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "loader.h"
#include "health.h"
#include "metrics.h"
#include "status.h"
#include "log.h"
#include "nfc.h"

#define MAX_INSTANCES 64

/* The [core] section. */
struct core_cfg {
	char *plugin_dir;
	char *state_dir;
	char *decoders;
	long long stats_interval;
	unsigned long long queue_records;
	unsigned long long queue_memory;
	long long drain_timeout;
	unsigned long long spool_max;
	long long health_fail_after;
	char *metrics;
	int debug;
};

static const struct nfc_param core_params[] = {
	{ "plugin_dir", NFC_PARAM_STRING, NULL, 0, offsetof(struct core_cfg, plugin_dir), 0, 0,
	  "directory of the plugin .so files (default: NETFLOW_CONCENTRATOR_PLUGIN_DIR, else " NFC_PLUGIN_DIR ")" },
	{ "state_dir", NFC_PARAM_STRING, NFC_STATE_DIR, 0, offsetof(struct core_cfg, state_dir), 0, 0,
	  "where persistent state (templates, spool) lives" },
	{ "decoders", NFC_PARAM_STRING, NULL, 0, offsetof(struct core_cfg, decoders), 0, 0,
	  "comma-separated decoder plugins to load (default: every dec_*.so in plugin_dir)" },
	{ "stats_interval", NFC_PARAM_INT, "60", 0, offsetof(struct core_cfg, stats_interval), 0, 86400,
	  "seconds between stats lines (0: only at exit)" },
	{ "queue_records", NFC_PARAM_SIZE, "1M", 0, offsetof(struct core_cfg, queue_records), 1024, 1LL << 32,
	  "records each output may have waiting in memory" },
	{ "queue_memory", NFC_PARAM_SIZE, "512M", 0, offsetof(struct core_cfg, queue_memory), 16LL << 20,
	  1LL << 40, "memory the records waiting for each output may take" },
	{ "drain_timeout", NFC_PARAM_INT, "8", 0, offsetof(struct core_cfg, drain_timeout), 0, 3600,
	  "seconds to keep delivering queued records at shutdown" },
	{ "spool_max", NFC_PARAM_SIZE, "2G", 0, offsetof(struct core_cfg, spool_max), 0, 1LL << 50,
	  "disk each output's spool (state_dir/spool/) may take, compressed; 0: no spool" },
	{ "health_fail_after", NFC_PARAM_INT, "300", 0, offsetof(struct core_cfg, health_fail_after), 1, 86400,
	  "seconds an output may fail to deliver before --health reports the daemon unhealthy" },
	{ "metrics", NFC_PARAM_STRING, NULL, 0, offsetof(struct core_cfg, metrics), 0, 0,
	  "ADDRESS:PORT of the Prometheus metrics endpoint (GET /metrics), e.g. 127.0.0.1:9108; unset: off" },
	{ "debug", NFC_PARAM_BOOL, "no", 0, offsetof(struct core_cfg, debug), 0, 0,
	  "debug logs (also NETFLOW_COLLECTOR_DEBUG=true)" },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

/* Keys the core adds to outputs that declare NFC_PLUGIN_TLS. */
static const struct nfc_param tls_params[] = {
	{ "tls", NFC_PARAM_BOOL, "yes", 0, offsetof(struct nfc_tls_cfg, tls), 0, 0,
	  "use TLS (no: plain TCP, for tests only)" },
	{ "tls_verify", NFC_PARAM_BOOL, "yes", 0, offsetof(struct nfc_tls_cfg, verify), 0, 0,
	  "verify the server certificate and host name (no: lab use only)" },
	{ "ca_file", NFC_PARAM_STRING, NULL, 0, offsetof(struct nfc_tls_cfg, ca_file), 0, 0,
	  "PEM file of trust anchors to use instead of the system store" },
	{ "server_name", NFC_PARAM_STRING, NULL, 0, offsetof(struct nfc_tls_cfg, server_name), 0, 0,
	  "name to verify and send as SNI (default: host)" },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

static const char *const plugin_key[] = { "plugin", NULL };

struct app {
	struct nfc_config cfg;
	struct core_cfg core;
	const char *plugin_dir;
	struct nfc_ctx *in[MAX_INSTANCES], *out[MAX_INSTANCES], *dec[MAX_INSTANCES];
	size_t nin, nout, ndec;
	int errors;
};

static void report(void *arg, const char *fmt, ...)
{
	struct app *app = arg;
	va_list ap;

	va_start(ap, fmt);
	nfc_logv_prefix(NULL, NFC_LOG_ERR, fmt, ap);
	va_end(ap);
	app->errors++;
}

static struct nfc_ctx *make_instance(struct app *app, enum nfc_plugin_kind kind, const char *plugin,
                                     const char *name, const struct nfc_section *s)
{
	struct nfc_loaded_plugin *lp;
	struct nfc_ctx *ctx;
	char err[1024];
	int tls, errors;

	lp = nfc_plugin_load(app->plugin_dir, kind, plugin, err, sizeof(err));
	if (!lp) {
		unsigned line;

		if (!s) {
			report(app, "%s", err);
			return NULL;
		}
		line = s->line; /* the section header, or the plugin= line when set */
		nfc_section_get(s, "plugin", &line);
		report(app, "%s:%u: [%s]: %s", s->path, line, s->title, err);
		return NULL;
	}
	ctx = nfc_ctx_new(name, lp);
	if (!ctx) {
		report(app, "out of memory");
		return NULL;
	}
	ctx->section = s;
	tls = kind == NFC_KIND_OUTPUT && (lp->d.flags & NFC_PLUGIN_TLS);
	errors = nfc_params_apply(lp->d.params, tls ? tls_params : NULL, ctx->inst, &ctx->tls, s, plugin_key,
	                          s ? s->title : name, report, app);
	if (!errors && lp->d.check) {
		int rc = lp->d.check(ctx->inst, ctx);

		if (ctx->config_errors)
			app->errors += ctx->config_errors;
		else if (rc < 0)
			report(app, "[%s]: the %s plugin '%s' refused its configuration", name,
			       nfc_kind_name(kind), plugin);
	}
	return ctx;
}

static void add_decoder(struct app *app, const char *name, const struct nfc_section *s)
{
	struct nfc_ctx *ctx;

	for (size_t i = 0; i < app->ndec; i++)
		if (!strcmp(app->dec[i]->name, name))
			return;
	if (app->ndec == NFC_MAX_DECODERS) {
		report(app, "more than %d decoders", NFC_MAX_DECODERS);
		return;
	}
	ctx = make_instance(app, NFC_KIND_DECODER, name, name, s);
	if (ctx)
		app->dec[app->ndec++] = ctx;
}

static void scan_decoder(const char *path, void *arg)
{
	struct app *app = arg;
	const char *base = strrchr(path, '/');
	char name[128];
	size_t len;

	base = base ? base + 5 : path + 4; /* skip "/dec_" */
	len = strlen(base) - 3;            /* drop ".so" */
	if (len == 0 || len >= sizeof(name))
		return;
	memcpy(name, base, len);
	name[len] = '\0';
	add_decoder(app, name, nfc_config_find(&app->cfg, "decoder", name));
}

static void configure_decoders(struct app *app)
{
	if (app->core.decoders) {
		char *list = strdup(app->core.decoders), *save = NULL, *tok;

		for (tok = list ? strtok_r(list, ", \t", &save) : NULL; tok; tok = strtok_r(NULL, ", \t", &save))
			add_decoder(app, tok, nfc_config_find(&app->cfg, "decoder", tok));
		free(list);
	} else if (nfc_plugin_scan(app->plugin_dir, "dec", scan_decoder, app) < 0) {
		report(app, "cannot read the plugin directory %s: %s (set [core] plugin_dir or "
		       "NETFLOW_CONCENTRATOR_PLUGIN_DIR)", app->plugin_dir, strerror(errno));
		return;
	}
	for (size_t i = 0; i < app->cfg.nsec; i++) {
		const struct nfc_section *s = &app->cfg.sec[i];
		size_t j;

		if (strcmp(s->kind, "decoder"))
			continue;
		for (j = 0; j < app->ndec && strcmp(app->dec[j]->name, s->name); j++)
			;
		if (j == app->ndec)
			report(app, "%s:%u: [%s]: no decoder '%s' is loaded (see [core] decoders and "
			       "--list-plugins)", s->path, s->line, s->title, s->name);
	}
	if (app->ndec == 0 && !app->errors)
		report(app, "no decoder plugin found in %s: is the installation complete?", app->plugin_dir);
}

static int configure(struct app *app)
{
	const struct nfc_section *core = nfc_config_find(&app->cfg, "core", NULL);

	app->errors += nfc_params_apply(core_params, NULL, &app->core, NULL, core, NULL, "core",
	                                report, app);
	if (app->errors)
		return -1;
	app->plugin_dir = nfc_plugin_dir(app->core.plugin_dir);
	nfc_state_dir_set(app->core.state_dir);
	if (app->core.metrics && *app->core.metrics) {
		struct sockaddr_storage sa;
		char why[256];

		if (nfc_metrics_parse(app->core.metrics, &sa, why, sizeof(why)) < 0) {
			unsigned line = 0;

			nfc_section_get(core, "metrics", &line);
			report(app, "%s:%u: [core] metrics: %s", core->path, line, why);
			return -1;
		}
	}
	for (size_t i = 0; i < app->cfg.nsec; i++) {
		const struct nfc_section *s = &app->cfg.sec[i];
		int input = !strcmp(s->kind, "listener") || !strcmp(s->kind, "input");
		int output = !strcmp(s->kind, "forwarder") || !strcmp(s->kind, "output");
		const char *plugin = nfc_section_get(s, "plugin", NULL);
		struct nfc_ctx *ctx;

		if (!input && !output)
			continue;
		if (!plugin && !strcmp(s->kind, "listener"))
			plugin = "udp";
		if (!plugin && !strcmp(s->kind, "forwarder"))
			plugin = "sekoia";
		if (!plugin) {
			report(app, "%s:%u: [%s]: missing plugin=; name the %s plugin (see --list-plugins)",
			       s->path, s->line, s->title, input ? "input" : "output");
			continue;
		}
		if ((input ? app->nin : app->nout) == MAX_INSTANCES) {
			report(app, "%s:%u: [%s]: more than %d %ss", s->path, s->line, s->title, MAX_INSTANCES,
			       input ? "input" : "output");
			continue;
		}
		ctx = make_instance(app, input ? NFC_KIND_INPUT : NFC_KIND_OUTPUT, plugin, s->name, s);
		if (!ctx)
			continue;
		if (input)
			app->in[app->nin++] = ctx;
		else
			app->out[app->nout++] = ctx;
	}
	configure_decoders(app);
	if (!app->errors && app->nin == 0)
		report(app, "%s: no input configured: add a [listener] section (bind=0.0.0.0, port=2055)",
		       app->cfg.path);
	if (!app->errors && app->nout == 0)
		report(app, "%s: no output configured: add a [forwarder] section with host, port and "
		       "intake_key", app->cfg.path);
	return app->errors ? -1 : 0;
}

/* --list-plugins */
static void print_plugin(const char *path, void *arg)
{
	struct nfc_loaded_plugin *lp;
	char err[1024];

	(void)arg;
	lp = nfc_plugin_load_path(path, err, sizeof(err));
	if (!lp) {
		printf("%s: %s\n\n", path, err);
		return;
	}
	printf("%s %s %s (%s, %s)\n    %s\n", nfc_kind_name(lp->d.kind), lp->d.name, lp->d.version,
	       lp->d.license ? lp->d.license : "license not stated", path,
	       lp->d.description ? lp->d.description : "");
	for (int pass = 0; pass < 2; pass++) {
		const struct nfc_param *p = pass ? NULL : lp->d.params;

		if (pass && lp->d.kind == NFC_KIND_OUTPUT && (lp->d.flags & NFC_PLUGIN_TLS))
			p = tls_params;
		for (; p && p->name; p++)
			printf("    %-16s %-7s %-22s %s\n", p->name, nfc_param_type_name(p->type),
			       (p->flags & NFC_PARAM_REQUIRED) ? "(required)" : p->def ? p->def : "(none)",
			       p->doc ? p->doc : "");
	}
	printf("\n");
}

/* --list-plugins: the plugin directory of the configuration given with -c,
 * if any (only its [core] section is read), else the default one. */
static int list_plugins(const char *path)
{
	struct nfc_config cfg;
	struct core_cfg core;
	const char *dir;
	char err[1024];
	int rc = 0;

	memset(&core, 0, sizeof(core));
	if (path && nfc_config_load(&cfg, path, err, sizeof(err)) == 0) {
		struct app quiet = { .errors = 0 };

		nfc_params_apply(core_params, NULL, &core, NULL, nfc_config_find(&cfg, "core", NULL), NULL,
		                 "core", report, &quiet);
	} else if (path) {
		nfc_log_core(NFC_LOG_WARN, "%s", err);
	}
	dir = nfc_plugin_dir(core.plugin_dir);
	if (nfc_plugin_scan(dir, NULL, print_plugin, NULL) < 0) {
		nfc_log_core(NFC_LOG_ERR, "cannot read the plugin directory %s: %s", dir, strerror(errno));
		rc = 1;
	}
	nfc_plugins_unload();
	nfc_params_free(core_params, &core);
	if (path)
		nfc_config_free(&cfg);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: netflow-concentrator [-c FILE] [-t|--check-config] [--test-connection\n"
	        "                            [--send-test-event]] [--status] [--health] [--list-plugins]\n"
	        "                            [-V] [-h]\n"
	        "Receive NetFlow v5/v9 and IPFIX over UDP and forward every flow record to the\n"
	        "Sekoia.io intake (RFC 5424 over TLS) or another output plugin.\n\n"
	        "  -c, --config FILE   configuration file (default %s/configuration.ini)\n"
	        "  -t, --check-config  validate the configuration and plugins, then exit\n"
	        "      --test-connection\n"
	        "                      check, step by step, that every output can deliver\n"
	        "                      (Sekoia.io: key, DNS, TCP, TLS certificate), print what\n"
	        "                      was found and how to fix it; exit 0 only if all can;\n"
	        "                      nothing is sent to the intake\n"
	        "      --send-test-event\n"
	        "                      with --test-connection: also send one test event\n"
	        "      --status        the running daemon's inputs, outputs and exporters, with\n"
	        "                      rates over one second, from its [core] metrics endpoint\n"
	        "      --health        whether the running daemon receives and delivers (exit 0)\n"
	        "                      or not (exit 1), from its state_dir/health\n"
	        "      --list-plugins  list the plugins and their parameters\n"
	        "  -V, --version       print the version\n"
	        "  -h, --help          this help\n\n"
	        "Environment: NETFLOW_COLLECTOR_DEBUG=true for debug logs;\n"
	        "NETFLOW_CONCENTRATOR_PLUGIN_DIR overrides the plugin directory (%s).\n",
	        NFC_SYSCONF_DIR, NFC_PLUGIN_DIR);
}

/* --test-connection: each output's diagnose(), in configuration order.
 * The TLS context is the daemon's own (nfc_tls_prepare), so the check
 * verifies exactly what a start would. Returns the exit status. */
static int diagnose_output(struct nfc_ctx *out, unsigned flags)
{
	const struct nfc_output_ops *ops = out->plugin->output;
	int rc;

	if (!ops->diagnose) {
		nfc_diag(out, NFC_DIAG_INFO, "check", NULL, "the %s plugin has no connection check: "
		         "nothing to test", out->plugin->name);
		return NFC_OK;
	}
	if ((out->plugin->flags & NFC_PLUGIN_TLS) && nfc_tls_prepare(out) < 0) {
		nfc_diag(out, NFC_DIAG_FAIL, "TLS settings", "correct ca_file= (a readable PEM file of CA "
		         "certificates) or remove it", "the TLS context cannot be set up (the error is "
		         "logged above)");
		return NFC_ERROR;
	}
	rc = ops->diagnose(out->inst, out, flags);
	nfc_tls_release(out);
	return rc == NFC_OK && !out->diag_failed ? NFC_OK : NFC_ERROR;
}

/* "[name]" of the longest output name, for aligned report lines. */
static size_t diag_name_width(const struct app *app)
{
	size_t w = 0;

	for (size_t i = 0; i < app->nout; i++)
		if (strlen(app->out[i]->name) + 2 > w)
			w = strlen(app->out[i]->name) + 2;
	return w;
}

static int test_connection(struct app *app, unsigned flags)
{
	size_t bad = 0, unchecked = 0;

	for (size_t i = 0; i < app->nout; i++) {
		if (diagnose_output(app->out[i], flags) != NFC_OK)
			bad++;
		else if (!app->out[i]->plugin->output->diagnose)
			unchecked++;
	}
	if (bad)
		nfc_diag_summary("summary: FAIL: %zu of %zu output%s cannot deliver (see the FAIL lines above)",
		                 bad, app->nout, app->nout == 1 ? "" : "s");
	else
		nfc_diag_summary("summary: OK: %s%zu output%s can deliver%s%s", app->nout > 1 ? "all " : "",
		                 app->nout - unchecked, app->nout - unchecked == 1 ? "" : "s",
		                 unchecked ? "; not checked: " : "", unchecked ? "outputs without a check" : "");
	return bad ? 1 : 0;
}

/* Input workers whose run() has returned (after their last records were
 * queued), and whether one returned an error before shutdown: when every
 * worker has returned, the inputs have ended (a capture file read to its
 * end) and run() below delivers what is queued and stops. */
static atomic_uint workers_ended;
static atomic_int input_failed;

static void *worker_main(void *arg)
{
	struct nfc_worker *w = arg;
	struct nfc_ctx *in = w->ctx;
	int failed;

	nfc_thread_slot = w->slot;
	w->rc = in->plugin->input->run(in->inst, w);
	failed = w->rc < 0 && !nfc_worker_stopping(w);
	if (failed)
		nfc_log(in, NFC_LOG_ERR, "worker %u stopped with an error", w->index);
	nfc_worker_flush(w);
	nfc_batch_put(w->b); /* the (empty) batches the worker kept */
	nfc_batch_put(w->side);
	w->b = NULL;
	w->side = NULL;
	if (failed)
		atomic_store(&input_failed, 1);
	atomic_fetch_add(&workers_ended, 1);
	kill(getpid(), SIGUSR1); /* wake the main thread: the inputs may have ended */
	return NULL;
}

static int start_input(struct nfc_ctx *in)
{
	const struct nfc_input_ops *ops = in->plugin->input;
	unsigned n = 0;
	int slot;
	char desc[256] = "";

	if (ops->open(in->inst, in, &n) < 0)
		return NFC_ERROR;
	in->started = 1;
	if (n == 0)
		n = 1;
	in->workers = calloc(n, sizeof(*in->workers));
	if (!in->workers)
		return NFC_ENOMEM;
	in->nworkers = n;
	for (unsigned i = 0; i < n; i++) {
		in->workers[i].ctx = in;
		in->workers[i].index = i;
		slot = nfc_thread_slot_alloc();
		if (slot < 0)
			return NFC_ETOOBIG;
		in->workers[i].slot = (unsigned)slot;
	}
	if (ops->describe)
		ops->describe(in->inst, desc, sizeof(desc));
	nfc_log(in, NFC_LOG_INFO, "listening on %s", desc[0] ? desc : in->plugin->name);
	return NFC_OK;
}

static int start_threads(struct nfc_ctx *in)
{
	for (unsigned i = 0; i < in->nworkers; i++) {
		int rc = pthread_create(&in->workers[i].thread, NULL, worker_main, &in->workers[i]);

		if (rc) {
			nfc_log(in, NFC_LOG_ERR, "cannot start worker thread: %s", strerror(rc));
			return NFC_ERROR;
		}
		in->nrunning = i + 1;
	}
	return NFC_OK;
}

static int start_all(struct app *app)
{
	struct nfc_outq_cfg qcfg = { app->core.queue_records, app->core.queue_memory,
	                             (unsigned)app->core.drain_timeout * 1000, app->core.state_dir,
	                             app->core.spool_max };

	for (size_t i = 0; i < app->ndec; i++) {
		const struct nfc_decoder_ops *ops = app->dec[i]->plugin->decoder;

		if (ops->start && ops->start(app->dec[i]->inst, app->dec[i]) < 0) {
			nfc_log(app->dec[i], NFC_LOG_ERR, "decoder failed to start");
			return NFC_ERROR;
		}
		app->dec[i]->started = 1;
	}
	for (size_t i = 0; i < app->nout; i++) {
		struct nfc_ctx *out = app->out[i];

		if (nfc_output_prepare(out, &qcfg) < 0)
			return NFC_ENOMEM;
		if ((out->plugin->flags & NFC_PLUGIN_TLS) && nfc_tls_prepare(out) < 0)
			return NFC_ERROR;
		if (out->plugin->output->start && out->plugin->output->start(out->inst, out) < 0) {
			nfc_log(out, NFC_LOG_ERR, "output failed to start");
			return NFC_ERROR;
		}
		out->started = 1;
	}
	for (size_t i = 0; i < app->nin; i++)
		if (start_input(app->in[i]) < 0)
			return NFC_ERROR;
	if (nfc_pipeline_init(app->out, app->nout, app->dec, app->ndec) < 0)
		return NFC_ERROR;
	for (size_t i = 0; i < app->nout; i++)
		if (nfc_output_start(app->out[i]) < 0)
			return NFC_ERROR;
	for (size_t i = 0; i < app->nin; i++)
		if (start_threads(app->in[i]) < 0)
			return NFC_ERROR;
	return NFC_OK;
}

static void log_plugins(struct nfc_ctx **inst, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nfc_log(inst[i], NFC_LOG_INFO, "%s plugin %s %s (%s)", nfc_kind_name(inst[i]->plugin->kind),
		        inst[i]->plugin->name, inst[i]->plugin->version, inst[i]->lp->path);
}

static void log_stats(struct app *app)
{
	nfc_stats_log(app->in, app->nin);
	nfc_stats_log(app->dec, app->ndec);
	nfc_stats_log(app->out, app->nout);
}

/* Stop in order: inputs (their last batches are queued), then drain every
 * output in parallel within drain_timeout, then decoders. */
static void stop_all(struct app *app)
{
	nfc_pipeline_stop_inputs();
	for (size_t i = 0; i < app->nin; i++) {
		struct nfc_ctx *in = app->in[i];

		for (unsigned w = 0; w < in->nrunning; w++)
			pthread_join(in->workers[w].thread, NULL);
		in->nrunning = 0;
		if (in->started && in->plugin->input->close)
			in->plugin->input->close(in->inst);
		in->started = 0;
	}
	for (size_t i = 0; i < app->nout; i++)
		nfc_output_drain_begin(app->out[i]);
	for (size_t i = 0; i < app->nout; i++)
		nfc_output_drain_and_stop(app->out[i]);
	for (size_t i = 0; i < app->ndec; i++) {
		if (app->dec[i]->started && app->dec[i]->plugin->decoder->stop)
			app->dec[i]->plugin->decoder->stop(app->dec[i]->inst);
		app->dec[i]->started = 0;
	}
}

static void free_all(struct app *app)
{
	for (size_t i = 0; i < app->nout; i++)
		nfc_tls_release(app->out[i]);
	for (size_t i = 0; i < app->nin; i++)
		nfc_ctx_free(app->in[i]);
	for (size_t i = 0; i < app->nout; i++)
		nfc_ctx_free(app->out[i]);
	for (size_t i = 0; i < app->ndec; i++)
		nfc_ctx_free(app->dec[i]);
	nfc_params_free(core_params, &app->core);
	nfc_config_free(&app->cfg);
	nfc_pipeline_free();
	nfc_plugins_unload();
}

/* Once a second: the decoders' housekeeping (held data, saved state). */
static void tick_decoders(struct app *app)
{
	for (size_t i = 0; i < app->ndec; i++) {
		const struct nfc_decoder_ops *ops = app->dec[i]->plugin->decoder;

		if (app->dec[i]->started && ops->tick) /* zero-extended: NULL for older plugins */
			ops->tick(app->dec[i]->inst);
	}
}

/* Every output has delivered (or accounted for) all it was given. */
static int outputs_empty(struct app *app)
{
	for (size_t i = 0; i < app->nout; i++)
		if (app->out[i]->q && nfc_output_queued(app->out[i]) > 0)
			return 0;
	return 1;
}

/* Wait for SIGTERM/SIGINT, ticking the decoders every second and logging
 * stats every interval. When every input worker has returned on its own
 * (its data ended), wait, without a deadline, until every output's queue
 * is empty, and return; a signal during that wait falls back to the normal
 * drain. */
static void run(struct app *app, const sigset_t *sigs)
{
	long interval = app->core.stats_interval;
	struct timespec next_stats, next_tick;
	unsigned workers = 0;
	int ended = 0;

	for (size_t i = 0; i < app->nin; i++)
		workers += app->in[i]->nrunning;
	clock_gettime(CLOCK_MONOTONIC, &next_stats);
	next_tick = next_stats;
	next_stats.tv_sec += interval;
	/* healthy from the first second, not after it */
	nfc_health_write(app->core.state_dir, app->out, app->nout, workers);
	for (;;) {
		/* Once the inputs ended, look at the queues more often. */
		struct timespec ts = { ended ? 0 : 1, ended ? 50000000L : 0 }, now;
		int sig = sigtimedwait(sigs, NULL, &ts);

		if (sig == SIGTERM || sig == SIGINT) {
			nfc_log_core(NFC_LOG_INFO, "%s received: stopping inputs, draining outputs (up to %lld s)",
			             sig == SIGTERM ? "SIGTERM" : "SIGINT", app->core.drain_timeout);
			return;
		}
		if (sig == SIGHUP) {
			nfc_log_core(NFC_LOG_INFO, "SIGHUP: outputs reopen their files (the configuration is not "
			             "reloaded; restart to apply changes)");
			for (size_t i = 0; i < app->nout; i++)
				nfc_output_reopen(app->out[i]);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!ended || now.tv_sec > next_tick.tv_sec ||
		    (now.tv_sec == next_tick.tv_sec && now.tv_nsec >= next_tick.tv_nsec)) {
			tick_decoders(app);
			nfc_health_write(app->core.state_dir, app->out, app->nout,
			                 workers - atomic_load(&workers_ended));
			next_tick = now;
			next_tick.tv_sec++;
		}
		if (interval > 0 && now.tv_sec >= next_stats.tv_sec) {
			log_stats(app);
			next_stats.tv_sec = now.tv_sec + interval;
		}
		if (!ended && workers > 0 && atomic_load(&workers_ended) == workers) {
			nfc_log_core(NFC_LOG_INFO, "all inputs ended: delivering what is queued");
			ended = 1;
		}
		if (ended && outputs_empty(app))
			return;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "list-plugins", no_argument, NULL, 'L' },
		{ "test-connection", no_argument, NULL, 'T' },
		{ "send-test-event", no_argument, NULL, 'E' },
		{ "health", no_argument, NULL, 'H' },
		{ "status", no_argument, NULL, 'S' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NFC_SYSCONF_DIR "/configuration.ini";
	const char *env = getenv("NETFLOW_COLLECTOR_DEBUG");
	int check = 0, list = 0, explicit_path = 0, opt, debug = 0, test = 0, test_event = 0, health = 0, status = 0;
	struct app app;
	sigset_t sigs;
	char err[1024];

	memset(&app, 0, sizeof(app));
	while ((opt = getopt_long(argc, argv, "c:tVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; explicit_path = 1; break;
		case 't': check = 1; break;
		case 'L': list = 1; break;
		case 'T': test = 1; break;
		case 'E': test_event = 1; break;
		case 'H': health = 1; break;
		case 'S': status = 1; break;
		case 'V': printf("netflow-concentrator %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, NFC_ABI_MAJOR,
		                 NFC_ABI_MINOR); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || (test_event && !test) || (test && (check || list)) || (health && (test || check || list)) ||
	    (status && (health || test || check || list))) {
		usage(stderr);
		return 2;
	}
	if (env && *env && nfc_parse_bool(env, &debug) < 0)
		nfc_log_core(NFC_LOG_WARN, "NETFLOW_COLLECTOR_DEBUG='%s' is not true or false: ignored", env);
	nfc_log_set_debug(debug);
	if (list)
		return list_plugins(explicit_path ? path : NULL);
	if (test)
		nfc_diag_begin(0);
	if (nfc_config_load(&app.cfg, path, err, sizeof(err)) < 0) {
		nfc_log_core(NFC_LOG_ERR, "%s", err);
		if (test)
			nfc_diag_summary("summary: FAIL: the configuration cannot be read: %s", err);
		nfc_config_free(&app.cfg);
		return 1;
	}
	if (configure(&app) < 0) {
		nfc_log_core(NFC_LOG_ERR, "%s: %d configuration error%s: not starting", path, app.errors,
		             app.errors == 1 ? "" : "s");
		if (test)
			nfc_diag_summary("summary: FAIL: %s has %d configuration error%s (logged above): correct "
			                 "them first, nothing was tested", path, app.errors,
			                 app.errors == 1 ? "" : "s");
		free_all(&app);
		return 1;
	}
	if (app.core.debug)
		nfc_log_set_debug(1);
	if (health) {
		int rc = nfc_health_check(app.core.state_dir, (long)app.core.health_fail_after);

		free_all(&app);
		return rc;
	}
	if (status) {
		int rc = 1;

		if (app.core.metrics && *app.core.metrics)
			rc = nfc_status(app.core.metrics);
		else
			printf("--status asks the running daemon through its metrics endpoint, which is off: set "
			       "[core] metrics=127.0.0.1:9108 in %s and restart it\n", path);
		free_all(&app);
		return rc;
	}
	if (test) {
		int rc;

		nfc_diag_begin(diag_name_width(&app));
		signal(SIGPIPE, SIG_IGN);
		rc = test_connection(&app, test_event ? NFC_DIAG_SEND_EVENT : 0);
		free_all(&app);
		return rc;
	}
	if (check) {
		printf("%s: configuration OK (%zu input%s, %zu output%s, %zu decoder%s)\n", path, app.nin,
		       app.nin == 1 ? "" : "s", app.nout, app.nout == 1 ? "" : "s", app.ndec,
		       app.ndec == 1 ? "" : "s");
		free_all(&app);
		return 0;
	}

	/* Every thread inherits this mask; only the main thread takes signals. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1); /* an input worker returned */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	nfc_log_core(NFC_LOG_INFO, "netflow-concentrator %s starting (plugin ABI %d.%d, plugins from %s, "
	             "configuration %s)", PACKAGE_VERSION, NFC_ABI_MAJOR, NFC_ABI_MINOR, app.plugin_dir, path);
	log_plugins(app.in, app.nin);
	log_plugins(app.dec, app.ndec);
	log_plugins(app.out, app.nout);
	nfc_log_core(NFC_LOG_DEBUG, "debug logs are on");
	if (start_all(&app) < 0) {
		nfc_log_core(NFC_LOG_ERR, "start-up failed: not starting");
		stop_all(&app);
		free_all(&app);
		return 1;
	}
	if (app.core.metrics && *app.core.metrics &&
	    nfc_metrics_start(app.core.metrics, app.in, app.nin, app.dec, app.ndec, app.out, app.nout) < 0) {
		nfc_log_core(NFC_LOG_ERR, "start-up failed: not starting");
		stop_all(&app);
		free_all(&app);
		return 1;
	}
	nfc_log_core(NFC_LOG_INFO, "running");
	run(&app, &sigs);
	nfc_health_remove(app.core.state_dir);
	nfc_metrics_stop();
	stop_all(&app);
	log_stats(&app);
	if (atomic_load(&input_failed)) {
		nfc_log_core(NFC_LOG_ERR, "stopped: an input failed (see above)");
		free_all(&app);
		return 1;
	}
	nfc_log_core(NFC_LOG_INFO, "stopped");
	free_all(&app);
	return 0;
}
