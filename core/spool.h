/* The disk spool of an output: chunks of records appended to segment files
 * under a directory, read back in order, deleted once delivered. Internal
 * to the core (not the plugin ABI). Format and guarantees: core/spool.c and
 * docs/spool.md.
 *
 * Threading: one thread uses a spool. nfc_spool_stats() alone may be
 * called from any thread (the counters are relaxed atomics). */
#ifndef NFC_SPOOL_H
#define NFC_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "nfc/plugin.h" /* the NFC_OK, NFC_E* results */

/* Largest chunk accepted by append and read back (uncompressed bytes). */
#define NFC_SPOOL_MAX_CHUNK (64u << 20)
/* The read cursor is persisted at least every this many consumed chunks
 * (or every second): after a crash at most this many chunks, plus those
 * of the last second, are delivered twice. */
#define NFC_SPOOL_CURSOR_CHUNKS 64

struct nfc_spool;

struct nfc_spool_cfg {
	const char *dir;      /* created 0700 if missing (parents must exist); files 0600 */
	uint64_t max_bytes;   /* bound on the spool's bytes on disk (compressed); 0: none */
	size_t segment_bytes; /* roll to a new segment past this (default 64 MiB when 0; capped at
	                         max_bytes / 4 so that consuming frees room in steps) */
	int level;            /* zstd level (default 1 when 0; negative = zstd fast levels) */
};

/* Counters; chunks and records are those not consumed yet. */
struct nfc_spool_stats {
	uint64_t bytes, chunks, records;
	uint64_t corrupt_frames, corrupt_bytes, torn_tails, foreign_files;
};

/* Open (or create) the spool and scan the segments found there: a torn tail
 * is cut off, a corrupt frame is skipped, files that are not segments are
 * left alone; all of it counted. Only one process may have a directory
 * open (flock). Returns NFC_OK, NFC_EINVAL (bad configuration), NFC_ENOMEM
 * or NFC_ERROR (I/O, errno kept). `err` gets one line for the caller to log:
 * on failure the reason; on success "" when the directory held nothing, else
 * what was restored and repaired (the caller logs it as a warning when the
 * stats show corrupt frames, torn tails or foreign files). */
int nfc_spool_open(struct nfc_spool **out, const struct nfc_spool_cfg *cfg, char *err, size_t errlen);

/* How an append compresses: for size (zstd) or, when the caller has fallen
 * behind, for speed (LZ4: about 1.7 times zstd level 1's speed on flow
 * records, 1.7 times its size). */
enum nfc_spool_pace { NFC_SPOOL_COMPACT, NFC_SPOOL_FAST };

/* Append one chunk of opaque bytes holding `records` records. NFC_OK;
 * NFC_ETOOBIG when max_bytes would be exceeded (nothing written); NFC_EINVAL
 * for an empty chunk or one over NFC_SPOOL_MAX_CHUNK; NFC_ERROR on an I/O
 * error (errno kept; the partial frame is truncated away and the spool
 * stays usable). Written with one pwritev(): nothing is buffered in the
 * process, so a crash of the process loses nothing appended. */
int nfc_spool_append(struct nfc_spool *s, const void *p, size_t len, uint32_t records, enum nfc_spool_pace pace);

/* Make what was appended durable (fdatasync, and the directory when a
 * segment was created) and write the cursor if it moved. */
int nfc_spool_sync(struct nfc_spool *s);

/* The oldest chunk not consumed: 1 with *p, *len, *records (valid until
 * the next call on s), 0 when empty, negative on an I/O error. Frames found
 * corrupt on the way are skipped and counted. */
int nfc_spool_peek(struct nfc_spool *s, const void **p, size_t *len, uint32_t *records);

/* The chunk peek returned was delivered: advance the read cursor (persisted
 * lazily: NFC_SPOOL_CURSOR_CHUNKS, one second, sync, close). Fully consumed
 * segments are deleted. NFC_EINVAL without a peek before. A failure to
 * write the cursor is not reported here (the next sync or close does). */
int nfc_spool_consume(struct nfc_spool *s);

void nfc_spool_stats(const struct nfc_spool *s, struct nfc_spool_stats *st);

/* Sync, write the cursor, delete a wholly consumed spool's last segment,
 * free. Returns what the sync returned (the spool is freed either way). */
int nfc_spool_close(struct nfc_spool *s);

#endif
