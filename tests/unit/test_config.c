/* The INI reader and the parameter tables: the guide's file loads as is,
 * every kind of mistake is reported once with file, line and key. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "cunit_main.h"

static const char guide[] =
	"[listener]\n"
	"# IP address to bind the NetFlow listener (0.0.0.0 for all interfaces)\n"
	"bind=0.0.0.0\n"
	"# Port to listen for NetFlow data (default: 2055)\n"
	"port=2055\n"
	"\n"
	"[forwarder]\n"
	"# SEKOIA.IO intake host (see Regional Hosts section below)\n"
	"host=intake.sekoia.io\n"
	"# SEKOIA.IO intake port\n"
	"port=10514\n"
	"# Your SEKOIA.IO intake key (REQUIRED)\n"
	"intake_key=<intake_key>\n";

struct inst {
	char *host;
	long long port;
	char *key;
	int flag;
	unsigned long long size;
};

static const struct nfc_param table[] = {
	{ "host", NFC_PARAM_STRING, "localhost", 0, offsetof(struct inst, host), 0, 0, "host" },
	{ "port", NFC_PARAM_INT, "10514", 0, offsetof(struct inst, port), 1, 65535, "port" },
	{ "intake_key", NFC_PARAM_STRING, NULL, NFC_PARAM_REQUIRED | NFC_PARAM_SECRET,
	  offsetof(struct inst, key), 0, 0, "the key" },
	{ "flag", NFC_PARAM_BOOL, "no", 0, offsetof(struct inst, flag), 0, 0, "a flag" },
	{ "size", NFC_PARAM_SIZE, "1M", 0, offsetof(struct inst, size), 0, 0, "a size" },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

static char reports[8][512];
static int nreports;

static void collect(void *arg, const char *fmt, ...)
{
	va_list ap;

	(void)arg;
	if (nreports >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(reports[nreports++], sizeof(reports[0]), fmt, ap);
	va_end(ap);
}

static int parse(struct nfc_config *c, const char *text, char *err)
{
	return nfc_config_parse(c, "test.ini", text, strlen(text), err, 512);
}

/* Apply `table` to the [forwarder] section of `text`; returns the error count. */
static int apply(const char *text, struct inst *in)
{
	struct nfc_config c;
	char err[512] = "";
	static const char *const extra[] = { "plugin", NULL };
	int n;

	nreports = 0;
	memset(in, 0, sizeof(*in));
	CU_ASSERT_EQUAL_FATAL(parse(&c, text, err), 0);
	n = nfc_params_apply(table, NULL, in, NULL, nfc_config_find(&c, "forwarder", NULL), extra, "forwarder",
	                     collect, NULL);
	nfc_config_free(&c);
	return n;
}

static void test_guide_file(void)
{
	struct nfc_config c;
	char err[512] = "";
	unsigned line = 0;
	const struct nfc_section *l, *f;

	CU_ASSERT_EQUAL_FATAL(parse(&c, guide, err), 0);
	CU_ASSERT_EQUAL(c.nsec, 2);
	l = nfc_config_find(&c, "listener", NULL);
	f = nfc_config_find(&c, "forwarder", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_STRING_EQUAL(nfc_section_get(l, "bind", &line), "0.0.0.0");
	CU_ASSERT_EQUAL(line, 3);
	CU_ASSERT_STRING_EQUAL(nfc_section_get(f, "intake_key", &line), "<intake_key>");
	CU_ASSERT_EQUAL(line, 13);
	CU_ASSERT_EQUAL(f->line, 7);
	nfc_config_free(&c);
}

static void test_syntax(void)
{
	struct nfc_config c;
	char err[512] = "";

	CU_ASSERT_NOT_EQUAL(parse(&c, "[listener\nport=1\n", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.ini:1:"));
	nfc_config_free(&c);
	CU_ASSERT_NOT_EQUAL(parse(&c, "port=1\n", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "key outside any section"));
	nfc_config_free(&c);
	CU_ASSERT_NOT_EQUAL(parse(&c, "[listener]\nport 2055\n", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.ini:2:"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected key = value"));
	nfc_config_free(&c);
	CU_ASSERT_NOT_EQUAL(parse(&c, "[listener]\nport=1\nport=2\n", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.ini:3: [listener] port: set twice (first at line 2)"));
	nfc_config_free(&c);
	CU_ASSERT_NOT_EQUAL(parse(&c, "[listner]\n", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown section"));
	nfc_config_free(&c);
	CU_ASSERT_NOT_EQUAL(parse(&c, "[output a]\n[input a]\n", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "already used"));
	nfc_config_free(&c);
	CU_ASSERT_NOT_EQUAL(parse(&c, "[listener]\nbad key=1\n", err), 0);
	nfc_config_free(&c);
	/* a value continued on the next line (configparser style) is refused
	 * without echoing it: it may be the intake key */
	CU_ASSERT_NOT_EQUAL(parse(&c, "[forwarder]\nintake_key =\n    SuperSecret42Key\n", err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.ini:3:"));
	CU_ASSERT_PTR_NULL(strstr(err, "SuperSecret42Key"));
	nfc_config_free(&c);
}

static void test_forms(void)
{
	struct nfc_config c;
	char err[512] = "";
	const struct nfc_section *s;

	/* BOM, CRLF, spaces, quotes, trailing comments, [output NAME] */
	CU_ASSERT_EQUAL_FATAL(parse(&c, "\xef\xbb\xbf[listener]\r\n  port = 2055  # the default\r\n"
	                               "bind = \"::\"\r\n[output  json]\npath=/tmp/x;y\n", err), 0);
	s = nfc_config_find(&c, "listener", NULL);
	CU_ASSERT_STRING_EQUAL(nfc_section_get(s, "port", NULL), "2055");
	CU_ASSERT_STRING_EQUAL(nfc_section_get(s, "bind", NULL), "::");
	nfc_config_free(&c);
	/* configparser forms: `key: value`, keys in any case */
	CU_ASSERT_EQUAL_FATAL(parse(&c, "[forwarder]\nHost: intake.sekoia.io\nINTAKE_KEY = abc:def\n"
	                               "[output json]\npath=/tmp/x;y\n", err), 0);
	s = nfc_config_find(&c, "forwarder", NULL);
	CU_ASSERT_STRING_EQUAL(nfc_section_get(s, "host", NULL), "intake.sekoia.io");
	CU_ASSERT_STRING_EQUAL(nfc_section_get(s, "intake_key", NULL), "abc:def");
	s = nfc_config_find(&c, "output", "json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->title, "output json");
	CU_ASSERT_STRING_EQUAL(nfc_section_get(s, "path", NULL), "/tmp/x;y");
	nfc_config_free(&c);
}

static void test_params_defaults(void)
{
	struct inst in;

	CU_ASSERT_EQUAL(apply("[forwarder]\nintake_key=abc\n", &in), 0);
	CU_ASSERT_STRING_EQUAL(in.host, "localhost");
	CU_ASSERT_EQUAL(in.port, 10514);
	CU_ASSERT_EQUAL(in.flag, 0);
	CU_ASSERT_EQUAL(in.size, 1 << 20);
	nfc_params_free(table, &in);
	CU_ASSERT_EQUAL(apply("[forwarder]\nintake_key=abc\nflag=TRUE\nsize=32MiB\nplugin=x\n", &in), 0);
	CU_ASSERT_EQUAL(in.flag, 1);
	CU_ASSERT_EQUAL(in.size, 32ULL << 20);
	nfc_params_free(table, &in);
}

static void test_params_errors(void)
{
	struct inst in;

	CU_ASSERT_EQUAL(apply("[forwarder]\nintake_key=abc\nport=70000\n", &in), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[0], "test.ini:3: [forwarder] port: invalid value '70000'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[0], "from 1 to 65535"));
	nfc_params_free(table, &in);

	CU_ASSERT_EQUAL(apply("[forwarder]\nintake_key=abc\nprot=1\n", &in), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[0], "test.ini:3: [forwarder] prot: unknown key"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[0], "host, port, intake_key, flag, size, plugin"));
	nfc_params_free(table, &in);

	CU_ASSERT_EQUAL(apply("[forwarder]\nhost=x\n", &in), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[0], "test.ini:1: [forwarder] intake_key: missing"));
	nfc_params_free(table, &in);

	CU_ASSERT_EQUAL(apply("[forwarder]\nintake_key=abc\nflag=maybe\nsize=12Q\nport=\n", &in), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[0], "port"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[1], "flag"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[2], "size"));
	nfc_params_free(table, &in);
}

static void test_secret_never_printed(void)
{
	struct nfc_param secret_int[] = {
		{ "intake_key", NFC_PARAM_INT, NULL, NFC_PARAM_SECRET, 0, 0, 0, NULL },
		{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
	};
	struct nfc_config c;
	char err[512];
	long long v;

	CU_ASSERT_EQUAL_FATAL(parse(&c, "[forwarder]\nintake_key=SuperSecret42\n", err), 0);
	nreports = 0;
	CU_ASSERT_EQUAL(nfc_params_apply(secret_int, NULL, &v, NULL, nfc_config_find(&c, "forwarder", NULL),
	                                 NULL, "forwarder", collect, NULL), 1);
	CU_ASSERT_PTR_NULL(strstr(reports[0], "SuperSecret42"));
	CU_ASSERT_PTR_NOT_NULL(strstr(reports[0], "intake_key"));
	nfc_config_free(&c);
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "the guide's configuration.ini", test_guide_file },
		{ "syntax errors name file and line", test_syntax },
		{ "accepted forms", test_forms },
		{ "defaults and types", test_params_defaults },
		{ "parameter errors", test_params_errors },
		{ "secrets are never printed", test_secret_never_printed },
		{ NULL, NULL }
	};

	return nfc_run_tests("config", tests);
}
