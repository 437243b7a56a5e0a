/* The health file the daemon keeps in state_dir, and `--health` (core/health.c). */
#ifndef NFC_HEALTH_H
#define NFC_HEALTH_H

#include <stddef.h>

struct nfc_ctx;

/* Write STATE_DIR/health: now, the input workers running, each output's
 * failing time, queue and spool. Logs once when it cannot. */
int nfc_health_write(const char *state_dir, struct nfc_ctx *const *out, size_t nout, unsigned inputs);
/* At a clean exit: no file, so --health says "not running" at once. */
void nfc_health_remove(const char *state_dir);
/* --health: print one line, return 0 when healthy, 1 otherwise. */
int nfc_health_check(const char *state_dir, long fail_after_s);

#endif
