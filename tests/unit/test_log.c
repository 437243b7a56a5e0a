/* The log line formatter: whatever the arguments hold (text from the network),
 * one call writes one line, control characters and invalid UTF-8 escaped as
 * \xNN, valid UTF-8 kept, and the newline always there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cunit_main.h"
#include "log.h"

static char got[8192];
static size_t got_len;

/* Run nfc_log_core(level, "%s%s", lead, arg) with standard error sent to a
 * pipe; the bytes it wrote are in got[0..got_len) (NUL-terminated). */
static void capture(const char *lead, const char *arg)
{
	int fds[2], saved;
	ssize_t r;

	got_len = 0;
	got[0] = '\0';
	CU_ASSERT_FATAL(pipe(fds) == 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_FATAL(dup2(fds[1], STDERR_FILENO) >= 0);
	nfc_log_core(NFC_LOG_WARN, "%s%s", lead, arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	while ((r = read(fds[0], got + got_len, sizeof(got) - 1 - got_len)) > 0)
		got_len += (size_t)r;
	close(fds[0]);
	got[got_len] = '\0';
}

/* The message after "WARN  " (the timestamp and level vary). */
static const char *message(void)
{
	const char *m = strstr(got, " WARN  ");

	return m ? m + 7 : "";
}

/* Exactly one newline, at the end, and no other byte below 0x20 or DEL. */
static int one_clean_line(void)
{
	if (got_len == 0 || got[got_len - 1] != '\n')
		return 0;
	for (size_t i = 0; i + 1 < got_len; i++)
		if ((unsigned char)got[i] < 0x20 || got[i] == 0x7f)
			return 0;
	return 1;
}

static void test_controls_escaped(void)
{
	capture("exporter said ", "\x1b[31m\n\r\t");
	CU_ASSERT(one_clean_line());
	CU_ASSERT_STRING_EQUAL(message(), "exporter said \\x1b[31m\\x0a\\x0d\\x09\n");
	capture("", "a\x7f" "b\x01" "c");
	CU_ASSERT(one_clean_line());
	CU_ASSERT_STRING_EQUAL(message(), "a\\x7fb\\x01c\n");
}

static void test_utf8(void)
{
	/* valid UTF-8 passes: e acute, the euro sign, an emoji */
	capture("template name ", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	CU_ASSERT(one_clean_line());
	CU_ASSERT_STRING_EQUAL(message(), "template name caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n");
	/* a C1 control (U+009B, CSI), a stray byte, an overlong '/', a surrogate,
	 * a sequence cut short */
	capture("", "\xc2\x9b" "1m|\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82");
	CU_ASSERT(one_clean_line());
	CU_ASSERT_STRING_EQUAL(message(), "\\xc2\\x9b1m|\\xff|\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x82\n");
}

static void test_long_lines(void)
{
	static char big[6000];
	const char *m;

	/* Every byte of the argument expands fourfold: the line is cut, but at
	 * an escape boundary, and ends with its newline. */
	memset(big, 0x1b, sizeof(big) - 1);
	capture("", big);
	CU_ASSERT(one_clean_line());
	CU_ASSERT(got_len <= 2048);
	CU_ASSERT(got_len > 2000);
	m = message();
	CU_ASSERT_EQUAL((strlen(m) - 1) % 4, 0);
	CU_ASSERT_NSTRING_EQUAL(got + got_len - 5, "\\x1b\n", 5);

	/* Multi-byte characters are not split by the cut either. */
	for (size_t i = 0; i + 2 < sizeof(big); i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
	}
	big[sizeof(big) - 2] = '\0';
	capture("", big);
	CU_ASSERT(one_clean_line());
	CU_ASSERT(got_len <= 2048);
	CU_ASSERT_PTR_NULL(strstr(got, "\\x"));
	CU_ASSERT_NSTRING_EQUAL(got + got_len - 3, "\xc3\xa9\n", 3);
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "control characters escaped, one line", test_controls_escaped },
		{ "valid UTF-8 kept, invalid and C1 escaped", test_utf8 },
		{ "long lines cut at a boundary", test_long_lines },
		{ NULL, NULL }
	};

	return nfc_run_tests("log", tests);
}
