/*
 * The template-based decoder shared by dec_netflow_v9 and dec_ipfix: one
 * walk over sets for both formats (RFC 3954 and RFC 7011 differ in the
 * header, the set ids, the template record layout and enterprise numbers),
 * templates and held data in flowlib's table, naming from the IE tables.
 */
#ifndef NFC_TDEC_H
#define NFC_TDEC_H

#include "flowlib.h"

struct tdec_format {
	uint16_t version;         /* 9 or 10 */
	const char *name;         /* "v9", "IPFIX": for log lines */
	const char *state_name;   /* file under state_dir */
	const char *sampling_key; /* SAMPLING_INTERVAL / samplingInterval */
};

/* The instance of both plugins; its parameters are tdec_params. */
struct tdec {
	struct fl_cfg cfg;
	struct nfc_ctx *ctx;
	const struct tdec_format *fmt;
	struct fl_table *tb;
	int c_options, c_unknown_sets, c_bad_templates;
};

/* What the two plugins export: the parameters (of struct tdec) and the
 * operations of each format. */
extern const struct nfc_param tdec_params[];
extern const struct nfc_decoder_ops tdec_v9_ops, tdec_ipfix_ops;

#endif
