/* Plugin loader: dlopen <prefix>_<name>.so from the plugin directory, check
 * the descriptor's ABI and keep zero-extended copies of what it declares. */
#ifndef NFC_LOADER_H
#define NFC_LOADER_H

#include "nfc/plugin.h"

struct nfc_loaded_plugin {
	void *dl;
	char *path;
	struct nfc_plugin d; /* the descriptor, zero-extended to this core's size */
	struct nfc_input_ops in_ops;
	struct nfc_decoder_ops dec_ops;
	struct nfc_output_ops out_ops;
	struct nfc_loaded_plugin *next;
};

const char *nfc_kind_prefix(enum nfc_plugin_kind kind);
const char *nfc_kind_name(enum nfc_plugin_kind kind);
/* The directory plugins come from: `configured` if set, else the
 * NETFLOW_CONCENTRATOR_PLUGIN_DIR environment variable, else the built-in one. */
const char *nfc_plugin_dir(const char *configured);
/* Load (once; later calls return the same) a plugin. On failure write one
 * line to err and return NULL. */
struct nfc_loaded_plugin *nfc_plugin_load(const char *dir, enum nfc_plugin_kind kind, const char *name,
                                          char *err, size_t errlen);
/* Load a plugin from an explicit file (for --list-plugins and tests). */
struct nfc_loaded_plugin *nfc_plugin_load_path(const char *path, char *err, size_t errlen);
/* Call fn for each <prefix>_*.so in dir (prefix NULL: every plugin), sorted. */
int nfc_plugin_scan(const char *dir, const char *prefix, void (*fn)(const char *path, void *arg), void *arg);
void nfc_plugins_unload(void);

#endif
