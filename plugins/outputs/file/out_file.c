/* out_file: one flat JSON object per record per line, appended to a file or
 * written to stdout (path=-). The simplest complete output: a reference for
 * third-party plugins and the quick-start's local sink. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nfc/plugin.h"

struct out_file {
	char *path;
	int fd;
	int is_stdout;
	int stream; /* a pipe, FIFO, socket or terminal: writes can block */
	struct nfc_ctx *ctx;
	int failing; /* the last write failed: say so once, and when it recovers */
};

static const struct nfc_param params[] = {
	{ "path", NFC_PARAM_STRING, "-", 0, offsetof(struct out_file, path), 0, 0,
	  "file to append JSON lines to, or - for standard output" },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

static int is_stream(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode));
}

static int file_open(struct out_file *f, struct nfc_ctx *ctx)
{
	if (f->is_stdout) {
		f->fd = STDOUT_FILENO;
	} else {
		f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (f->fd < 0) {
			nfc_log(ctx, NFC_LOG_ERR, "cannot open %s: %s", f->path, strerror(errno));
			return NFC_ERROR;
		}
	}
	f->stream = is_stream(f->fd);
	return NFC_OK;
}

static int file_check(void *inst, struct nfc_ctx *ctx)
{
	struct out_file *f = inst;

	if (!*f->path) {
		nfc_config_error(ctx, "path", "is empty; give a file name, or - for standard output");
		return NFC_EINVAL;
	}
	return NFC_OK;
}

static int file_start(void *inst, struct nfc_ctx *ctx)
{
	struct out_file *f = inst;

	f->ctx = ctx;
	f->fd = -1;
	f->is_stdout = !strcmp(f->path, "-");
	if (file_open(f, ctx) < 0)
		return NFC_ERROR;
	nfc_log(ctx, NFC_LOG_INFO, "writing JSON lines to %s", f->is_stdout ? "standard output" : f->path);
	return NFC_OK;
}

static int file_encode(void *inst, const struct nfc_batch *b, struct nfc_buf *out)
{
	size_t n = nfc_batch_count(b);

	for (size_t i = 0; i < n; i++) {
		int rc = nfc_batch_json(b, i, out);

		if (rc < 0)
			return rc;
		if (nfc_buf_append(out, "\n", 1) < 0)
			return NFC_ENOMEM;
	}
	return (int)n;
}

static const char *file_name(const struct out_file *f)
{
	return f->is_stdout ? "standard output" : f->path;
}

/* A full disk or a closed pipe stops the write where it failed: the core
 * keeps the rest and offers it again after a backoff, so no record is
 * duplicated or cut in two. On a pipe, each write waits (at most 1 s, and
 * never past the shutdown's drain deadline) until the pipe has room and
 * writes at most PIPE_BUF bytes, which then cannot block: a reader that
 * stops reading stalls the records, never the daemon. */
static int file_send(void *inst, const char *p, size_t len, uint64_t off, size_t *consumed)
{
	struct out_file *f = inst;
	size_t done = 0;

	(void)off;
	while (done < len) {
		size_t n = len - done;
		ssize_t w;

		if (f->stream) {
			if (nfc_wait_fd(f->ctx, f->fd, POLLOUT, 1000) != 1) {
				if (!f->failing)
					nfc_log(f->ctx, NFC_LOG_ERR, "writing to %s blocks (nothing reads it?); holding "
					        "the records and retrying", file_name(f));
				f->failing = 1;
				*consumed = done;
				return NFC_RETRY;
			}
			if (n > PIPE_BUF)
				n = PIPE_BUF;
		}
		w = write(f->fd, p + done, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (!f->failing)
				nfc_log(f->ctx, NFC_LOG_ERR, "cannot write to %s: %s; holding the records and "
				        "retrying", file_name(f), strerror(errno));
			f->failing = 1;
			*consumed = done;
			return NFC_RETRY;
		}
		done += (size_t)w;
	}
	if (f->failing)
		nfc_log(f->ctx, NFC_LOG_INFO, "writing to %s again", file_name(f));
	f->failing = 0;
	*consumed = done;
	return NFC_OK;
}

/* SIGHUP (logrotate renamed the file): write on at the configured path, in a
 * new file. When it cannot be opened the old descriptor stays in use, so
 * nothing is lost; the next SIGHUP tries again. */
static void file_reopen(void *inst)
{
	struct out_file *f = inst;
	int fd;

	if (f->is_stdout)
		return;
	fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (fd < 0) {
		nfc_log(f->ctx, NFC_LOG_ERR, "SIGHUP: cannot reopen %s: %s; writing on to the file already open",
		        f->path, strerror(errno));
		return;
	}
	close(f->fd);
	f->fd = fd;
	f->stream = is_stream(fd);
	nfc_log(f->ctx, NFC_LOG_INFO, "SIGHUP: reopened %s", f->path);
}

static void file_stop(void *inst)
{
	struct out_file *f = inst;

	if (!f->is_stdout && f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* --test-connection: can start() open the path? Nothing is created or
 * written: the directory must let this user create the file, and a file
 * already there must open for appending. */
static int diag_dir(struct nfc_ctx *ctx, const char *path)
{
	char copy[4096], step[4200];
	const char *dir;
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	dir = dirname(copy);
	snprintf(step, sizeof(step), "directory %s", dir);
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		nfc_diag(ctx, NFC_DIAG_FAIL, step, "create the directory (mkdir -p), or set path= to a file in "
		         "an existing one", "does not exist or is not a directory");
		return NFC_ERROR;
	}
	if (access(dir, W_OK | X_OK) < 0) {
		nfc_diag(ctx, NFC_DIAG_FAIL, step, "let the daemon's user write there (chown, chmod, or the "
		         "service's writable paths), or set path= elsewhere", "not writable by uid %u: %s",
		         (unsigned)geteuid(), strerror(errno));
		return NFC_ERROR;
	}
	nfc_diag(ctx, NFC_DIAG_OK, step, NULL, "exists and is writable");
	return NFC_OK;
}

static int file_diagnose(void *inst, struct nfc_ctx *ctx, unsigned flags)
{
	struct out_file *f = inst;
	char step[4200];
	int fd;

	(void)flags; /* nothing to send: writing is the check */
	if (!strcmp(f->path, "-")) {
		if (fcntl(STDOUT_FILENO, F_GETFL) < 0) {
			nfc_diag(ctx, NFC_DIAG_FAIL, "standard output", "start the daemon with its standard output "
			         "open, or set path= to a file", "is closed");
			return NFC_ERROR;
		}
		nfc_diag(ctx, NFC_DIAG_OK, "standard output", NULL, "open: records go to standard output");
		return NFC_OK;
	}
	if (diag_dir(ctx, f->path) < 0)
		return NFC_ERROR;
	snprintf(step, sizeof(step), "open %s", f->path);
	fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		nfc_diag(ctx, NFC_DIAG_OK, step, NULL, "does not exist yet: it will be created at start");
		return NFC_OK;
	}
	if (fd < 0) {
		nfc_diag(ctx, NFC_DIAG_FAIL, step, "let the daemon's user write the file (chown, chmod), or set "
		         "path= elsewhere", "cannot be opened for appending: %s", strerror(errno));
		return NFC_ERROR;
	}
	close(fd);
	nfc_diag(ctx, NFC_DIAG_OK, step, NULL, "can be opened for appending");
	return NFC_OK;
}

/* Where it writes, for the stats line and --status (path is not changed
 * after the configuration is read: safe from any thread). */
static void file_status(void *inst, char *out, size_t len)
{
	struct out_file *f = inst;

	snprintf(out, len, "dest=%s", f->is_stdout ? "stdout" : f->path);
}

static const struct nfc_output_ops ops = {
	.size = sizeof(struct nfc_output_ops),
	.start = file_start,
	.encode = file_encode,
	.send = file_send,
	.stop = file_stop,
	.reopen = file_reopen,
	.diagnose = file_diagnose,
	.status = file_status,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_OUTPUT,
	.name = "file",
	.version = PACKAGE_VERSION,
	.description = "JSON lines (one flow record per line) to a file or standard output",
	.license = "Apache-2.0",
	.instance_size = sizeof(struct out_file),
	.params = params,
	.check = file_check,
	.output = &ops,
};
