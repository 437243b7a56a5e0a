/* The spool's on-disk format (described at the top of spool.c): names,
 * frame headers, and reads that trust nothing they find: a length is
 * checked against its limit and against the file before it is used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "spool_int.h"

int spool_grow(uint8_t **b, size_t *cap, size_t n)
{
	uint8_t *p;

	if (*cap >= n)
		return NFC_OK;
	p = realloc(*b, n);
	if (!p)
		return NFC_ENOMEM;
	*b = p;
	*cap = n;
	return NFC_OK;
}

/* Read up to n bytes at off: how many were read (short at the end of the
 * file), -1 on an error. */
ssize_t spool_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = pread(fd, (char *)p + got, n - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int spool_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)p + done, n - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		done += (size_t)r;
	}
	return 0;
}

void spool_seg_name(char out[SEG_NAME_LEN + 1], uint64_t seq)
{
	snprintf(out, SEG_NAME_LEN + 1, "seg-%016llx.nfcspool", (unsigned long long)seq);
}

/* 1 and *seq when `name` is exactly what spool_seg_name() writes. */
int spool_seg_parse_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;

	if (strlen(name) != SEG_NAME_LEN || strncmp(name, "seg-", 4) || strcmp(name + 20, ".nfcspool"))
		return 0;
	for (int i = 4; i < 20; i++) {
		char c = name[i];

		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	*seq = v;
	return 1;
}

void spool_frame_header(uint8_t *b, enum codec codec, uint32_t clen, uint32_t ulen, uint32_t records, uint32_t crc)
{
	memcpy(b, codec == CODEC_LZ4 ? FRAME_MAGIC_LZ4 : FRAME_MAGIC, 4);
	put32(b + 4, clen);
	put32(b + 8, ulen);
	put32(b + 12, records);
	put32(b + 16, crc);
	put32(b + 20, nfc_crc32c(0, b, 20));
}

/* 1 when b holds a valid frame header (magic, CRC, lengths in bounds). */
int spool_frame_parse(const uint8_t *b, struct frame *f)
{
	if (!memcmp(b, FRAME_MAGIC, 4))
		f->codec = CODEC_ZSTD;
	else if (!memcmp(b, FRAME_MAGIC_LZ4, 4))
		f->codec = CODEC_LZ4;
	else
		return 0;
	if (get32(b + 20) != nfc_crc32c(0, b, 20))
		return 0;
	f->clen = get32(b + 4);
	f->ulen = get32(b + 8);
	f->records = get32(b + 12);
	f->crc = get32(b + 16);
	return f->ulen > 0 && f->ulen <= NFC_SPOOL_MAX_CHUNK && f->clen > 0 &&
	       f->clen <= (f->codec == CODEC_LZ4 ? (uint32_t)LZ4_COMPRESSBOUND(f->ulen) : ZSTD_COMPRESSBOUND(f->ulen));
}

/* The frame at `off` of a segment whose bytes end at `end`: 1 when its
 * header is valid and its payload lies before `end`, 0 when not, -1 on an
 * I/O error. */
int spool_frame_at(int fd, uint64_t off, uint64_t end, struct frame *f)
{
	uint8_t b[FRAME_HDR];
	ssize_t r;

	if (off > end || end - off < FRAME_HDR)
		return 0;
	r = spool_pread_all(fd, b, FRAME_HDR, off);
	if (r < 0)
		return -1;
	return r == FRAME_HDR && spool_frame_parse(b, f) && f->clen <= end - off - FRAME_HDR;
}

/* The next valid frame at or after `from` (*next = end when there is none):
 * a resync on the magic, each candidate header checked in full. Blocks
 * overlap by a header less one byte, so a header across two is seen whole. */
int spool_resync(struct nfc_spool *s, int fd, uint64_t from, uint64_t end, uint64_t *next)
{
	struct frame f;

	while (from < end && end - from >= FRAME_HDR) {
		size_t want = end - from < SCAN_BLOCK ? (size_t)(end - from) : SCAN_BLOCK;
		ssize_t r = spool_pread_all(fd, s->scan, want, from);
		const uint8_t *p = s->scan, *stop;

		if (r < 0)
			return NFC_ERROR;
		if (r < FRAME_HDR)
			break;
		stop = s->scan + r - FRAME_HDR + 1;
		while (p < stop && (p = memchr(p, FRAME_MAGIC[0], (size_t)(stop - p)))) {
			uint64_t at = from + (uint64_t)(p - s->scan);

			if (spool_frame_parse(p, &f) && f.clen <= end - at - FRAME_HDR) {
				*next = at;
				return NFC_OK;
			}
			p++;
		}
		from += (uint64_t)r - FRAME_HDR + 1;
	}
	*next = end;
	return NFC_OK;
}

/* Read the payload of frame f at off into fbuf and check its CRC: 1 good,
 * 0 corrupt (or the file ends early), negative on an error. */
int spool_payload_read(struct nfc_spool *s, int fd, uint64_t off, const struct frame *f)
{
	ssize_t r;

	if (spool_grow(&s->fbuf, &s->fcap, f->clen) < 0)
		return NFC_ENOMEM;
	r = spool_pread_all(fd, s->fbuf, f->clen, off + FRAME_HDR);
	if (r < 0)
		return NFC_ERROR;
	return (size_t)r == f->clen && nfc_crc32c(0, s->fbuf, f->clen) == f->crc;
}

/* Decompress the payload in fbuf into dbuf: 1, 0 when it is not a zstd
 * frame (or an LZ4 block) of exactly f->ulen bytes, negative on an error. */
int spool_payload_decompress(struct nfc_spool *s, const struct frame *f)
{
	size_t n;

	if (spool_grow(&s->dbuf, &s->dcap, f->ulen) < 0)
		return NFC_ENOMEM;
	if (f->codec == CODEC_LZ4)
		return LZ4_decompress_safe((const char *)s->fbuf, (char *)s->dbuf, (int)f->clen, (int)f->ulen) ==
		       (int)f->ulen;
	n = ZSTD_decompressDCtx(s->dctx, s->dbuf, f->ulen, s->fbuf, f->clen);
	return !ZSTD_isError(n) && n == f->ulen;
}
