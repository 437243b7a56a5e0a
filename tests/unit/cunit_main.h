/* Shared main() of the CUnit test programs: run every suite the program
 * registers, print the summary, exit non-zero when anything failed. */
#ifndef NFC_CUNIT_MAIN_H
#define NFC_CUNIT_MAIN_H

#include <CUnit/Basic.h>
#include <stdlib.h>

struct nfc_test {
	const char *name;
	void (*fn)(void);
};

static int nfc_run_tests(const char *suite, const struct nfc_test *tests)
{
	CU_pSuite s;
	unsigned failed;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	s = CU_add_suite(suite, NULL, NULL);
	for (; tests->name; tests++)
		CU_add_test(s, tests->name, tests->fn);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}

#endif
