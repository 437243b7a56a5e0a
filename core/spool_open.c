/* Opening a spool: the directory and its lock, the cursor, and the scan of
 * the segments found there (torn tails cut, corrupt regions skipped and
 * counted, foreign files left alone), summed up in one line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "spool_int.h"

/* What the open scan found, for its summary line. */
struct restore {
	size_t nseqs;
	int cursor; /* 1 read, 0 missing, -1 unreadable */
};

static void errf(char *err, size_t len, const char *fmt, ...) NFC_PRINTF(3, 4);
static void errf(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/* 1 read, 0 none, -1 there but unusable. */
static int cursor_load(struct nfc_spool *s)
{
	uint8_t b[CUR_LEN + 1];
	ssize_t r;
	int fd = openat(s->dirfd, CUR_NAME, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	r = spool_pread_all(fd, b, sizeof(b), 0);
	close(fd);
	if (r != CUR_LEN || memcmp(b, CUR_MAGIC, 8) || get32(b + 8) != FORMAT ||
	    get32(b + 32) != nfc_crc32c(0, b, 32))
		return -1;
	s->cur_seq = get64(b + 16);
	s->cur_off = get64(b + 24);
	s->cur_saved = 1;
	return 1;
}

/* Cut a torn tail. When that fails (a read-only file system) the tail stays
 * on disk past the segment's `end`: never read, cut again at the next open. */
static void cut_tail(int fd, uint64_t at)
{
	while (ftruncate(fd, (off_t)at) < 0 && errno == EINTR)
		;
}

/* Walk the frames of a restored segment of `size` bytes, cut its torn tail,
 * and count the frames ending past `done` (the cursor's offset in this
 * segment, 0 in later ones): they are to be read, from *start. */
static int seg_scan(struct nfc_spool *s, int fd, uint64_t size, uint64_t done, struct seg *g,
                    uint64_t *start)
{
	uint64_t off = SEG_HDR, last = 0, chunks = 0, records = 0, cut, next;
	struct frame f, lastf = { 0 };
	int rc;

	*start = UINT64_MAX;
	while (off < size) {
		rc = spool_frame_at(fd, off, size, &f);
		if (rc < 0)
			return NFC_ERROR;
		if (rc) {
			if (off + FRAME_HDR + f.clen > done) {
				chunks++;
				records += f.records;
				if (*start > off)
					*start = off;
			}
			last = off;
			lastf = f;
			off += FRAME_HDR + f.clen;
			continue;
		}
		if (spool_resync(s, fd, off + 1, size, &next) < 0)
			return NFC_ERROR;
		if (next == size)
			break; /* nothing valid after it: a torn tail */
		if (next > done) {
			st_add(&s->st.corrupt_frames, 1);
			st_add(&s->st.corrupt_bytes, next - off);
		}
		off = next;
	}
	cut = off;
	/* A power loss can leave the last frame with its header but not its
	 * payload: check that one payload now, it is a torn tail too. */
	if (last && last + FRAME_HDR + lastf.clen == cut) {
		rc = spool_payload_read(s, fd, last, &lastf);
		if (rc < 0)
			return rc;
		if (!rc) {
			if (last + FRAME_HDR + lastf.clen > done) {
				chunks--;
				records -= lastf.records;
			}
			cut = last;
		}
	}
	if (cut < size) {
		cut_tail(fd, cut);
		st_add(&s->st.torn_tails, 1);
	}
	g->end = g->scanned = cut;
	if (*start > cut)
		*start = cut;
	st_add(&s->st.chunks, chunks);
	st_add(&s->st.records, records);
	return NFC_OK;
}

/* Check the file header of what claims to be segment `seq`: 1 ours, 0 not
 * ours (left alone), 2 a segment whose creation was cut short (an empty or
 * partial header: deleted). */
static int seg_header(int fd, uint64_t *size)
{
	uint8_t h[SEG_HDR];
	struct stat sb;
	ssize_t r;

	if (fstat(fd, &sb) < 0)
		return NFC_ERROR;
	if (!S_ISREG(sb.st_mode))
		return 0;
	*size = (uint64_t)sb.st_size;
	r = spool_pread_all(fd, h, SEG_HDR, 0);
	if (r < 0)
		return NFC_ERROR;
	if (r < SEG_HDR)
		return memcmp(h, SEG_MAGIC, (size_t)r < 8 ? (size_t)r : 8) ? 0 : 2;
	return !memcmp(h, SEG_MAGIC, 8) && get32(h + 8) == FORMAT;
}

/* Restore one segment found at open: keep it when something in it is
 * left to read, delete it when not, leave it alone when it is not ours. */
static int seg_restore(struct nfc_spool *s, uint64_t seq, int have_cursor)
{
	char name[SEG_NAME_LEN + 1];
	uint64_t size = 0, start, done = 0;
	struct seg g = { seq, 0, 0, -1, 0 };
	int fd, rc;

	spool_seg_name(name, seq);
	fd = spool_seg_open(s, seq, O_RDWR | O_NONBLOCK);
	if (fd < 0 && (errno == ELOOP || errno == EISDIR)) { /* a symbolic link, a directory: not ours */
		st_add(&s->st.foreign_files, 1);
		return NFC_OK;
	}
	if (fd < 0)
		return NFC_ERROR;
	rc = seg_header(fd, &size);
	if (rc <= 0) {
		if (rc == 0)
			st_add(&s->st.foreign_files, 1);
		goto out;
	}
	if (rc == 2) {
		st_add(&s->st.torn_tails, 1);
		goto drop;
	}
	if (have_cursor && seq < s->cur_seq)
		goto drop; /* consumed; its unlink did not happen before a crash */
	if (have_cursor && seq == s->cur_seq)
		done = s->cur_off;
	rc = seg_scan(s, fd, size, done, &g, &start);
	if (rc < 0)
		goto out;
	if (start >= g.end)
		goto drop;
	rc = spool_seg_reserve(s);
	if (rc < 0)
		goto out;
	if (!s->nseg)
		s->roff = start;
	s->seg[s->nseg++] = g;
	st_add(&s->st.bytes, g.end);
	goto out;
drop:
	unlinkat(s->dirfd, name, 0);
	rc = NFC_OK;
out:
	close(fd);
	return rc < 0 ? rc : NFC_OK;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The segment numbers in the directory, sorted; other names are counted
 * foreign (a leftover cursor.tmp is removed). */
static int list_segments(struct nfc_spool *s, uint64_t **seqs, size_t *n)
{
	size_t cap = 0;
	struct dirent *de;
	uint64_t seq, *v;
	int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	*seqs = NULL;
	*n = 0;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return NFC_ERROR;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !strcmp(de->d_name, CUR_NAME))
			continue;
		if (!strcmp(de->d_name, CUR_TMP)) {
			unlinkat(s->dirfd, CUR_TMP, 0);
			continue;
		}
		if (!spool_seg_parse_name(de->d_name, &seq)) {
			st_add(&s->st.foreign_files, 1);
			continue;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			v = realloc(*seqs, cap * sizeof(*v));
			if (!v) {
				closedir(d);
				return NFC_ENOMEM;
			}
			*seqs = v;
		}
		(*seqs)[(*n)++] = seq;
	}
	closedir(d);
	if (*n)
		qsort(*seqs, *n, sizeof(**seqs), cmp_u64);
	return NFC_OK;
}

static void restore_report(const struct nfc_spool *s, const char *dir, const struct restore *r, char *err,
                           size_t errlen)
{
	char more[400];
	int n = 0;

	if (!r->nseqs && !st_get(&s->st.foreign_files) && r->cursor >= 0)
		return;
	more[0] = '\0';
	if (st_get(&s->st.torn_tails))
		n += snprintf(more + n, sizeof(more) - (size_t)n, "; cut %llu torn tail(s)",
		              (unsigned long long)st_get(&s->st.torn_tails));
	if (st_get(&s->st.corrupt_frames) && n < (int)sizeof(more))
		n += snprintf(more + n, sizeof(more) - (size_t)n, "; skipped %llu corrupt frame(s), %llu bytes",
		              (unsigned long long)st_get(&s->st.corrupt_frames),
		              (unsigned long long)st_get(&s->st.corrupt_bytes));
	if (st_get(&s->st.foreign_files) && n < (int)sizeof(more))
		n += snprintf(more + n, sizeof(more) - (size_t)n, "; left %llu file(s) that are not segments alone",
		              (unsigned long long)st_get(&s->st.foreign_files));
	if ((r->cursor < 0 || (r->nseqs && !r->cursor)) && n < (int)sizeof(more))
		snprintf(more + n, sizeof(more) - (size_t)n, "; cursor %s: reading from the oldest segment",
		         r->cursor ? "unreadable" : "missing");
	errf(err, errlen, "spool %s: %llu chunk(s), %llu record(s) to deliver in %zu segment(s), %llu bytes%s",
	     dir, (unsigned long long)st_get(&s->st.chunks), (unsigned long long)st_get(&s->st.records),
	     s->nseg, (unsigned long long)st_get(&s->st.bytes), more);
}

static int restore(struct nfc_spool *s, const char *dir, char *err, size_t errlen)
{
	struct restore r = { 0, 0 };
	uint64_t *seqs, top;
	int rc;

	r.cursor = cursor_load(s);
	rc = list_segments(s, &seqs, &r.nseqs);
	if (rc < 0) {
		errf(err, errlen, "cannot list spool directory %s: %s", dir, strerror(errno));
		return rc;
	}
	for (size_t i = 0; i < r.nseqs; i++) {
		rc = seg_restore(s, seqs[i], r.cursor > 0);
		if (rc < 0) {
			errf(err, errlen, "cannot read spool segment %s/seg-%016llx.nfcspool: %s", dir,
			     (unsigned long long)seqs[i], rc == NFC_ENOMEM ? "out of memory" : strerror(errno));
			free(seqs);
			return rc;
		}
	}
	/* new segments sort after everything seen, foreign names included, and
	 * after the cursor (whose segment may be gone) */
	top = r.nseqs ? seqs[r.nseqs - 1] : 0;
	if (r.cursor > 0 && s->cur_seq > top)
		top = s->cur_seq;
	s->next_seq = top == UINT64_MAX ? top : top + 1;
	free(seqs);
	restore_report(s, dir, &r, err, errlen);
	return NFC_OK;
}

static int dir_open(struct nfc_spool *s, const char *dir, char *err, size_t errlen)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		errf(err, errlen, "cannot create spool directory %s: %s", dir, strerror(errno));
		return NFC_ERROR;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		errf(err, errlen, "cannot open spool directory %s: %s", dir, strerror(errno));
		return NFC_ERROR;
	}
	/* two daemons appending to one spool would interleave their segments */
	if (flock(s->dirfd, LOCK_EX | LOCK_NB) < 0) {
		errf(err, errlen, "spool directory %s: %s", dir,
		     errno == EWOULDBLOCK ? "in use by another process" : strerror(errno));
		return NFC_ERROR;
	}
	return NFC_OK;
}

static int zstd_setup(struct nfc_spool *s, int level)
{
	s->cctx = ZSTD_createCCtx();
	s->dctx = ZSTD_createDCtx();
	s->scan = malloc(SCAN_BLOCK);
	if (!s->cctx || !s->dctx || !s->scan)
		return NFC_ENOMEM;
	if (ZSTD_isError(ZSTD_CCtx_setParameter(s->cctx, ZSTD_c_compressionLevel, level)))
		return NFC_EINVAL;
	return NFC_OK;
}

int nfc_spool_open(struct nfc_spool **out, const struct nfc_spool_cfg *cfg, char *err, size_t errlen)
{
	struct nfc_spool *s;
	int level, rc;

	*out = NULL;
	errf(err, errlen, "%s", "");
	if (!cfg || !cfg->dir || !*cfg->dir) {
		errf(err, errlen, "no spool directory");
		return NFC_EINVAL;
	}
	level = cfg->level ? cfg->level : 1;
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
		errf(err, errlen, "spool compression level %d: use %d to %d", level, ZSTD_minCLevel(),
		     ZSTD_maxCLevel());
		return NFC_EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NFC_ENOMEM;
	s->dirfd = -1;
	s->max_bytes = cfg->max_bytes;
	/* room comes back a segment at a time: keep segments well under the bound */
	s->seg_limit = cfg->segment_bytes ? cfg->segment_bytes : DEFAULT_SEGMENT;
	if (s->max_bytes && s->seg_limit > s->max_bytes / 4)
		s->seg_limit = s->max_bytes / 4;
	s->cur_ms = now_ms();
	rc = dir_open(s, cfg->dir, err, errlen);
	if (rc < 0)
		goto fail;
	rc = zstd_setup(s, level);
	if (rc < 0) {
		errf(err, errlen, "spool %s: cannot set up zstd", cfg->dir);
		goto fail;
	}
	rc = restore(s, cfg->dir, err, errlen);
	if (rc < 0)
		goto fail;
	*out = s;
	return NFC_OK;
fail:
	spool_free(s);
	return rc;
}
