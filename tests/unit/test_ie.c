/* The information-element tables (plugins/decoders/flowlib/ie_tables.c,
 * generated from the registries): names, kinds and counter flags of both
 * tables, and that every name is a usable JSON key. */
#include <stdlib.h>
#include <string.h>

#include "cunit_main.h"
#include "ie.h"

static void expect(const struct ie_def *d, const char *name, int kind, unsigned flags)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(d->name, name);
	CU_ASSERT_EQUAL(d->kind, kind);
	CU_ASSERT_EQUAL(d->flags, flags);
}

static void test_iana(void)
{
	expect(ie_iana(1), "octetDeltaCount", NFC_FIELD_UINT, IE_F_COUNTER);
	expect(ie_iana(2), "packetDeltaCount", NFC_FIELD_UINT, IE_F_COUNTER);
	expect(ie_iana(85), "octetTotalCount", NFC_FIELD_UINT, IE_F_COUNTER);
	expect(ie_iana(4), "protocolIdentifier", NFC_FIELD_UINT, 0);
	expect(ie_iana(8), "sourceIPv4Address", NFC_FIELD_IPV4, 0);
	expect(ie_iana(27), "sourceIPv6Address", NFC_FIELD_IPV6, 0);
	expect(ie_iana(56), "sourceMacAddress", NFC_FIELD_MAC, 0);
	expect(ie_iana(82), "interfaceName", NFC_FIELD_STRING, 0);
	expect(ie_iana(95), "applicationId", NFC_FIELD_BYTES, 0);
	expect(ie_iana(130), "exporterIPv4Address", NFC_FIELD_IPV4, 0);
	expect(ie_iana(131), "exporterIPv6Address", NFC_FIELD_IPV6, 0);
	expect(ie_iana(150), "flowStartSeconds", NFC_FIELD_TIME_S, 0);
	expect(ie_iana(152), "flowStartMilliseconds", NFC_FIELD_TIME_MS, 0);
	expect(ie_iana(154), "flowStartMicroseconds", NFC_FIELD_TIME_US, 0);
	expect(ie_iana(156), "flowStartNanoseconds", NFC_FIELD_TIME_NS, 0);
	expect(ie_iana(292), "subTemplateList", NFC_FIELD_BYTES, 0);
	expect(ie_iana(311), "samplingProbability", NFC_FIELD_FLOAT, 0);
	expect(ie_iana(434), "mibObjectValueInteger", NFC_FIELD_INT, 0);
	expect(ie_iana(276), "dataRecordsReliability", NFC_FIELD_BOOL, 0);
	/* unsigned256 (too wide for a number) */
	expect(ie_iana(520), "tcpOptionsFull", NFC_FIELD_BYTES, 0);
	/* not elements: Reserved, NetFlow v9 compatibility, blank deprecated
	 * rows, unassigned ids */
	CU_ASSERT_PTR_NULL(ie_iana(0));
	CU_ASSERT_PTR_NULL(ie_iana(65));
	CU_ASSERT_PTR_NULL(ie_iana(97));
	CU_ASSERT_PTR_NULL(ie_iana(110));
	CU_ASSERT_PTR_NULL(ie_iana(416));
	CU_ASSERT_PTR_NULL(ie_iana(419));
	CU_ASSERT_PTR_NULL(ie_iana(2000));
	CU_ASSERT_PTR_NULL(ie_iana(32768));
	CU_ASSERT_PTR_NULL(ie_iana(65535));
}

static void test_v9(void)
{
	/* the v9 table's names, kinds from IANA's element of the same id */
	expect(ie_v9(1), "IN_BYTES", NFC_FIELD_UINT, IE_F_COUNTER);
	expect(ie_v9(2), "IN_PKTS", NFC_FIELD_UINT, IE_F_COUNTER);
	expect(ie_v9(4), "PROTOCOL", NFC_FIELD_UINT, 0);
	expect(ie_v9(8), "IPV4_SRC_ADDR", NFC_FIELD_IPV4, 0);
	expect(ie_v9(12), "IPV4_DST_ADDR", NFC_FIELD_IPV4, 0);
	expect(ie_v9(21), "LAST_SWITCHED", NFC_FIELD_UINT, 0);
	expect(ie_v9(22), "FIRST_SWITCHED", NFC_FIELD_UINT, 0);
	expect(ie_v9(27), "IPV6_SRC_ADDR", NFC_FIELD_IPV6, 0);
	expect(ie_v9(28), "IPV6_DST_ADDR", NFC_FIELD_IPV6, 0);
	expect(ie_v9(50), "NTERVAL", NFC_FIELD_UINT, 0);
	expect(ie_v9(56), "IN_SRC_MAC", NFC_FIELD_MAC, 0);
	expect(ie_v9(57), "OUT_DST_MAC", NFC_FIELD_MAC, 0);
	expect(ie_v9(63), "BPG_IPV6_NEXT_HOP", NFC_FIELD_IPV6, 0);
	expect(ie_v9(80), "IN_DST_MAC", NFC_FIELD_MAC, 0);
	expect(ie_v9(81), "OUT_SRC_MAC", NFC_FIELD_MAC, 0);
	expect(ie_v9(82), "IF_NAME", NFC_FIELD_STRING, 0);
	expect(ie_v9(83), "IF_DESC", NFC_FIELD_STRING, 0);
	expect(ie_v9(84), "SAMPLER_NAME", NFC_FIELD_STRING, 0);
	expect(ie_v9(94), "APPLICATION_DESCRIPTION", NFC_FIELD_STRING, 0);
	expect(ie_v9(95), "APPLICATION_TAG", NFC_FIELD_BYTES, 0);
	expect(ie_v9(96), "APPLICATION_NAME", NFC_FIELD_STRING, 0);
	expect(ie_v9(98), "postipDiffServCodePoint", NFC_FIELD_UINT, 0);
	expect(ie_v9(99), "replication_factor", NFC_FIELD_UINT, 0);
	expect(ie_v9(100), "DEPRECATED", NFC_FIELD_STRING, 0);
	expect(ie_v9(152), "NF_F_FLOW_CREATE_TIME_MSEC", NFC_FIELD_TIME_MS, 0);
	expect(ie_v9(225), "NF_F_XLATE_SRC_ADDR_IPV4", NFC_FIELD_IPV4, 0);
	expect(ie_v9(233), "NF_F_FW_EVENT", NFC_FIELD_UINT, 0);
	expect(ie_v9(323), "NF_F_EVENT_TIME_MSEC", NFC_FIELD_TIME_MS, 0);
	expect(ie_v9(346), "PANOS_privateEnterpriseNumber", NFC_FIELD_UINT, 0);
	/* not in the v9 table: the IANA name of the same id */
	expect(ie_v9(43), "ipv4RouterSc", NFC_FIELD_IPV4, 0);
	expect(ie_v9(130), "exporterIPv4Address", NFC_FIELD_IPV4, 0);
	expect(ie_v9(156), "flowStartNanoseconds", NFC_FIELD_TIME_NS, 0);
	/* vendor types */
	expect(ie_v9(33000), "NF_F_INGRESS_ACL_ID", NFC_FIELD_BYTES, 0);
	expect(ie_v9(33001), "NF_F_EGRESS_ACL_ID", NFC_FIELD_BYTES, 0);
	expect(ie_v9(33002), "NF_F_FW_EXT_EVENT", NFC_FIELD_UINT, 0);
	expect(ie_v9(40000), "NF_F_USERNAME", NFC_FIELD_STRING, 0);
	expect(ie_v9(40001), "v9_40001", NFC_FIELD_IPV4, 0);
	expect(ie_v9(40002), "v9_40002", NFC_FIELD_IPV4, 0);
	expect(ie_v9(40003), "v9_40003", NFC_FIELD_UINT, 0);
	expect(ie_v9(40004), "v9_40004", NFC_FIELD_UINT, 0);
	expect(ie_v9(40005), "v9_40005", NFC_FIELD_UINT, 0);
	expect(ie_v9(56701), "PANOS_APPID", NFC_FIELD_STRING, 0);
	expect(ie_v9(56702), "PANOS_USERID", NFC_FIELD_STRING, 0);
	/* unknown */
	CU_ASSERT_PTR_NULL(ie_v9(0));
	CU_ASSERT_PTR_NULL(ie_v9(65));
	CU_ASSERT_PTR_NULL(ie_v9(97));
	CU_ASSERT_PTR_NULL(ie_v9(110));
	CU_ASSERT_PTR_NULL(ie_v9(2000));
	CU_ASSERT_PTR_NULL(ie_v9(32767));
	CU_ASSERT_PTR_NULL(ie_v9(32768));
	CU_ASSERT_PTR_NULL(ie_v9(32999));
	CU_ASSERT_PTR_NULL(ie_v9(33003));
	CU_ASSERT_PTR_NULL(ie_v9(39999));
	CU_ASSERT_PTR_NULL(ie_v9(40006));
	CU_ASSERT_PTR_NULL(ie_v9(56700));
	CU_ASSERT_PTR_NULL(ie_v9(56703));
	CU_ASSERT_PTR_NULL(ie_v9(65535));
}

static int is_identifier(const char *s)
{
	if (!s || !*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return 0;
	return 1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every entry of a table: a valid key, a known kind, only defined flags;
 * returns how many there are and whether two share a name. */
static unsigned check_table(const struct ie_def *(*lookup)(uint16_t), int *dup)
{
	static const char *names[65536];
	unsigned n = 0;

	for (unsigned id = 0; id <= 65535; id++) {
		const struct ie_def *d = lookup((uint16_t)id);

		if (!d)
			continue;
		CU_ASSERT(is_identifier(d->name));
		CU_ASSERT(d->kind >= NFC_FIELD_UINT && d->kind <= NFC_FIELD_TIME_NS && d->kind != NFC_FIELD_SKIP);
		CU_ASSERT_EQUAL(d->flags & ~IE_F_COUNTER, 0);
		if (d->flags & IE_F_COUNTER)
			CU_ASSERT_EQUAL(d->kind, NFC_FIELD_UINT);
		if (d->name)
			names[n++] = d->name;
	}
	qsort(names, n, sizeof(names[0]), cmp_names);
	*dup = 0;
	for (unsigned i = 1; i < n; i++)
		if (!strcmp(names[i - 1], names[i]))
			*dup = 1;
	return n;
}

static void test_names(void)
{
	int dup;

	/* 502 named IANA elements, minus the 2 blank deprecated rows */
	CU_ASSERT(check_table(ie_iana, &dup) >= 500);
	CU_ASSERT_FALSE(dup);
	CU_ASSERT(check_table(ie_v9, &dup) >= 500);
	CU_ASSERT_FALSE(dup);
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "IANA IPFIX elements", test_iana },
		{ "NetFlow v9 field types", test_v9 },
		{ "every name a valid, unique key", test_names },
		{ NULL, NULL },
	};

	return nfc_run_tests("ie", tests);
}
