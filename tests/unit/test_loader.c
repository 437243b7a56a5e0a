/* The loader refuses plugins built for another ABI, names both versions, and
 * names the directory it searched for a missing plugin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "loader.h"
#include "nfc.h"

static char dir[4096];

static void test_newer_minor_refused(void)
{
	char err[1024] = "";
	struct nfc_loaded_plugin *lp = nfc_plugin_load(dir, NFC_KIND_DECODER, "newabi", err, sizeof(err));

	CU_ASSERT_PTR_NULL(lp);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plugin ABI 1.99"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "provides ABI 1.0"));
}

static void test_other_major_refused(void)
{
	char err[1024] = "";
	struct nfc_loaded_plugin *lp = nfc_plugin_load(dir, NFC_KIND_DECODER, "oldmajor", err, sizeof(err));

	CU_ASSERT_PTR_NULL(lp);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "plugin ABI 0.9"));
}

static void test_no_symbol_refused(void)
{
	char err[1024] = "";
	struct nfc_loaded_plugin *lp = nfc_plugin_load(dir, NFC_KIND_OUTPUT, "nosym", err, sizeof(err));

	CU_ASSERT_PTR_NULL(lp);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "does not export nfc_plugin_v1"));
}

static void test_missing_names_dir(void)
{
	char err[1024] = "";
	struct nfc_loaded_plugin *lp = nfc_plugin_load(dir, NFC_KIND_OUTPUT, "nonesuch", err, sizeof(err));

	CU_ASSERT_PTR_NULL(lp);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "no out_nonesuch.so in"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, dir));
}

static void test_real_plugins_load(void)
{
	const char *pd = getenv("NETFLOW_CONCENTRATOR_PLUGIN_DIR");
	char err[1024] = "";
	struct nfc_loaded_plugin *lp;

	CU_ASSERT_PTR_NOT_NULL_FATAL(pd);
	lp = nfc_plugin_load(pd, NFC_KIND_OUTPUT, "file", err, sizeof(err));
	if (!lp)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lp);
	CU_ASSERT_STRING_EQUAL(lp->d.name, "file");
	CU_ASSERT_EQUAL(lp->d.kind, NFC_KIND_OUTPUT);
	CU_ASSERT_PTR_NOT_NULL(lp->d.output->encode);
	/* an instance has the core's counters first, whatever the plugin
	 * registers afterwards (in check() or start()) */
	{
		struct nfc_ctx *ctx = nfc_ctx_new("out", lp);

		CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
		CU_ASSERT_EQUAL(nfc_counter_register(ctx, "refused"), NFC_C_OUT_REFUSED);
		CU_ASSERT_EQUAL(nfc_counter_register(ctx, "mine"), NFC_C_OUTPUT_NCOUNTERS);
		nfc_ctx_free(ctx);
	}
	/* asking for it as another kind is refused */
	CU_ASSERT_PTR_NULL(nfc_plugin_load(pd, NFC_KIND_INPUT, "file", err, sizeof(err)));
	CU_ASSERT_PTR_NULL(nfc_plugin_load(pd, NFC_KIND_OUTPUT, "../x", err, sizeof(err)));
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "newer minor refused", test_newer_minor_refused },
		{ "other major refused", test_other_major_refused },
		{ "no descriptor refused", test_no_symbol_refused },
		{ "missing plugin names the directory", test_missing_names_dir },
		{ "real plugins load", test_real_plugins_load },
		{ NULL, NULL }
	};
	const char *b = getenv("NFC_BUILDDIR");
	int rc;

	snprintf(dir, sizeof(dir), "%s/tests/unit/.libs", b ? b : ".");
	rc = nfc_run_tests("loader", tests);
	nfc_plugins_unload();
	return rc;
}
