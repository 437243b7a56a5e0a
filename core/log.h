/* Logging to stderr: timestamp, level, instance prefix; one write per line. */
#ifndef NFC_LOG_H
#define NFC_LOG_H

#include <stdarg.h>
#include "nfc/plugin.h"

void nfc_log_set_debug(int on);
int nfc_log_debug_enabled(void);
void nfc_logv_prefix(const char *prefix, enum nfc_log_level level, const char *fmt, va_list ap);
/* Copy src[0..n) to dst (at most cap bytes) with control characters and
 * invalid UTF-8 written as \xNN, stopping before what does not fit whole:
 * text from the network can neither end a line nor drive a terminal.
 * Returns the bytes written (no NUL). Also used for nfc_diag() lines. */
size_t nfc_log_escape(char *dst, size_t cap, const unsigned char *src, size_t n);
/* Core messages not tied to an instance. */
void nfc_log_core(enum nfc_log_level level, const char *fmt, ...) NFC_PRINTF(2, 3);

#endif
