/* libFuzzer target for the configuration reader: any bytes as an INI file,
 * then validation against a parameter table of every type. It must never
 * crash or leak, whatever the file holds. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"

struct inst {
	char *s;
	long long i;
	int b;
	unsigned long long z;
};

static const struct nfc_param table[] = {
	{ "host", NFC_PARAM_STRING, "x", 0, offsetof(struct inst, s), 0, 0, "" },
	{ "port", NFC_PARAM_INT, "1", 0, offsetof(struct inst, i), 1, 65535, "" },
	{ "flag", NFC_PARAM_BOOL, "no", 0, offsetof(struct inst, b), 0, 0, "" },
	{ "size", NFC_PARAM_SIZE, "1k", 0, offsetof(struct inst, z), 0, 0, "" },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

static void quiet(void *arg, const char *fmt, ...)
{
	(void)arg;
	(void)fmt;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfc_config c;
	char err[512];

	if (nfc_config_parse(&c, "fuzz.ini", (const char *)data, size, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < c.nsec; i++) {
			struct inst in = { 0 };
			static const char *const extra[] = { "plugin", NULL };

			nfc_params_apply(table, NULL, &in, NULL, &c.sec[i], extra, c.sec[i].title, quiet, NULL);
			nfc_params_free(table, &in);
		}
	}
	nfc_config_free(&c);
	return 0;
}
