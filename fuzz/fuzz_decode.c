/*
 * libFuzzer target over the core's real decode path (nfc_decode_datagram),
 * through every decoder plugin found in NETFLOW_CONCENTRATOR_PLUGIN_DIR;
 * every record produced is encoded to JSON with nfc_batch_json(), as every
 * output does, and checked to be one valid flat JSON object.
 *
 * Two targets are built from this file (fuzz/run.sh):
 *
 *  - fuzz_decode: one input is one UDP datagram. Decoders are started once
 *    and keep their state between inputs (template caches, exporter tables),
 *    so sequences of inputs exercise stateful paths too, though not
 *    reproducibly; their memory is bounded by their own limits, which the
 *    fuzzer checks as a side effect (-rss_limit_mb). Each input comes from
 *    one of a few source addresses (chosen by its length) so per-exporter
 *    state is exercised without growing without bound.
 *
 *  - fuzz_decode_seq (-DFUZZ_SEQUENCE): one input is several datagrams from
 *    one exporter, each preceded by its length (2 bytes, big-endian; a
 *    length past the end takes what is left), so that template-then-data
 *    orders, redefinitions, withdrawals and held data replayed when their
 *    template arrives are explored within one input. Every input starts
 *    from fresh decoders (stopped and started again), so a crash file
 *    reproduces alone. The datagrams share one batch, as a worker's do,
 *    and their records are encoded only after the whole sequence, so a
 *    record whose template was replaced or withdrawn later in the sequence
 *    must still encode with its own layout. Then the decoders are stopped
 *    (templates saved to a private state_dir), started again (restored)
 *    and the sequence decoded a second time over the restored templates.
 *    Log lines of that restart are discarded unless FUZZ_VERBOSE is set.
 *
 * The core copies each datagram into a large batch arena; under ASan the
 * arena past the copy is poisoned for the duration of the decode, so a
 * decoder reading past the end of its datagram is reported rather than
 * silently reading the arena's spare bytes. Replayed held data that does
 * not fit the batch goes to the worker's side batch, which the core hands
 * on (here: discards, there is no output) at the end of each datagram;
 * what is left of it is released after each input, as the daemon's
 * worker_main does.
 *
 * Build and run with fuzz/run.sh.
 */
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json.h"
#include "loader.h"
#include "nfc.h"


int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct nfc_ctx *dec[NFC_MAX_DECODERS];
static size_t ndec;
static struct nfc_ctx *in_ctx;
static struct nfc_worker worker;
static struct nfc_buf json;

/* ------------------------------------------------------------------------ */
/* A strict checker of the encoder's output: one flat JSON object whose     */
/* values are numbers, strings or the literals true, false and null (RFC    */
/* 8259: booleans for IPFIX boolean elements, null for a NaN or infinite    */
/* float), strings in valid UTF-8 with control characters escaped          */
/* (duplicate keys are not looked for).                                    */

static size_t utf8_seq(const uint8_t *p, size_t n)
{
	uint32_t cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static int is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Parse a JSON string at p[*i] (the opening quote); 0 on success. */
static int json_string(const uint8_t *p, size_t n, size_t *i)
{
	size_t k = *i + 1;

	while (k < n && p[k] != '"') {
		if (p[k] < 0x20)
			return -1;
		if (p[k] == '\\') {
			if (k + 1 >= n)
				return -1;
			if (p[k + 1] == 'u') {
				if (k + 5 >= n || !is_hex(p[k + 2]) || !is_hex(p[k + 3]) || !is_hex(p[k + 4]) ||
				    !is_hex(p[k + 5]))
					return -1;
				k += 6;
			} else if (p[k + 1] && strchr("\"\\/bfnrt", p[k + 1])) {
				k += 2;
			} else {
				return -1;
			}
			continue;
		}
		size_t l = utf8_seq(p + k, n - k);

		if (!l)
			return -1;
		k += l;
	}
	if (k >= n)
		return -1;
	*i = k + 1;
	return 0;
}

/* A JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int json_number(const uint8_t *p, size_t n, size_t *i)
{
	size_t k = *i;

	if (k < n && p[k] == '-')
		k++;
	if (k < n && p[k] == '0')
		k++;
	else if (k < n && p[k] >= '1' && p[k] <= '9')
		while (k < n && p[k] >= '0' && p[k] <= '9')
			k++;
	else
		return -1;
	if (k < n && p[k] == '.') {
		if (++k >= n || p[k] < '0' || p[k] > '9')
			return -1;
		while (k < n && p[k] >= '0' && p[k] <= '9')
			k++;
	}
	if (k < n && (p[k] == 'e' || p[k] == 'E')) {
		k++;
		if (k < n && (p[k] == '+' || p[k] == '-'))
			k++;
		if (k >= n || p[k] < '0' || p[k] > '9')
			return -1;
		while (k < n && p[k] >= '0' && p[k] <= '9')
			k++;
	}
	*i = k;
	return 0;
}

/* true, false or null */
static int json_literal(const uint8_t *p, size_t n, size_t *i)
{
	static const char *const lit[] = { "true", "false", "null" };

	for (size_t k = 0; k < 3; k++) {
		size_t l = strlen(lit[k]);

		if (n - *i >= l && !memcmp(p + *i, lit[k], l)) {
			*i += l;
			return 0;
		}
	}
	return -1;
}

static int json_flat_object(const uint8_t *p, size_t n)
{
	size_t i = 1;

	if (n < 2 || p[0] != '{' || p[n - 1] != '}')
		return -1;
	if (n == 2)
		return 0;
	for (;;) {
		if (p[i] != '"' || json_string(p, n, &i) < 0 || i >= n || p[i++] != ':' || i >= n)
			return -1;
		if (p[i] == '"') {
			if (json_string(p, n, &i) < 0)
				return -1;
		} else if (json_literal(p, n, &i) < 0 && json_number(p, n, &i) < 0) {
			return -1;
		}
		if (i >= n)
			return -1;
		if (p[i] == '}')
			return i == n - 1 ? 0 : -1;
		if (p[i++] != ',' || i >= n)
			return -1;
	}
}

static void add_decoder(const char *path, void *arg)
{
	struct nfc_loaded_plugin *lp;
	struct nfc_ctx *ctx;
	char err[512];

	(void)arg;
	if (ndec == NFC_MAX_DECODERS)
		return;
	lp = nfc_plugin_load_path(path, err, sizeof(err));
	if (!lp) {
		fprintf(stderr, "fuzz_decode: %s\n", err);
		abort();
	}
	ctx = nfc_ctx_new(lp->d.name, lp);
	if (!ctx)
		abort();
	/* Parameters take their declared defaults (the limits the daemon runs
	 * with); none is required by a decoder. */
	if (nfc_ctx_apply_defaults(ctx) < 0)
		abort();
	if (lp->d.decoder->start && lp->d.decoder->start(ctx->inst, ctx) < 0) {
		fprintf(stderr, "fuzz_decode: decoder %s failed to start\n", lp->d.name);
		abort();
	}
	fprintf(stderr, "fuzz_decode: loaded %s\n", path);
	dec[ndec++] = ctx;
}

#ifdef FUZZ_SEQUENCE
static char state_dir[256];
static int quiet_fd = -1, saved_stderr = -1;

/* Remove what the decoders saved, so the next input starts from nothing. */
static void state_clear(void)
{
	DIR *d = opendir(state_dir);
	struct dirent *e;
	char path[512];

	if (!d)
		abort();
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", state_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

static void state_remove(void)
{
	state_clear();
	rmdir(state_dir);
}

static void quiet(int on)
{
	if (quiet_fd < 0)
		return;
	fflush(stderr);
	dup2(on ? quiet_fd : saved_stderr, STDERR_FILENO);
}

/* Stop every decoder (it saves its templates) and start it again (it
 * restores them), or with `clear` from nothing. */
static void decoders_restart(int clear)
{
	for (size_t i = 0; i < ndec; i++)
		if (dec[i]->plugin->decoder->stop)
			dec[i]->plugin->decoder->stop(dec[i]->inst);
	if (clear)
		state_clear();
	for (size_t i = 0; i < ndec; i++) {
		const struct nfc_decoder_ops *ops = dec[i]->plugin->decoder;

		if (ops->start && ops->start(dec[i]->inst, dec[i]) < 0) {
			fprintf(stderr, "fuzz_decode: decoder %s failed to restart\n", dec[i]->name);
			abort();
		}
	}
}
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = nfc_plugin_dir(NULL);

	(void)argc;
	(void)argv;
#ifdef FUZZ_SEQUENCE
	{
		const char *base = getenv("TMPDIR");

		/* tmpfs when there is one: the decoders fsync their state */
		if (!base || !*base)
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(state_dir, sizeof(state_dir), "%s/nfc-fuzz-state.XXXXXX", base);
		if (!mkdtemp(state_dir))
			abort();
		nfc_state_dir_set(state_dir);
		atexit(state_remove);
		if (!getenv("FUZZ_VERBOSE")) {
			quiet_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
			saved_stderr = dup(STDERR_FILENO);
			if (quiet_fd < 0 || saved_stderr < 0)
				abort();
		}
	}
#endif
	if (nfc_plugin_scan(dir, "dec", add_decoder, NULL) < 0 || ndec == 0) {
		fprintf(stderr, "fuzz_decode: no decoder in %s (set NETFLOW_CONCENTRATOR_PLUGIN_DIR)\n", dir);
		abort();
	}
	in_ctx = nfc_ctx_new("fuzz", NULL);
	if (!in_ctx || nfc_pipeline_init(NULL, 0, dec, ndec) < 0 || nfc_buf_init(&json, 65536) < 0)
		abort();
	worker.ctx = in_ctx;
	return 0;
}

/* Every record of b must encode to one valid flat JSON object. */
static void check_records(struct nfc_batch *b)
{
	for (size_t i = 0; i < nfc_batch_count(b); i++) {
		json.len = 0;
		if (nfc_batch_json(b, i, &json) == NFC_OK &&
		    json_flat_object((const uint8_t *)json.data, json.len) < 0) {
			/* the encoder must always produce one valid flat object */
			fprintf(stderr, "fuzz_decode: invalid JSON from record %zu: %.*s\n", i, (int)json.len,
			        json.data);
			abort();
		}
	}
}

/* Decode one datagram from 192.0.2.<host>:40000 into b (the caller made
 * sure it fits). */
static void decode_one(struct nfc_batch *b, const uint8_t *data, size_t size, unsigned host)
{
	struct nfc_datagram dg;
	struct sockaddr_in *sin = (struct sockaddr_in *)&dg.source;

	memset(&dg, 0, sizeof(dg));
	dg.data = data;
	dg.len = size;
	dg.received.tv_sec = 1700000000;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(0xc0000200u | host); /* 192.0.2.x */
	nfc_decode_datagram(&worker, b, &dg); /* poisons the spare arena under ASan */
}

/* What the daemon's worker does with its side batch when it is done. */
static void release_side(void)
{
	if (worker.side) {
		nfc_batch_put(worker.side);
		worker.side = NULL;
	}
}

#ifndef FUZZ_SEQUENCE
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfc_batch *b;

	if (size > 65535) /* no UDP datagram is larger */
		return -1;
	b = nfc_batch_get();
	if (!b)
		abort();
	decode_one(b, data, size, (unsigned)(size & 3)); /* 192.0.2.0-3 */
	check_records(b);
	nfc_batch_put(b);
	release_side();
	return 0;
}
#else
/* Decode the datagrams of one sequence input into *bp, starting a new
 * batch (the full one checked and released) when the next does not fit. */
static void decode_sequence(struct nfc_batch **bp, const uint8_t *data, size_t size)
{
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len > (*bp)->cap - (*bp)->used) {
			check_records(*bp);
			nfc_batch_put(*bp);
			*bp = nfc_batch_get();
			if (!*bp)
				abort();
		}
		decode_one(*bp, data, len, 1);
		data += len;
		size -= len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfc_batch *b = nfc_batch_get();

	if (!b)
		abort();
	decode_sequence(&b, data, size);
	/* records are encoded after the whole sequence, whatever it did to
	 * their templates since */
	check_records(b);
	nfc_batch_put(b);
	release_side();

	/* a restart: templates saved, restored, then the same datagrams
	 * again over the restored templates */
	quiet(1);
	decoders_restart(0);
	quiet(0);
	b = nfc_batch_get();
	if (!b)
		abort();
	decode_sequence(&b, data, size);
	check_records(b);
	nfc_batch_put(b);
	release_side();

	/* the next input starts from nothing */
	quiet(1);
	decoders_restart(1);
	quiet(0);
	return 0;
}
#endif
