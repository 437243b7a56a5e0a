/* configuration.ini: read into a libconfig settings tree, one group per
 * section, one string setting per key (with its source line). */
#ifndef NFC_CONF_H
#define NFC_CONF_H

#include <libconfig.h>
#include <stddef.h>

#include "nfc/plugin.h"

struct nfc_section {
	char *title;  /* as written between the brackets, normalised spaces */
	char *kind;   /* "listener", "forwarder", "core", "input", "output", "decoder" */
	char *name;   /* instance name: listener, forwarder, or the NAME of [input NAME] */
	unsigned line;
	config_setting_t *group;
	const char *path; /* the file */
};

struct nfc_config {
	char *path;
	config_t cfg;
	struct nfc_section *sec;
	size_t nsec;
};

/* Read and parse the file. On failure writes one line to err and returns a
 * negative code; the config is then empty but safe to free. */
int nfc_config_load(struct nfc_config *c, const char *path, char *err, size_t errlen);
/* Parse text already in memory (tests, fuzzing); `path` names it in errors. */
int nfc_config_parse(struct nfc_config *c, const char *path, const char *text, size_t len, char *err,
                     size_t errlen);
void nfc_config_free(struct nfc_config *c);
const struct nfc_section *nfc_config_find(const struct nfc_config *c, const char *kind, const char *name);
/* A key of a section: its value (NULL when absent) and line. */
const char *nfc_section_get(const struct nfc_section *s, const char *key, unsigned *line);

/* Parameter tables (params.c). Report every problem through `report` (one
 * line each) and return the number of errors. `extra` lists further keys the
 * core itself consumes in this section (e.g. "plugin"), NULL-terminated. */
typedef void (*nfc_report_fn)(void *arg, const char *fmt, ...) NFC_PRINTF(2, 3);
int nfc_params_apply(const struct nfc_param *table, const struct nfc_param *table2, void *inst,
                     void *inst2, const struct nfc_section *s, const char *const *extra,
                     const char *who, nfc_report_fn report, void *arg);
void nfc_params_free(const struct nfc_param *table, void *inst);
int nfc_parse_bool(const char *v, int *out);
const char *nfc_param_type_name(enum nfc_param_type t);

#endif
