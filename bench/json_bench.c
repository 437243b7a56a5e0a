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

#include "flowgen.h"
#include "json.h"
#include "nfc.h"

#define NREC 4096

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
