/* Flow records shaped like the softflowd IPFIX export bench/run.sh replays
 * (20 keys: 17 from the record, the exporter and two derived times; 30 % of
 * the records IPv6), with varied values: shared by the benchmarks that need
 * realistic record JSON (json_bench.c, spool_bench.c). */
#ifndef NFC_BENCH_FLOWGEN_H
#define NFC_BENCH_FLOWGEN_H

#include <stdint.h>
#include <stdlib.h>

#include "nfc/plugin.h"

static const struct nfc_field v4_fields[] = {
	{ "sourceIPv4Address", NFC_FIELD_IPV4, 4, 0, 8, 0, 0 },
	{ "destinationIPv4Address", NFC_FIELD_IPV4, 4, 0, 12, 0, 0 },
	{ "ingressInterface", NFC_FIELD_UINT, 4, 0, 10, 0, 0 },
	{ "egressInterface", NFC_FIELD_UINT, 4, 0, 14, 0, 0 },
	{ "packetDeltaCount", NFC_FIELD_UINT, 8, NFC_FIELD_F_SCALE, 2, 0, 0 },
	{ "octetDeltaCount", NFC_FIELD_UINT, 8, NFC_FIELD_F_SCALE, 1, 0, 0 },
	{ "flowStartMilliseconds", NFC_FIELD_TIME_MS, 8, 0, 152, 0, 0 },
	{ "flowEndMilliseconds", NFC_FIELD_TIME_MS, 8, 0, 153, 0, 0 },
	{ "sourceTransportPort", NFC_FIELD_UINT, 2, 0, 7, 0, 0 },
	{ "destinationTransportPort", NFC_FIELD_UINT, 2, 0, 11, 0, 0 },
	{ "tcpControlBits", NFC_FIELD_UINT, 1, 0, 6, 0, 0 },
	{ "protocolIdentifier", NFC_FIELD_UINT, 1, 0, 4, 0, 0 },
	{ "ipClassOfService", NFC_FIELD_UINT, 1, 0, 5, 0, 0 },
	{ "bgpSourceAsNumber", NFC_FIELD_UINT, 4, 0, 16, 0, 0 },
	{ "bgpDestinationAsNumber", NFC_FIELD_UINT, 4, 0, 17, 0, 0 },
	{ "ipVersion", NFC_FIELD_UINT, 1, 0, 60, 0, 0 },
	{ "flowEndReason", NFC_FIELD_UINT, 1, 0, 136, 0, 0 },
	{ "exporterIPv4Address", NFC_FIELD_EXPORTER, 0, 0, 130, 0, 0 },
	{ "flowStartSeconds", NFC_FIELD_TIME_SECS, 0, 0, 150, 6, 0 },
	{ "flowEndSeconds", NFC_FIELD_TIME_SECS, 0, 0, 151, 7, 0 },
};

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static uint8_t *put(uint8_t *p, uint64_t v, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	return p + len;
}

/* One record's bytes for the template fields `f` (IPv4 or IPv6 layout). */
static size_t make_record(uint8_t *rec, int v6)
{
	uint8_t *p = rec;
	uint64_t start = 1764600000000ULL + rnd() % 600000, pk = 1 + rnd() % 2000;

	if (v6) {
		for (int a = 0; a < 2; a++) {
			p = put(p, 0x20010db8ULL, 4);
			p = put(p, rnd() % 4 ? 0 : rnd(), 4);
			p = put(p, rnd() % 2 ? 0 : rnd() & 0xffff, 4);
			p = put(p, rnd() & 0xffffff, 4);
		}
	} else {
		p = put(p, 0x0a000000ULL | (rnd() & 0xffffff), 4);
		p = put(p, 0xc0a80000ULL | (rnd() & 0xffff), 4);
	}
	p = put(p, rnd() % 48, 4);
	p = put(p, rnd() % 48, 4);
	p = put(p, pk, 8);
	p = put(p, pk * (40 + rnd() % 1460), 8);
	p = put(p, start, 8);
	p = put(p, start + rnd() % 300000, 8);
	p = put(p, rnd() % 2 ? 1024 + rnd() % 64000 : rnd() % 1024, 2);
	p = put(p, rnd() % 2 ? 443 : rnd() % 65536, 2);
	p = put(p, rnd() & 0x3f, 1);
	p = put(p, rnd() % 3 ? 6 : 17, 1);
	p = put(p, rnd() % 4 ? 0 : rnd() & 0xfc, 1);
	p = put(p, rnd() % 70000, 4);
	p = put(p, rnd() % 70000, 4);
	p = put(p, v6 ? 6 : 4, 1);
	p = put(p, 1 + rnd() % 4, 1);
	return (size_t)(p - rec);
}

#endif
