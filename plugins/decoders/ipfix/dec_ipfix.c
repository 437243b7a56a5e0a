/*
 * dec_ipfix: the IPFIX (RFC 7011, version 10) decoder.
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
	.name = "ipfix",
	.version = PACKAGE_VERSION,
	.description = "IPFIX decoder (RFC 7011): templates, options, enterprise and variable-length elements, RFC 5103 biflows",
	.license = "Apache-2.0",
	.flags = 0,
	.instance_size = sizeof(struct tdec),
	.params = tdec_params,
	.decoder = &tdec_ipfix_ops,
};
