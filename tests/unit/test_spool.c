/* The disk spool (core/spool.c): chunks come back in order with their
 * record counts, across close and reopen and across a crash (at least once,
 * duplicates bounded by the lazy cursor); torn tails, corrupt frames,
 * foreign files and a bad cursor are reported and survived; max_bytes, file
 * modes, an I/O error in the middle of an append, segment roll and deletion;
 * crafted lengths are never allocated; both codecs (zstd, LZ4). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crc32c.h"
#include "cunit_main.h"
#include "nfc/plugin.h"
#include "spool.h"

#define FRAME_HDR 24
#define SEG_HDR 16

static char base[64], dir[128];
static char err[512];
static uint8_t chunk[1 << 20];

/* ---------------------------------------------------------------- helpers */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A fresh scratch directory; the spool's own directory inside it does not
 * exist yet (open creates it). */
static void fresh(void)
{
	if (base[0])
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	snprintf(base, sizeof(base), "/tmp/nfc-spool-test.XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(base) != NULL);
	snprintf(dir, sizeof(dir), "%s/spool", base);
}

static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* Chunk `id` of `len` bytes (>= 8): its id and length, then bytes that
 * depend on both, random (incompressible: sizes on disk are predictable)
 * or text. */
static size_t fill(uint32_t id, size_t len, int random)
{
	memcpy(chunk, &id, 4);
	memcpy(chunk + 4, &len, 4);
	rnd_state = 0x9e3779b97f4a7c15ULL ^ id ^ (uint64_t)len << 32;
	for (size_t i = 8; i < len; i++)
		chunk[i] = random ? (uint8_t)rnd() : (uint8_t)("{\"srcAddr\":\"10.0.0.1\",\"port\":443}\n"[i % 35] + (i / 997 + id) % 3);
	return len;
}

/* The id of a chunk whose bytes are exactly what fill() wrote, else -1. */
static long chunk_id(const void *p, size_t len, int random)
{
	uint32_t id, l;
	static uint8_t copy[1 << 20];

	if (len < 8 || len > sizeof(copy))
		return -1;
	memcpy(&id, p, 4);
	memcpy(&l, (const uint8_t *)p + 4, 4);
	if (l != len)
		return -1;
	memcpy(copy, p, len);
	fill(id, len, random);
	return memcmp(copy, chunk, len) ? -1 : (long)id;
}

static size_t size_of(uint32_t id)
{
	return 100 + (id * 7919u) % 30000;
}

static struct nfc_spool *sp_open(uint64_t max, size_t seg)
{
	struct nfc_spool_cfg cfg = { dir, max, seg, 0 };
	struct nfc_spool *s = NULL;
	int rc = nfc_spool_open(&s, &cfg, err, sizeof(err));

	if (rc != NFC_OK)
		fprintf(stderr, "nfc_spool_open: %d %s\n", rc, err);
	CU_ASSERT_FATAL(rc == NFC_OK && s != NULL);
	return s;
}

static int append(struct nfc_spool *s, uint32_t id, size_t len, int random)
{
	fill(id, len, random);
	/* both codecs, interleaved */
	return nfc_spool_append(s, chunk, len, id % 1000 + 1, id % 3 == 1 ? NFC_SPOOL_FAST : NFC_SPOOL_COMPACT);
}

/* Peek and consume one chunk: its id, -1 when empty, -2 when its bytes or
 * record count are wrong, -3 on an error. */
static long take(struct nfc_spool *s, int random)
{
	const void *p;
	size_t len;
	uint32_t n;
	long id;
	int rc = nfc_spool_peek(s, &p, &len, &n);

	if (rc < 0)
		return -3;
	if (rc == 0)
		return -1;
	id = chunk_id(p, len, random);
	if (id < 0 || n != (uint32_t)(id % 1000 + 1))
		return -2;
	return nfc_spool_consume(s) == NFC_OK ? id : -3;
}

/* Take chunks until empty, each expected to be the next of `want` (ids). */
static void drain_expect(struct nfc_spool *s, const long *want, size_t n, int random)
{
	size_t got = 0;
	long id;

	while ((id = take(s, random)) != -1) {
		CU_ASSERT(id >= 0);
		if (id < 0)
			return;
		CU_ASSERT(got < n && id == want[got]);
		if (got >= n || id != want[got]) {
			fprintf(stderr, "chunk %zu: got %ld, want %ld\n", got, id, got < n ? want[got] : -1);
			return;
		}
		got++;
	}
	CU_ASSERT_EQUAL(got, n);
}

/* Drain expecting ids first..last in order. */
static void drain_range(struct nfc_spool *s, long first, long last, int random)
{
	static long want[100000];
	size_t n = 0;

	for (long i = first; i <= last; i++)
		want[n++] = i;
	drain_expect(s, want, n, random);
}

static int path_in(char *out, size_t len, const char *name)
{
	return snprintf(out, len, "%s/%s", dir, name);
}

/* The path of segment `seq` (one of four static buffers, so a few may be
 * held at once). */
static char *seg_path(uint64_t seq)
{
	static char paths[4][256];
	static unsigned next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/seg-%016llx.nfcspool", dir, (unsigned long long)seq);
	return p;
}

static int count_segments(void)
{
	char cmd[300];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^seg-.*\\.nfcspool$'", dir);
	f = popen(cmd, "r");
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	return n;
}

static off_t file_size(const char *p)
{
	struct stat sb;

	return stat(p, &sb) == 0 ? sb.st_size : -1;
}

/* Offsets of the frames of a segment file (walking the lengths). */
static size_t frames(const char *p, off_t *off, size_t max)
{
	int fd = open(p, O_RDONLY);
	off_t at = SEG_HDR, size = file_size(p);
	uint8_t h[FRAME_HDR];
	size_t n = 0;

	while (fd >= 0 && n < max && at + FRAME_HDR <= size && pread(fd, h, FRAME_HDR, at) == FRAME_HDR) {
		uint32_t clen = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 24;

		off[n++] = at;
		at += FRAME_HDR + clen;
	}
	if (fd >= 0)
		close(fd);
	return n;
}

static void poke(const char *p, off_t at, uint8_t xor)
{
	int fd = open(p, O_RDWR);
	uint8_t b;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pread(fd, &b, 1, at) == 1);
	b ^= xor;
	CU_ASSERT_FATAL(pwrite(fd, &b, 1, at) == 1);
	close(fd);
}

/* A frame header with a valid CRC and whatever lengths a crafted file
 * claims, written at `at`. */
static void craft_header(const char *p, off_t at, uint32_t clen, uint32_t ulen)
{
	uint8_t h[FRAME_HDR] = { 0x89, 'N', 'F', 'R' };
	uint32_t v[4] = { clen, ulen, 1, 0 }, crc;
	int fd = open(p, O_RDWR);

	for (int i = 0; i < 4; i++)
		for (int k = 0; k < 4; k++)
			h[4 + 4 * i + k] = (uint8_t)(v[i] >> (8 * k));
	crc = nfc_crc32c(0, h, 20);
	for (int k = 0; k < 4; k++)
		h[20 + k] = (uint8_t)(crc >> (8 * k));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pwrite(fd, h, FRAME_HDR, at) == FRAME_HDR);
	close(fd);
}

static struct nfc_spool_stats stats(struct nfc_spool *s)
{
	struct nfc_spool_stats st;

	nfc_spool_stats(s, &st);
	return st;
}

/* ------------------------------------------------------------------ tests */

static void test_crc32c(void)
{
	/* the check value of CRC-32C (RFC 3720 B.4 and every implementation) */
	CU_ASSERT_EQUAL(nfc_crc32c(0, "123456789", 9), 0xe3069283u);
	CU_ASSERT_EQUAL(nfc_crc32c(nfc_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	fill(1, 10000, 1);
	CU_ASSERT_EQUAL(nfc_crc32c(nfc_crc32c(0, chunk + 3, 5000), chunk + 5003, 4997),
	                nfc_crc32c(0, chunk + 3, 9997));
}

static void test_round_trip(void)
{
	struct nfc_spool *s;
	struct nfc_spool_stats st;
	uint64_t records = 0;
	const void *p, *p2;
	size_t len, len2;
	uint32_t n, n2;

	fresh();
	s = sp_open(0, 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(nfc_spool_peek(s, &p, &len, &n), 0);
	CU_ASSERT_EQUAL(nfc_spool_consume(s), NFC_EINVAL);
	for (uint32_t i = 0; i < 400; i++) {
		CU_ASSERT_EQUAL_FATAL(append(s, i, size_of(i), i % 2), NFC_OK);
		records += i % 1000 + 1;
	}
	st = stats(s);
	CU_ASSERT_EQUAL(st.chunks, 400);
	CU_ASSERT_EQUAL(st.records, records);
	CU_ASSERT(st.bytes > 0 && st.bytes < 400 * 30100);
	/* peek again without consume: the same chunk */
	CU_ASSERT_EQUAL(nfc_spool_peek(s, &p, &len, &n), 1);
	CU_ASSERT_EQUAL(nfc_spool_peek(s, &p2, &len2, &n2), 1);
	CU_ASSERT(p == p2 && len == len2 && n == n2 && chunk_id(p, len, 0) == 0);
	/* interleaved: take 150, append 100 more, take the rest */
	for (long i = 0; i < 150; i++)
		CU_ASSERT_EQUAL(take(s, (int)(i % 2)), i);
	for (uint32_t i = 400; i < 500; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, size_of(i), i % 2), NFC_OK);
	for (long i = 150; i < 500; i++)
		CU_ASSERT_EQUAL(take(s, (int)(i % 2)), i);
	CU_ASSERT_EQUAL(take(s, 0), -1);
	st = stats(s);
	CU_ASSERT(st.chunks == 0 && st.records == 0 && st.corrupt_frames == 0 && st.torn_tails == 0);
	CU_ASSERT_EQUAL(nfc_spool_sync(s), NFC_OK);
	CU_ASSERT_EQUAL(nfc_spool_close(s), NFC_OK);
	/* read to the end: no segment left behind */
	CU_ASSERT_EQUAL(count_segments(), 0);
}

/* Each frame's magic names its codec: ids 1, 4, 7... are appended for
 * speed (LZ4), the others for size (zstd); text compresses, and zstd
 * smaller; both come back byte for byte after a reopen. */
static void test_codecs(void)
{
	static const char *const magic[2] = { "\x89NFR", "\x89NFL" };
	struct nfc_spool *s;
	off_t off[8];
	uint8_t h[4];
	int fd;

	fresh();
	s = sp_open(0, 0);
	for (uint32_t i = 0; i < 6; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, 30000, 0), NFC_OK);
	CU_ASSERT_EQUAL(nfc_spool_close(s), NFC_OK);
	CU_ASSERT_FATAL(frames(seg_path(1), off, 8) == 6);
	fd = open(seg_path(1), O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	off[6] = file_size(seg_path(1));
	for (int i = 0; i < 6; i++) {
		CU_ASSERT_EQUAL(pread(fd, h, 4, off[i]), 4);
		CU_ASSERT(memcmp(h, magic[i % 3 == 1], 4) == 0);
		CU_ASSERT(off[i + 1] - off[i] < 30000 / 4);
	}
	/* LZ4 (frame 1) larger than zstd (frames 0 and 2) */
	CU_ASSERT(off[2] - off[1] > off[1] - off[0] && off[2] - off[1] > off[3] - off[2]);
	close(fd);
	s = sp_open(0, 0);
	for (long i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(take(s, 0), i);
	CU_ASSERT_EQUAL(take(s, 0), -1);
	CU_ASSERT_EQUAL(nfc_spool_close(s), NFC_OK);
}

static void test_bad_arguments(void)
{
	struct nfc_spool_cfg cfg = { NULL, 0, 0, 0 };
	struct nfc_spool *s;

	fresh();
	CU_ASSERT_EQUAL(nfc_spool_open(&s, &cfg, err, sizeof(err)), NFC_EINVAL);
	cfg.dir = dir;
	cfg.level = 1000;
	CU_ASSERT_EQUAL(nfc_spool_open(&s, &cfg, err, sizeof(err)), NFC_EINVAL);
	CU_ASSERT(strstr(err, "level") != NULL);
	s = sp_open(0, 0);
	CU_ASSERT_EQUAL(nfc_spool_append(s, chunk, 0, 1, NFC_SPOOL_COMPACT), NFC_EINVAL);
	CU_ASSERT_EQUAL(nfc_spool_append(s, chunk, NFC_SPOOL_MAX_CHUNK + 1, 1, NFC_SPOOL_FAST), NFC_EINVAL);
	/* a second opener of the same directory is refused */
	{
		struct nfc_spool *t = NULL;

		cfg.level = 0;
		CU_ASSERT_EQUAL(nfc_spool_open(&t, &cfg, err, sizeof(err)), NFC_ERROR);
		CU_ASSERT(t == NULL && strstr(err, "in use") != NULL);
	}
	nfc_spool_close(s);
	/* negative levels are zstd's fast levels */
	cfg.level = -5;
	CU_ASSERT_EQUAL_FATAL(nfc_spool_open(&s, &cfg, err, sizeof(err)), NFC_OK);
	CU_ASSERT_EQUAL(append(s, 7, 5000, 0), NFC_OK);
	CU_ASSERT_EQUAL(take(s, 0), 7);
	nfc_spool_close(s);
}

static void test_reopen(void)
{
	struct nfc_spool *s;
	struct nfc_spool_stats st;
	uint64_t records = 0;

	fresh();
	s = sp_open(0, 0);
	for (uint32_t i = 0; i < 20; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, size_of(i), 0), NFC_OK);
	for (long i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(take(s, 0), i);
	CU_ASSERT_EQUAL(nfc_spool_close(s), NFC_OK);
	s = sp_open(0, 0);
	for (uint32_t i = 7; i < 20; i++)
		records += i % 1000 + 1;
	st = stats(s);
	CU_ASSERT_EQUAL(st.chunks, 13);
	CU_ASSERT_EQUAL(st.records, records);
	CU_ASSERT(strstr(err, "13 chunk(s)") != NULL);
	/* appends of this run come after what was restored */
	for (uint32_t i = 20; i < 25; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, size_of(i), 0), NFC_OK);
	for (long i = 7; i < 12; i++)
		CU_ASSERT_EQUAL(take(s, 0), i);
	CU_ASSERT_EQUAL(nfc_spool_close(s), NFC_OK);
	/* two segments now; the read position is in the first */
	CU_ASSERT_EQUAL(count_segments(), 2);
	s = sp_open(0, 0);
	drain_range(s, 12, 24, 0);
	CU_ASSERT_EQUAL(nfc_spool_close(s), NFC_OK);
	CU_ASSERT_EQUAL(count_segments(), 0);
	s = sp_open(0, 0);
	CU_ASSERT_STRING_EQUAL(err, "");
	CU_ASSERT_EQUAL(stats(s).chunks, 0);
	CU_ASSERT_EQUAL(take(s, 0), -1);
	nfc_spool_close(s);
}

/* A process that dies without close: what it appended is all there; what
 * it consumed comes back at most NFC_SPOOL_CURSOR_CHUNKS (plus a second's
 * worth, which this quick child never reaches) early. */
static void test_crash_lazy_cursor(void)
{
	struct nfc_spool *s;
	pid_t pid;
	int status;
	long first;

	fresh();
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct nfc_spool_cfg cfg = { dir, 0, 0, 0 };

		if (nfc_spool_open(&s, &cfg, err, sizeof(err)) != NFC_OK)
			_exit(2);
		for (uint32_t i = 0; i < 300; i++)
			if (append(s, i, 2000, 0) != NFC_OK)
				_exit(3);
		for (long i = 0; i < 150; i++)
			if (take(s, 0) != i)
				_exit(4);
		_exit(0); /* no close, no sync */
	}
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s = sp_open(0, 0);
	first = take(s, 0);
	CU_ASSERT(first >= 150 - NFC_SPOOL_CURSOR_CHUNKS && first <= 150);
	if (first >= 0)
		drain_range(s, first + 1, 299, 0);
	nfc_spool_close(s);
}

enum tear { TEAR_PAYLOAD, TEAR_HEADER, TEAR_GARBAGE_PAYLOAD, TEAR_EMPTY_SEGMENT };

/* Ten chunks, then the last frame torn in one of several ways: reported,
 * cut, the nine others delivered. */
static void torn_case(enum tear how)
{
	struct nfc_spool *s;
	struct nfc_spool_stats st;
	off_t off[16], size;
	char *p;

	fresh();
	s = sp_open(0, 0);
	for (uint32_t i = 0; i < 10; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, 3000, 1), NFC_OK);
	nfc_spool_close(s);
	p = seg_path(1);
	CU_ASSERT_FATAL(frames(p, off, 16) == 10);
	size = file_size(p);
	switch (how) {
	case TEAR_PAYLOAD:
		CU_ASSERT_FATAL(truncate(p, size - 10) == 0);
		break;
	case TEAR_HEADER:
		CU_ASSERT_FATAL(truncate(p, off[9] + 10) == 0);
		break;
	case TEAR_GARBAGE_PAYLOAD: /* the length is there, the bytes are not */
		poke(p, size - 1, 0xff);
		break;
	case TEAR_EMPTY_SEGMENT: /* and a later segment cut right after its creation */
		{
			int fd = open(seg_path(2), O_CREAT | O_WRONLY, 0600);

			CU_ASSERT_FATAL(fd >= 0 && write(fd, "NFCSP", 5) == 5);
			close(fd);
			CU_ASSERT_FATAL(truncate(p, size - 10) == 0);
		}
		break;
	}
	s = sp_open(0, 0);
	st = stats(s);
	CU_ASSERT_EQUAL(st.torn_tails, how == TEAR_EMPTY_SEGMENT ? 2 : 1);
	CU_ASSERT_EQUAL(st.chunks, 9);
	CU_ASSERT_EQUAL(st.corrupt_frames, 0);
	CU_ASSERT(strstr(err, "torn") != NULL);
	CU_ASSERT_EQUAL(file_size(p), off[9]);
	CU_ASSERT(how != TEAR_EMPTY_SEGMENT || access(seg_path(2), F_OK) != 0);
	drain_range(s, 0, 8, 1);
	/* the spool goes on after the cut */
	CU_ASSERT_EQUAL(append(s, 10, 3000, 1), NFC_OK);
	CU_ASSERT_EQUAL(take(s, 1), 10);
	nfc_spool_close(s);
}

static void test_torn_tail(void)
{
	torn_case(TEAR_PAYLOAD);
	torn_case(TEAR_HEADER);
	torn_case(TEAR_GARBAGE_PAYLOAD);
	torn_case(TEAR_EMPTY_SEGMENT);
}

/* A byte flipped in frame 4 of 10 (its payload, or its header): that frame
 * is skipped and counted, the others delivered. */
static void corrupt_case(int in_header, off_t where)
{
	static const long want[] = { 0, 1, 2, 3, 5, 6, 7, 8, 9 };
	struct nfc_spool *s;
	struct nfc_spool_stats st;
	off_t off[16];
	char *p;

	fresh();
	s = sp_open(0, 0);
	for (uint32_t i = 0; i < 10; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, 3000, 1), NFC_OK);
	nfc_spool_close(s);
	p = seg_path(1);
	CU_ASSERT_FATAL(frames(p, off, 16) == 10);
	poke(p, off[4] + (in_header ? where : FRAME_HDR + where), 0x40);
	s = sp_open(0, 0);
	st = stats(s);
	/* a bad header is found by the open scan, a bad payload when read */
	CU_ASSERT_EQUAL(st.corrupt_frames, in_header ? 1 : 0);
	CU_ASSERT_EQUAL(st.chunks, in_header ? 9 : 10);
	CU_ASSERT_EQUAL(st.torn_tails, 0);
	drain_expect(s, want, 9, 1);
	st = stats(s);
	CU_ASSERT_EQUAL(st.corrupt_frames, 1);
	CU_ASSERT_EQUAL(st.corrupt_bytes, off[5] - off[4]);
	CU_ASSERT_EQUAL(st.chunks, 0);
	CU_ASSERT_EQUAL(st.records, 0);
	nfc_spool_close(s);
}

static void test_corrupt_frame(void)
{
	corrupt_case(0, 1500);  /* payload */
	corrupt_case(1, 0);     /* magic */
	corrupt_case(1, 13);    /* record count: the header's CRC */
	corrupt_case(1, 5);     /* payload length */
}

static void test_foreign_files(void)
{
	static const char *names[] = { "notes.txt", "seg-00000000000000ff.nfcspool", "seg-1.nfcspool",
	                               "seg-0000000000000100.nfcspool", "seg-0000000000000101.nfcspool",
	                               "seg-00000000000000FE.nfcspool" };
	struct nfc_spool *s;
	char p[300];
	int fd;

	fresh();
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	for (int i = 0; i < 6; i++) {
		path_in(p, sizeof(p), names[i]);
		if (i == 3) {
			CU_ASSERT_FATAL(mkdir(p, 0700) == 0);
		} else if (i == 4) {
			CU_ASSERT_FATAL(symlink("notes.txt", p) == 0);
		} else {
			fd = open(p, O_CREAT | O_WRONLY, 0600);
			CU_ASSERT_FATAL(fd >= 0 && write(fd, "not a spool at all\n", 19) == 19);
			close(fd);
		}
	}
	s = sp_open(0, 0);
	CU_ASSERT_EQUAL(stats(s).foreign_files, 6);
	CU_ASSERT_EQUAL(stats(s).chunks, 0);
	CU_ASSERT(strstr(err, "6 file(s)") != NULL);
	for (uint32_t i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(append(s, i, 500, 0), NFC_OK);
	nfc_spool_close(s);
	/* our segment sorts after every name seen */
	CU_ASSERT(access(seg_path(0x102), F_OK) == 0);
	s = sp_open(0, 0);
	drain_range(s, 0, 2, 0);
	nfc_spool_close(s);
	for (int i = 0; i < 6; i++) {
		path_in(p, sizeof(p), names[i]);
		CU_ASSERT(i == 3 || i == 4 || file_size(p) == 19);
		CU_ASSERT(access(p, F_OK) == 0);
	}
}

static void test_bad_cursor(void)
{
	struct nfc_spool *s;
	char p[300];

	for (int how = 0; how < 3; how++) {
		fresh();
		s = sp_open(0, 0);
		for (uint32_t i = 0; i < 10; i++)
			CU_ASSERT_EQUAL_FATAL(append(s, i, 1000, 0), NFC_OK);
		for (long i = 0; i < 4; i++)
			CU_ASSERT_EQUAL(take(s, 0), i);
		nfc_spool_close(s);
		path_in(p, sizeof(p), "cursor");
		CU_ASSERT_FATAL(file_size(p) == 36);
		if (how == 0) {
			CU_ASSERT_FATAL(truncate(p, 20) == 0);
		} else if (how == 1) {
			poke(p, 18, 0x01); /* the segment number: the CRC catches it */
		} else {
			CU_ASSERT_FATAL(unlink(p) == 0);
		}
		s = sp_open(0, 0);
		CU_ASSERT(strstr(err, how == 2 ? "cursor missing" : "cursor unreadable") != NULL);
		/* from the oldest segment: delivered again, not lost */
		drain_range(s, 0, 9, 0);
		nfc_spool_close(s);
	}
}

static void test_max_bytes(void)
{
	const uint64_t max = 64 * 1024;
	struct nfc_spool *s;
	struct nfc_spool_stats st;
	uint32_t n = 0, i;
	uint64_t before;
	int rc;

	fresh();
	s = sp_open(max, 16 * 1024);
	while ((rc = append(s, n, 3000, 1)) == NFC_OK)
		n++;
	CU_ASSERT_EQUAL(rc, NFC_ETOOBIG);
	CU_ASSERT(n >= 18 && n <= 21);
	st = stats(s);
	CU_ASSERT(st.bytes <= max && st.chunks == n);
	/* refused: nothing written */
	CU_ASSERT_EQUAL(append(s, n, 3000, 1), NFC_ETOOBIG);
	CU_ASSERT_EQUAL(stats(s).bytes, st.bytes);
	CU_ASSERT_EQUAL(stats(s).chunks, n);
	/* consuming frees room once a segment is passed */
	before = st.bytes;
	for (i = 0; stats(s).bytes == before; i++)
		CU_ASSERT_FATAL(take(s, 1) == (long)i);
	CU_ASSERT(i >= 4 && i <= 6);
	CU_ASSERT_EQUAL(append(s, n, 3000, 1), NFC_OK);
	drain_range(s, i, n, 1);
	/* a bound smaller than a segment: the write segment, once read, gives its room back */
	nfc_spool_close(s);
	fresh();
	s = sp_open(4096, 0);
	CU_ASSERT_EQUAL(append(s, 0, 3000, 1), NFC_OK);
	CU_ASSERT_EQUAL(append(s, 1, 3000, 1), NFC_ETOOBIG);
	CU_ASSERT_EQUAL(take(s, 1), 0);
	CU_ASSERT_EQUAL(append(s, 1, 3000, 1), NFC_OK);
	CU_ASSERT_EQUAL(take(s, 1), 1);
	CU_ASSERT_EQUAL(append(s, 2, 3000, 1), NFC_OK);
	CU_ASSERT_EQUAL(append(s, 3, 3000, 1), NFC_ETOOBIG);
	drain_range(s, 2, 2, 1);
	CU_ASSERT_EQUAL(count_segments(), 1);
	nfc_spool_close(s);
	CU_ASSERT_EQUAL(count_segments(), 0);
}

static void test_permissions(void)
{
	struct nfc_spool *s;
	mode_t old = umask(0);
	char p[300];
	struct stat sb;

	fresh();
	s = sp_open(0, 0);
	CU_ASSERT_EQUAL(append(s, 0, 1000, 0), NFC_OK);
	CU_ASSERT_EQUAL(append(s, 1, 1000, 0), NFC_OK);
	CU_ASSERT_EQUAL(take(s, 0), 0);
	CU_ASSERT_EQUAL(nfc_spool_sync(s), NFC_OK);
	CU_ASSERT(stat(dir, &sb) == 0 && (sb.st_mode & 07777) == 0700);
	CU_ASSERT(stat(seg_path(1), &sb) == 0 && (sb.st_mode & 07777) == 0600);
	path_in(p, sizeof(p), "cursor");
	CU_ASSERT(stat(p, &sb) == 0 && (sb.st_mode & 07777) == 0600);
	nfc_spool_close(s);
	umask(old);
}

/* A checked condition in a child: exit with the line number (the parent
 * names it). */
#define CHILD_CHECK(c) \
	do { \
		if (!(c)) \
			_exit(__LINE__ % 200 + 50); \
	} while (0)

static void io_error_child(void)
{
	struct nfc_spool_cfg cfg = { dir, 0, 0, 0 };
	struct nfc_spool *s;
	struct rlimit old, lim;
	off_t size;

	CHILD_CHECK(nfc_spool_open(&s, &cfg, err, sizeof(err)) == NFC_OK);
	for (uint32_t i = 0; i < 5; i++)
		CHILD_CHECK(append(s, i, 3000, 1) == NFC_OK);
	CHILD_CHECK(nfc_spool_sync(s) == NFC_OK);
	size = file_size(seg_path(1));
	signal(SIGXFSZ, SIG_IGN);
	CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 1000; /* the next frame gets 1000 bytes in, then EFBIG */
	CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	for (int k = 0; k < 2; k++) {
		errno = 0;
		CHILD_CHECK(append(s, 5, 3000, 1) == NFC_ERROR);
		CHILD_CHECK(errno == EFBIG);
		CHILD_CHECK(file_size(seg_path(1)) == size); /* the partial frame is gone */
		CHILD_CHECK(stats(s).chunks == 5 && (off_t)stats(s).bytes == size);
	}
	/* reading still works meanwhile */
	CHILD_CHECK(take(s, 1) == 0);
	CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	for (uint32_t i = 5; i < 10; i++)
		CHILD_CHECK(append(s, i, 3000, 1) == NFC_OK);
	CHILD_CHECK(take(s, 1) == 1);
	CHILD_CHECK(nfc_spool_close(s) == NFC_OK);
	_exit(0);
}

static void test_io_error(void)
{
	struct nfc_spool *s;
	struct nfc_spool_stats st;
	int status;
	pid_t pid;

	fresh();
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0)
		io_error_child();
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "io_error_child: status %d (check at line %% 200 + 50)\n", status);
	CU_ASSERT_FATAL(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	s = sp_open(0, 0);
	st = stats(s);
	CU_ASSERT(st.torn_tails == 0 && st.corrupt_frames == 0 && st.chunks == 8);
	drain_range(s, 2, 9, 1);
	nfc_spool_close(s);
}

static void test_roll_and_delete(void)
{
	struct nfc_spool *s;
	int segs, prev;

	fresh();
	s = sp_open(0, 16 * 1024);
	for (uint32_t i = 0; i < 40; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, 3000, 1), NFC_OK);
	segs = count_segments();
	CU_ASSERT(segs >= 7 && segs <= 9);
	/* five frames of 3024 bytes fit in 16 KiB: the first segment goes after the fifth chunk */
	for (long i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(take(s, 1), i);
	CU_ASSERT_EQUAL(count_segments(), segs);
	CU_ASSERT_EQUAL(take(s, 1), 4);
	CU_ASSERT_EQUAL(count_segments(), segs - 1);
	CU_ASSERT(access(seg_path(1), F_OK) != 0);
	prev = segs - 1;
	for (long i = 5; i < 40; i++) {
		int now;

		CU_ASSERT_EQUAL(take(s, 1), i);
		now = count_segments();
		CU_ASSERT(now == prev || now == prev - 1);
		prev = now;
	}
	/* the segment being written stays until close */
	CU_ASSERT_EQUAL(count_segments(), 1);
	CU_ASSERT_EQUAL(stats(s).bytes, (uint64_t)file_size(seg_path((uint64_t)segs)));
	nfc_spool_close(s);
	CU_ASSERT_EQUAL(count_segments(), 0);
}

/* Virtual memory of this process, in bytes. */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;

	if (f && fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	if (f)
		fclose(f);
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void test_huge_lengths(void)
{
	static const long want[] = { 0, 2, 4 };
	off_t off[8], size;
	struct nfc_spool *s;
	int status;
	pid_t pid;
	char *p;

	fresh();
	s = sp_open(0, 0);
	for (uint32_t i = 0; i < 5; i++)
		CU_ASSERT_EQUAL_FATAL(append(s, i, 3000, 1), NFC_OK);
	nfc_spool_close(s);
	p = seg_path(1);
	CU_ASSERT_FATAL(frames(p, off, 8) == 5);
	size = file_size(p);
	/* frame 1: a chunk of 4 GiB (over the limit); frame 3: 40 MiB of payload
	 * in a file of 15 KiB; past the end: a torn header claiming 50 MiB */
	craft_header(p, off[1], 100, 0xffffffffu);
	craft_header(p, off[3], 40u << 20, 60u << 20);
	craft_header(p, size, 50u << 20, 60u << 20);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
#ifndef UNDER_ASAN
		/* 16 MiB more than now: any of those lengths allocated fails */
		struct rlimit lim = { vm_size() + (16u << 20), RLIM_INFINITY };

		CHILD_CHECK(setrlimit(RLIMIT_AS, &lim) == 0);
#else
		(void)vm_size;
#endif
		struct nfc_spool_cfg cfg = { dir, 0, 0, 0 };
		struct nfc_spool_stats st;
		long id;
		size_t k = 0;

		CHILD_CHECK(nfc_spool_open(&s, &cfg, err, sizeof(err)) == NFC_OK);
		while ((id = take(s, 1)) != -1) {
			CHILD_CHECK(k < 3 && id == want[k]);
			k++;
		}
		CHILD_CHECK(k == 3);
		nfc_spool_stats(s, &st);
		CHILD_CHECK(st.corrupt_frames == 2 && st.torn_tails == 1);
		CHILD_CHECK(nfc_spool_close(s) == NFC_OK);
		_exit(0);
	}
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "huge_lengths child: status %d\n", status);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	static const struct nfc_test tests[] = {
		{ "CRC-32C check values", test_crc32c },
		{ "round trip: order, bytes, record counts", test_round_trip },
		{ "zstd and LZ4 frames, named by their magic", test_codecs },
		{ "bad arguments, a second opener", test_bad_arguments },
		{ "reopen continues where consuming left off", test_reopen },
		{ "crash: nothing lost, duplicates within the lazy cursor", test_crash_lazy_cursor },
		{ "torn tails cut and reported", test_torn_tail },
		{ "corrupt frames skipped and counted", test_corrupt_frame },
		{ "foreign files left alone", test_foreign_files },
		{ "truncated, corrupt, missing cursor", test_bad_cursor },
		{ "max_bytes: refused, then room after consuming", test_max_bytes },
		{ "modes 0700 and 0600", test_permissions },
		{ "I/O error in the middle of an append", test_io_error },
		{ "segment roll and deletion", test_roll_and_delete },
		{ "crafted huge lengths are not allocated", test_huge_lengths },
		{ NULL, NULL }
	};
	int rc = nfc_run_tests("spool", tests);

	if (base[0])
		nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
