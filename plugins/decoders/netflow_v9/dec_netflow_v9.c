/*
 * dec_netflow_v9: the NetFlow v9 (RFC 3954) decoder.
 *
 * All the work is shared with the other template-based decoder, in
 * plugins/decoders/flowlib (tdec.c: sets, templates, held data; table.c:
 * exporter streams; state.c: templates across restarts). This file only
 * names the format.
 */
#include "tdec.h"

static const struct tdec_format fmt = { 9, "v9", "netflow_v9", "SAMPLING_INTERVAL" };

static int start(void *inst, struct nfc_ctx *ctx)
{
	return tdec_start(inst, ctx, &fmt);
}

static int decode(void *inst, struct nfc_decode *d, const uint8_t *p, size_t len)
{
	return tdec_decode(inst, d, p, len);
}

static void tick(void *inst)
{
	tdec_tick(inst);
}

static void stop(void *inst)
{
	tdec_stop(inst);
}

static const struct nfc_decoder_ops ops = {
	.size = sizeof(struct nfc_decoder_ops),
	.versions = { 9, 0 },
	.start = start,
	.decode = decode,
	.stop = stop,
	.tick = tick,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_DECODER,
	.name = "netflow_v9",
	.version = PACKAGE_VERSION,
	.description = "NetFlow version 9 decoder (RFC 3954): templates, options, data before template",
	.license = "Apache-2.0",
	.flags = 0,
	.instance_size = sizeof(struct tdec),
	.params = tdec_params,
	.decoder = &ops,
};
