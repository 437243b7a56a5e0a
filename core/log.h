/* Logging to stderr: timestamp, level, instance prefix; one write per line. */
#ifndef NFC_LOG_H
#define NFC_LOG_H

#include <stdarg.h>
#include "nfc/plugin.h"

void nfc_log_set_debug(int on);
int nfc_log_debug_enabled(void);
void nfc_logv_prefix(const char *prefix, enum nfc_log_level level, const char *fmt, va_list ap);
/* Core messages not tied to an instance. */
void nfc_log_core(enum nfc_log_level level, const char *fmt, ...) NFC_PRINTF(2, 3);

#endif
