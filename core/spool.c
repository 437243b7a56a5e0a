/*
 * The disk spool of an output (issue 6, "Nothing lost"): chunks of records
 * appended while the output is away or slow, read back in order, deleted
 * once delivered. Everything read from disk is untrusted: lengths are
 * checked against limits and against the file before anything is
 * allocated or read. docs/spool.md says the same for operators.
 *
 * This file: appends, reads, segments' life and the cursor; the on-disk
 * format's encoding and checked reads are in spool_format.c, the scan at
 * open in spool_open.c (spool_int.h is what they share).
 *
 * Directory (one process at a time: flock on the directory):
 *   seg-<16 lower-case hex digits>.nfcspool   a segment; the number is a 64-bit sequence, so
 *                                            lexical order is append order
 *   cursor                                   the read position (cursor.tmp while replaced)
 *   anything else                            not ours: left alone, counted as foreign
 *
 * Segment (integers little-endian):
 *   header, 16 bytes: "NFCSPOOL" | u32 format (1) | u32 flags (0)
 *   frames, back to back, one per appended chunk:
 *     24-byte header: 89 'N' 'F' 'R' or 89 'N' 'F' 'L' | u32 payload length | u32 chunk length |
 *                     u32 records | u32 CRC-32C of the payload | u32 CRC-32C of the 20 bytes before
 *     payload: the chunk compressed as one zstd frame (NFR) or one LZ4 block (NFL)
 *   Chunk length 1..64 MiB (NFC_SPOOL_MAX_CHUNK), payload length 1 to the codec's bound
 *   (ZSTD_COMPRESSBOUND, LZ4_COMPRESSBOUND of the chunk length).
 *
 * Cursor, 36 bytes: "NFCSPCUR" | u32 format (1) | u32 0 | u64 segment | u64 offset |
 *   u32 CRC-32C of the 32 bytes before. Every frame ending at or before
 *   (segment, offset) was delivered, and every segment numbered below; offset
 *   UINT64_MAX: the whole segment. Replaced atomically (cursor.tmp, fdatasync,
 *   rename), lazily: every NFC_SPOOL_CURSOR_CHUNKS consumed chunks or second,
 *   at sync and at close. After a crash, what was consumed since the last write
 *   is delivered again: at least once, never lost.
 *
 * At open, every segment's frame headers are walked (the payloads are
 * checked when read, so opening 2 GB reads headers, not 2 GB):
 *  - a header that is not valid (magic, CRC, lengths, payload inside the
 *    file) starts a corrupt region: the walk looks for the next valid header
 *    (resync on the magic) and skips to it, counted in corrupt_frames and
 *    corrupt_bytes; with no valid header after it, it is a torn tail;
 *  - a torn tail (a partial frame, or a last frame whose payload fails its
 *    CRC: power loss, a full disk) is cut off (ftruncate) and counted;
 *  - a payload that fails its CRC or does not decompress to its length when
 *    read is skipped and counted the same way.
 * Appends go to a segment created by this run, never to a restored one. A
 * segment is deleted once the read position passes its end (the one being
 * written stays until it rolls, the spool is full or the spool closes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "spool_int.h"

int spool_seg_reserve(struct nfc_spool *s)
{
	struct seg *n;
	size_t cap;

	if (s->nseg < s->capseg)
		return NFC_OK;
	cap = s->capseg ? 2 * s->capseg : 8;
	n = realloc(s->seg, cap * sizeof(*n));
	if (!n)
		return NFC_ENOMEM;
	s->seg = n;
	s->capseg = cap;
	return NFC_OK;
}

int spool_seg_open(struct nfc_spool *s, uint64_t seq, int flags)
{
	char name[SEG_NAME_LEN + 1];

	spool_seg_name(name, seq);
	return openat(s->dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW);
}

/* Nothing is left to read: the counts of what waits are 0, whatever the
 * records of a frame whose header was lost (uncounted) said. */
static void empty(struct nfc_spool *s)
{
	atomic_store_explicit(&s->st.chunks, 0, memory_order_relaxed);
	atomic_store_explicit(&s->st.records, 0, memory_order_relaxed);
}

/* Delete seg[0]: the read position passed its end. An unlink that fails
 * leaves a file the next open finds consumed (by the cursor) or reads again:
 * nothing is lost either way. */
static void drop_front(struct nfc_spool *s)
{
	struct seg *g = &s->seg[0];
	char name[SEG_NAME_LEN + 1];

	spool_seg_name(name, g->seq);
	if (g->fd >= 0)
		close(g->fd);
	unlinkat(s->dirfd, name, 0);
	st_sub(&s->st.bytes, g->end);
	if (g->writing)
		s->data_dirty = 0;
	memmove(s->seg, s->seg + 1, --s->nseg * sizeof(*g));
	s->roff = SEG_HDR;
	if (!s->nseg)
		empty(s);
}

/* The write segment stops taking appends: make its data durable now rather
 * than at the next sync (its fd closes). A failure is reported by that
 * sync. */
static void seal(struct nfc_spool *s, struct seg *g)
{
	if (s->data_dirty && fdatasync(g->fd) < 0)
		s->sync_err = errno;
	s->data_dirty = 0;
	g->writing = 0;
	if (g != &s->seg[0]) {
		close(g->fd);
		g->fd = -1;
	}
}

static int seg_create(struct nfc_spool *s)
{
	char name[SEG_NAME_LEN + 1];
	uint8_t h[SEG_HDR];
	int fd = -1, e;

	if (spool_seg_reserve(s) < 0)
		return NFC_ENOMEM;
	/* a foreign file may have taken the next name */
	for (int tries = 0; tries < 1000; tries++, s->next_seq++) {
		spool_seg_name(name, s->next_seq);
		fd = openat(s->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return NFC_ERROR;
	memcpy(h, SEG_MAGIC, 8);
	put32(h + 8, FORMAT);
	put32(h + 12, 0);
	if (spool_pwrite_all(fd, h, SEG_HDR, 0) < 0) {
		e = errno;
		close(fd);
		unlinkat(s->dirfd, name, 0);
		errno = e;
		return NFC_ERROR;
	}
	if (!s->nseg)
		s->roff = SEG_HDR;
	s->seg[s->nseg++] = (struct seg){ s->next_seq++, SEG_HDR, SEG_HDR, fd, 1 };
	st_add(&s->st.bytes, SEG_HDR);
	s->dir_dirty = 1;
	return NFC_OK;
}

static void cursor_pos(const struct nfc_spool *s, uint64_t *seq, uint64_t *off)
{
	if (s->nseg) {
		*seq = s->seg[0].seq;
		*off = s->roff;
	} else { /* every segment so far was read */
		*seq = s->next_seq - 1;
		*off = UINT64_MAX;
	}
}

static int cursor_write(struct nfc_spool *s)
{
	uint8_t b[CUR_LEN];
	uint64_t seq, off;
	int fd, e;

	cursor_pos(s, &seq, &off);
	s->cur_ms = now_ms();
	s->cur_since = 0;
	if (s->cur_saved && seq == s->cur_seq && off == s->cur_off)
		return NFC_OK;
	memcpy(b, CUR_MAGIC, 8);
	put32(b + 8, FORMAT);
	put32(b + 12, 0);
	put64(b + 16, seq);
	put64(b + 24, off);
	put32(b + 32, nfc_crc32c(0, b, 32));
	fd = openat(s->dirfd, CUR_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return NFC_ERROR;
	if (spool_pwrite_all(fd, b, CUR_LEN, 0) < 0 || fdatasync(fd) < 0) {
		e = errno;
		close(fd);
		unlinkat(s->dirfd, CUR_TMP, 0);
		errno = e;
		return NFC_ERROR;
	}
	close(fd);
	if (renameat(s->dirfd, CUR_TMP, s->dirfd, CUR_NAME) < 0) {
		e = errno;
		unlinkat(s->dirfd, CUR_TMP, 0);
		errno = e;
		return NFC_ERROR;
	}
	s->cur_seq = seq;
	s->cur_off = off;
	s->cur_saved = 1;
	return NFC_OK;
}

/* Over max_bytes with a frame of fsz bytes (and a new segment's header)? */
static int over(const struct nfc_spool *s, size_t fsz, int roll)
{
	return s->max_bytes && st_get(&s->st.bytes) + fsz + (roll ? SEG_HDR : 0) > s->max_bytes;
}

/* Make the last segment one that takes a frame of fsz bytes within
 * max_bytes: roll to a new one past seg_limit. */
static int make_room(struct nfc_spool *s, size_t fsz)
{
	struct seg *w = s->nseg ? &s->seg[s->nseg - 1] : NULL;
	int roll = !w || !w->writing || (w->end > SEG_HDR && w->end + fsz > s->seg_limit);

	/* everything was read: the write segment's room is there for the taking */
	if (over(s, fsz, roll) && s->nseg == 1 && s->roff >= s->seg[0].end) {
		drop_front(s);
		w = NULL;
		roll = 1;
	}
	if (over(s, fsz, roll))
		return NFC_ETOOBIG;
	if (!roll)
		return NFC_OK;
	if (w && w->writing)
		seal(s, w);
	if (s->nseg == 1 && s->roff >= s->seg[0].end)
		drop_front(s);
	return seg_create(s);
}

/* Compress len bytes of p into fbuf (grown to hold the codec's bound)
 * after the frame header: the payload's length, 0 when the codec failed
 * (with a bound-sized buffer only for a lack of memory). */
static size_t compress(struct nfc_spool *s, enum codec codec, const void *p, size_t len)
{
	size_t bound = codec == CODEC_LZ4 ? (size_t)LZ4_COMPRESSBOUND(len) : ZSTD_compressBound(len), n;

	if (codec == CODEC_LZ4)
		return (size_t)LZ4_compress_default(p, (char *)s->fbuf + FRAME_HDR, (int)len, (int)bound);
	n = ZSTD_compress2(s->cctx, s->fbuf + FRAME_HDR, bound, p, len);
	return ZSTD_isError(n) ? 0 : n;
}

int nfc_spool_append(struct nfc_spool *s, const void *p, size_t len, uint32_t records, enum nfc_spool_pace pace)
{
	enum codec codec = pace == NFC_SPOOL_FAST ? CODEC_LZ4 : CODEC_ZSTD;
	struct seg *w;
	size_t clen, fsz;
	int rc, e;

	if (!len || len > NFC_SPOOL_MAX_CHUNK)
		return NFC_EINVAL;
	/* room for the larger of the codecs' bounds: the buffer is kept across
	 * appends, whichever codec the next one uses */
	fsz = ZSTD_compressBound(len) > (size_t)LZ4_COMPRESSBOUND(len) ? ZSTD_compressBound(len)
	                                                              : (size_t)LZ4_COMPRESSBOUND(len);
	if (spool_grow(&s->fbuf, &s->fcap, FRAME_HDR + fsz) < 0)
		return NFC_ENOMEM;
	clen = compress(s, codec, p, len);
	if (!clen) {
		errno = ENOMEM;
		return NFC_ERROR;
	}
	spool_frame_header(s->fbuf, codec, (uint32_t)clen, (uint32_t)len, records,
	                   nfc_crc32c(0, s->fbuf + FRAME_HDR, clen));
	fsz = FRAME_HDR + clen;
	rc = make_room(s, fsz);
	if (rc < 0)
		return rc;
	w = &s->seg[s->nseg - 1];
	if (spool_pwrite_all(w->fd, s->fbuf, fsz, w->end) < 0) {
		e = errno;
		/* a segment that cannot be cut back takes no more appends; its
		 * garbage tail is past `end`, never read, cut at the next open */
		if (ftruncate(w->fd, (off_t)w->end) < 0)
			seal(s, w);
		errno = e;
		return NFC_ERROR;
	}
	w->end += fsz;
	s->data_dirty = 1;
	st_add(&s->st.bytes, fsz);
	st_add(&s->st.chunks, 1);
	st_add(&s->st.records, records);
	return NFC_OK;
}

int nfc_spool_sync(struct nfc_spool *s)
{
	struct seg *w = s->nseg && s->seg[s->nseg - 1].writing ? &s->seg[s->nseg - 1] : NULL;
	int e = 0;

	if (w && s->data_dirty) {
		if (fdatasync(w->fd) < 0)
			e = errno;
		else
			s->data_dirty = 0;
	}
	if (s->sync_err) {
		e = s->sync_err;
		s->sync_err = 0;
	}
	/* a new segment's name must survive a power loss along with its data */
	if (s->dir_dirty) {
		if (fsync(s->dirfd) < 0)
			e = errno;
		else
			s->dir_dirty = 0;
	}
	if (cursor_write(s) < 0)
		e = errno;
	if (e) {
		errno = e;
		return NFC_ERROR;
	}
	return NFC_OK;
}

/* The frame at the read position has a bad header: skip to the next valid
 * one. Counted unless the open scan already did. */
static int skip_corrupt(struct nfc_spool *s, struct seg *g)
{
	uint64_t next;

	if (spool_resync(s, g->fd, s->roff + 1, g->end, &next) < 0)
		return NFC_ERROR;
	if (s->roff >= g->scanned) {
		st_add(&s->st.corrupt_frames, 1);
		st_add(&s->st.corrupt_bytes, next - s->roff);
	}
	s->roff = next;
	return NFC_OK;
}

/* Read and decompress the frame at the read position of g: 1 peeked, 0
 * skipped (corrupt, counted), negative on an error. */
static int read_frame(struct nfc_spool *s, struct seg *g)
{
	struct frame f;
	int rc = spool_frame_at(g->fd, s->roff, g->end, &f);

	if (rc < 0)
		return NFC_ERROR;
	if (!rc)
		return skip_corrupt(s, g);
	rc = spool_payload_read(s, g->fd, s->roff, &f);
	if (rc > 0)
		rc = spool_payload_decompress(s, &f);
	if (rc < 0)
		return rc;
	if (!rc) {
		st_add(&s->st.corrupt_frames, 1);
		st_add(&s->st.corrupt_bytes, FRAME_HDR + f.clen);
		st_sub(&s->st.chunks, 1);
		st_sub(&s->st.records, f.records);
		s->roff += FRAME_HDR + f.clen;
		return 0;
	}
	s->peeked = 1;
	s->peek_next = s->roff + FRAME_HDR + f.clen;
	s->peek_len = f.ulen;
	s->peek_records = f.records;
	return 1;
}

int nfc_spool_peek(struct nfc_spool *s, const void **p, size_t *len, uint32_t *records)
{
	while (!s->peeked) {
		struct seg *g;
		int rc;

		if (!s->nseg)
			return 0;
		g = &s->seg[0];
		if (s->roff >= g->end) {
			if (g->writing) {
				empty(s);
				return 0;
			}
			drop_front(s);
			continue;
		}
		if (g->fd < 0) {
			g->fd = spool_seg_open(s, g->seq, O_RDONLY);
			if (g->fd < 0 && errno == ENOENT) { /* deleted under us: nothing to read there */
				drop_front(s);
				continue;
			}
			if (g->fd < 0)
				return NFC_ERROR;
		}
		rc = read_frame(s, g);
		if (rc < 0)
			return rc;
	}
	*p = s->dbuf;
	*len = s->peek_len;
	*records = s->peek_records;
	return 1;
}

int nfc_spool_consume(struct nfc_spool *s)
{
	if (!s->peeked)
		return NFC_EINVAL;
	s->peeked = 0;
	s->roff = s->peek_next;
	st_sub(&s->st.chunks, 1);
	st_sub(&s->st.records, s->peek_records);
	if (s->roff >= s->seg[0].end && !s->seg[0].writing)
		drop_front(s);
	/* a failed write is retried next time; sync and close report it */
	if (++s->cur_since >= NFC_SPOOL_CURSOR_CHUNKS || now_ms() - s->cur_ms >= CURSOR_MS)
		(void)cursor_write(s);
	return NFC_OK;
}

void nfc_spool_stats(const struct nfc_spool *s, struct nfc_spool_stats *st)
{
	st->bytes = st_get(&s->st.bytes);
	st->chunks = st_get(&s->st.chunks);
	st->records = st_get(&s->st.records);
	st->corrupt_frames = st_get(&s->st.corrupt_frames);
	st->corrupt_bytes = st_get(&s->st.corrupt_bytes);
	st->torn_tails = st_get(&s->st.torn_tails);
	st->foreign_files = st_get(&s->st.foreign_files);
}

int nfc_spool_close(struct nfc_spool *s)
{
	int rc, e;

	if (!s)
		return NFC_OK;
	/* a spool read to the end leaves no segment behind */
	if (s->nseg == 1 && !s->peeked && s->roff >= s->seg[0].end)
		drop_front(s);
	rc = nfc_spool_sync(s);
	e = errno;
	spool_free(s);
	errno = e;
	return rc;
}

void spool_free(struct nfc_spool *s)
{
	for (size_t i = 0; i < s->nseg; i++)
		if (s->seg[i].fd >= 0)
			close(s->seg[i].fd);
	if (s->dirfd >= 0)
		close(s->dirfd);
	ZSTD_freeCCtx(s->cctx);
	ZSTD_freeDCtx(s->dctx);
	free(s->seg);
	free(s->fbuf);
	free(s->dbuf);
	free(s->scan);
	free(s);
}
