/*
 * libFuzzer target: one input is one UDP datagram, decoded through the
 * core's real path (nfc_decode_datagram) by every decoder plugin found in
 * NETFLOW_CONCENTRATOR_PLUGIN_DIR, then every record it produced is encoded
 * to JSON with nfc_batch_json(), as every output does.
 *
 * Decoders are started once and keep their state between inputs (template
 * caches, exporter tables), so sequences of inputs exercise stateful paths
 * too; their memory is bounded by their own limits, which the fuzzer checks
 * as a side effect (-rss_limit_mb).
 *
 * The core copies each datagram into a large batch arena; under ASan the
 * arena past the copy is poisoned for the duration of the decode, so a
 * decoder reading past the end of its datagram is reported rather than
 * silently reading the arena's spare bytes. Each input also comes from one
 * of a few source addresses (chosen by its length) so per-exporter state is
 * exercised without growing without bound.
 *
 * Build and run with fuzz/run.sh.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
/* values are numbers or strings (RFC 8259), strings in valid UTF-8 with    */
/* control characters escaped (duplicate keys are not looked for).        */

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
		} else if (json_number(p, n, &i) < 0) {
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

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = nfc_plugin_dir(NULL);

	(void)argc;
	(void)argv;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfc_datagram dg;
	struct sockaddr_in *sin = (struct sockaddr_in *)&dg.source;
	struct nfc_batch *b;

	if (size > 65535) /* no UDP datagram is larger */
		return -1;
	b = nfc_batch_get();
	if (!b)
		abort();
	memset(&dg, 0, sizeof(dg));
	dg.data = data;
	dg.len = size;
	dg.received.tv_sec = 1700000000;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(0xc0000200u | (size & 3)); /* 192.0.2.0-3 */

	nfc_decode_datagram(&worker, b, &dg); /* poisons the spare arena under ASan */

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
	nfc_batch_put(b);
	return 0;
}
