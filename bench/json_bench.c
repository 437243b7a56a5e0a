/* nfc-json-bench: the record encoder alone, on records shaped like the
 * softflowd IPFIX export bench/run.sh replays (20 keys: 17 from the record,
 * the exporter and two derived times; 30 % of the records IPv6), with
 * varied values. Prints nanoseconds and bytes per record; run it under
 * `valgrind --tool=callgrind` for instruction counts that do not depend on
 * what else the machine does. Reports, asserts nothing. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "json.h"
#include "nfc.h"

#define NREC 4096

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

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t nf = sizeof(v4_fields) / sizeof(v4_fields[0]);
	struct nfc_field v6_fields[sizeof(v4_fields) / sizeof(v4_fields[0])];
	struct nfc_template *t4, *t6;
	static uint8_t recs[NREC][128];
	static size_t lens[NREC];
	static int isv6[NREC];
	struct nfc_origin o;
	struct nfc_buf out = { 0 };
	long rounds = argc > 1 ? atol(argv[1]) : 250;
	size_t bytes = 0;
	double t0, dt;

	memcpy(v6_fields, v4_fields, sizeof(v6_fields));
	v6_fields[0] = (struct nfc_field){ "sourceIPv6Address", NFC_FIELD_IPV6, 16, 0, 27, 0, 0 };
	v6_fields[1] = (struct nfc_field){ "destinationIPv6Address", NFC_FIELD_IPV6, 16, 0, 28, 0, 0 };
	t4 = nfc_template_new(NULL, v4_fields, nf);
	t6 = nfc_template_new(NULL, v6_fields, nf);
	if (!t4 || !t6 || nfc_buf_init(&out, 1 << 20) < 0) {
		fprintf(stderr, "nfc-json-bench: setup failed\n");
		return 1;
	}
	for (int i = 0; i < NREC; i++) {
		isv6[i] = rnd() % 10 < 3;
		lens[i] = make_record(recs[i], isv6[i]);
	}
	memset(&o, 0, sizeof(o));
	o.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.17", o.addr);
	nfc_origin_text(&o);
	o.export_ms = 1764600900000ULL;
	t0 = now_s();
	for (long r = 0; r < rounds; r++) {
		out.len = 0;
		for (int i = 0; i < NREC; i++) {
			if (nfc_json_record(isv6[i] ? t6 : t4, recs[i], lens[i], &o, &out) < 0) {
				fprintf(stderr, "nfc-json-bench: record %d did not encode\n", i);
				return 1;
			}
		}
		bytes += out.len;
	}
	dt = now_s() - t0;
	printf("%ld records, %.1f ns per record, %.0f bytes per record, %.2f M records/s\n",
	       rounds * NREC, dt * 1e9 / ((double)rounds * NREC), (double)bytes / ((double)rounds * NREC),
	       (double)rounds * NREC / dt / 1e6);
	if (argc > 2) /* a sample, to look at */
		fwrite(out.data, 1, out.len < 2000 ? out.len : 2000, stdout);
	nfc_template_put(t4);
	nfc_template_put(t6);
	nfc_buf_free(&out);
	return 0;
}
