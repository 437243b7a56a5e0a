/* --status: a person's view of the running daemon, from its metrics
 * endpoint (core/status.c). */
#ifndef NFC_STATUS_H
#define NFC_STATUS_H

#include <stdio.h>
#include <time.h>

/* Read the endpoint at spec ([core] metrics) twice, NFC_STATUS_INTERVAL_MS
 * apart, and print the tables on standard output. Returns the exit status
 * (0, or 1 when the endpoint cannot be read). */
int nfc_status(const char *spec);
#define NFC_STATUS_INTERVAL_MS 1000

/* The tables from two answers of the endpoint (HTTP response, header and
 * body; modified in place), `seconds` apart, `now` being the wall clock
 * of the second. Returns 0, or 1 (said on f) when one is not a metrics
 * answer. Pure: the unit tests call it. */
int nfc_status_render(FILE *f, const char *spec, char *before, char *after, double seconds, time_t now);

#endif
