/*
 * dec_netflow_v9: the NetFlow version 9 (RFC 3954) decoder.
 *
 * All the work is shared with the other template-based decoder, in
 * plugins/decoders/flowlib (tdec.c: sets, templates, held data, the format's
 * operations; table.c: exporter streams; state.c: templates across
 * restarts). This file only describes the plugin.
 */
#include "tdec.h"

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
	.decoder = &tdec_v9_ops,
};
