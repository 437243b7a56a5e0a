/* libFuzzer target for the disk spool's reader: the input becomes a segment
 * file in a scratch directory, which is opened (scanned, repaired) and
 * drained, then appended to and drained again. It must never crash, leak or
 * allocate past the spool's limits, whatever the file holds.
 *
 * With NFC_FUZZ_SPOOL_SEEDS=DIR set, the target writes seed segments made by
 * the spool itself into DIR and exits (fuzz/run.sh does that first: random
 * bytes seldom pass a CRC). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

#define SEG "seg-0000000000000001.nfcspool"

static char dir[128];

/* Remove what a run left (cursor, segments): each input starts afresh. */
static void empty_dir(const char *d)
{
	DIR *dh = opendir(d);
	struct dirent *de;
	char p[512];

	while (dh && (de = readdir(dh)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
			unlink(p);
		}
	if (dh)
		closedir(dh);
}

static void drain(struct nfc_spool *s)
{
	const void *p;
	size_t len;
	uint32_t n;

	while (nfc_spool_peek(s, &p, &len, &n) == 1 && nfc_spool_consume(s) == NFC_OK)
		;
}

/* Seeds: segments of a few chunks, text and binary, one with its last
 * frame torn. */
static void write_seeds(const char *out)
{
	static char chunk[8192];
	char err[256], from[512], to[512], tmp[300];
	struct nfc_spool_cfg cfg = { tmp, 0, 0, 0 };
	struct nfc_spool *s;

	/* the spool next to the seeds: a rename does not cross file systems */
	mkdir(out, 0700);
	snprintf(tmp, sizeof(tmp), "%s/.seeds", out);
	for (int seed = 0; seed < 3; seed++) {
		empty_dir(tmp);
		if (nfc_spool_open(&s, &cfg, err, sizeof(err)) != NFC_OK) {
			fprintf(stderr, "fuzz_spool: %s\n", err);
			exit(1);
		}
		for (int i = 0; i < 4; i++) {
			for (size_t k = 0; k < sizeof(chunk); k++)
				chunk[k] = seed == 1 ? (char)(k * 2654435761u >> 13) : "{\"a\":1}\n"[k % 8];
			nfc_spool_append(s, chunk, 200 + 1000 * (size_t)i, (uint32_t)i + 1,
			                 i % 2 ? NFC_SPOOL_FAST : NFC_SPOOL_COMPACT);
		}
		nfc_spool_close(s);
		snprintf(from, sizeof(from), "%s/" SEG, tmp);
		snprintf(to, sizeof(to), "%s/spool-seed-%d", out, seed);
		if ((seed == 2 && truncate(from, 300) < 0) || rename(from, to) < 0) {
			perror(to);
			exit(1);
		}
	}
	empty_dir(tmp);
	rmdir(tmp);
	exit(0);
}

static void remove_dir(void)
{
	empty_dir(dir);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("NFC_FUZZ_SPOOL_SEEDS");

	(void)argc;
	(void)argv;
	/* tmpfs when there is one: every input is written and synced */
	snprintf(dir, sizeof(dir), "%s/nfc-fuzz-spool.XXXXXX", access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	if (seeds)
		write_seeds(seeds);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nfc_spool_cfg cfg = { dir, 1 << 20, 4096, 0 };
	struct nfc_spool *s;
	char p[256], err[512];
	int fd;

	empty_dir(dir);
	snprintf(p, sizeof(p), "%s/" SEG, dir);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (nfc_spool_open(&s, &cfg, err, sizeof(err)) != NFC_OK)
		return 0;
	drain(s);
	nfc_spool_append(s, size ? (const void *)data : "x", size ? size : 1, 1,
	                 size % 2 ? NFC_SPOOL_FAST : NFC_SPOOL_COMPACT);
	drain(s);
	nfc_spool_close(s);
	return 0;
}
