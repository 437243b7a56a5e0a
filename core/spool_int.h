/* The spool's internals, shared by spool.c (appends, reads, the cursor),
 * spool_format.c (the on-disk format) and spool_open.c (the scan at open).
 * The format is described at the top of spool.c. */
#ifndef NFC_SPOOL_INT_H
#define NFC_SPOOL_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <lz4.h>
#include <zstd.h>

#include "spool.h"

#define SEG_MAGIC "NFCSPOOL"
#define CUR_MAGIC "NFCSPCUR"
/* A frame's magic names its payload's codec; both start with the byte the
 * resync looks for. */
#define FRAME_MAGIC "\x89NFR"     /* a zstd frame */
#define FRAME_MAGIC_LZ4 "\x89NFL" /* an LZ4 block */
#define FORMAT 1
#define SEG_HDR 16
#define FRAME_HDR 24
#define CUR_LEN 36
#define CUR_NAME "cursor"
#define CUR_TMP "cursor.tmp"
#define SEG_NAME_LEN 29 /* seg- + 16 hex + .nfcspool */
#define DEFAULT_SEGMENT (64u << 20)
#define SCAN_BLOCK 65536
#define CURSOR_MS 1000

enum codec { CODEC_ZSTD, CODEC_LZ4 };

struct frame {
	uint32_t clen, ulen, records, crc;
	enum codec codec;
};

struct seg {
	uint64_t seq;
	uint64_t end;     /* bytes of header and valid frames; a garbage tail may follow */
	uint64_t scanned; /* corruption before this offset was counted by the open scan */
	int fd;           /* -1: closed */
	int writing;      /* appends go here: the last segment, created by this run */
};

struct nfc_spool {
	int dirfd; /* holds the flock */
	uint64_t max_bytes, seg_limit;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	struct seg *seg; /* oldest first; seg[0] is being read */
	size_t nseg, capseg;
	uint64_t roff;     /* read offset in seg[0] */
	uint64_t next_seq; /* above every segment name seen and the cursor's */
	/* the chunk peek returned, waiting for consume */
	int peeked;
	uint64_t peek_next;
	uint32_t peek_records;
	size_t peek_len;
	/* the cursor on disk, and how far the read position is ahead of it */
	uint64_t cur_seq, cur_off;
	int cur_saved;
	unsigned cur_since;
	long long cur_ms;
	int data_dirty, dir_dirty, sync_err;
	uint8_t *fbuf, *dbuf, *scan; /* a frame; a decompressed chunk; SCAN_BLOCK for resync */
	size_t fcap, dcap;
	struct {
		_Atomic uint64_t bytes, chunks, records, corrupt_frames, corrupt_bytes, torn_tails,
			foreign_files;
	} st;
};

static inline void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get64(const uint8_t *p)
{
	return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The counters have one writer (the spool's thread): a relaxed load and
 * store is enough, and costs no locked instruction. */
static inline void st_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + n, memory_order_relaxed);
}

static inline void st_sub(_Atomic uint64_t *c, uint64_t n)
{
	uint64_t v = atomic_load_explicit(c, memory_order_relaxed);

	atomic_store_explicit(c, v > n ? v - n : 0, memory_order_relaxed);
}

static inline uint64_t st_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit((_Atomic uint64_t *)c, memory_order_relaxed);
}

static inline long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* spool_format.c: the on-disk format, and reads that check it */
int spool_grow(uint8_t **b, size_t *cap, size_t n);
ssize_t spool_pread_all(int fd, void *p, size_t n, uint64_t off);
int spool_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
void spool_seg_name(char out[SEG_NAME_LEN + 1], uint64_t seq);
int spool_seg_parse_name(const char *name, uint64_t *seq);
void spool_frame_header(uint8_t *b, enum codec codec, uint32_t clen, uint32_t ulen, uint32_t records, uint32_t crc);
int spool_frame_parse(const uint8_t *b, struct frame *f);
int spool_frame_at(int fd, uint64_t off, uint64_t end, struct frame *f);
int spool_resync(struct nfc_spool *s, int fd, uint64_t from, uint64_t end, uint64_t *next);
int spool_payload_read(struct nfc_spool *s, int fd, uint64_t off, const struct frame *f);
int spool_payload_decompress(struct nfc_spool *s, const struct frame *f);

/* spool.c */
int spool_seg_reserve(struct nfc_spool *s);
int spool_seg_open(struct nfc_spool *s, uint64_t seq, int flags);
void spool_free(struct nfc_spool *s);

#endif
