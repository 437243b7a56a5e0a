/* Saving and restoring a template table (flowlib internal). */
#ifndef NFC_FLOWLIB_STATE_H
#define NFC_FLOWLIB_STATE_H

#include "flowlib.h"

int fl_state_save(struct fl_table *tb, const char *path);
/* Restore what path holds; a missing file is no error, a corrupt or foreign
 * one is reported and ignored. */
void fl_state_load(struct fl_table *tb, const char *path);

/* table.c, for state.c */
void fl_table_walk(struct fl_table *tb, void (*fn)(void *arg, struct fl_stream *s), void *arg);
struct nfc_ctx *fl_table_ctx(struct fl_table *tb);
void fl_table_count_restored(struct fl_table *tb, uint64_t n);

#endif
