/* A decoder plugin built for an ABI this core must refuse (BAD_MAJOR.BAD_MINOR). */
#include "nfc/plugin.h"

static int decode(void *inst, struct nfc_decode *d, const uint8_t *p, size_t len)
{
	return NFC_OK;
}

static const struct nfc_decoder_ops ops = {
	.size = sizeof(struct nfc_decoder_ops),
	.versions = { 99, 0 },
	.decode = decode,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = BAD_MAJOR,
	.abi_minor = BAD_MINOR,
	.kind = NFC_KIND_DECODER,
	.name = BAD_NAME,
	.version = "0",
	.decoder = &ops,
};
