/*
 * out_skeleton: a minimal third-party output plugin for netflow-concentrator.
 *
 * It writes each flow record as "<tag> <json>\n" to a file. Copy it to start
 * your own output: keep the descriptor and the parameter table, replace
 * encode() (pure: bytes for a batch) and send() (I/O: says how much it wrote).
 *
 * Build against the installed SDK only:
 *   cc -shared -fPIC -fvisibility=hidden $(pkg-config --cflags nfc-plugin) \
 *      -o out_skeleton.so out_skeleton.c
 * or with the autotools project in this directory (./autogen.sh && ./configure && make install).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <nfc/plugin.h>

struct skeleton {
	char *path; /* written by the core from the parameter table */
	char *tag;
	int fd;
};

static const struct nfc_param params[] = {
	{ "path", NFC_PARAM_STRING, NULL, NFC_PARAM_REQUIRED, offsetof(struct skeleton, path), 0, 0,
	  "file the records are appended to" },
	{ "tag", NFC_PARAM_STRING, "flow", 0, offsetof(struct skeleton, tag), 0, 0,
	  "word written before each record" },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL }
};

static int skel_check(void *inst, struct nfc_ctx *ctx)
{
	struct skeleton *s = inst;

	if (strchr(s->tag, ' ')) {
		nfc_config_error(ctx, "tag", "must be one word");
		return NFC_EINVAL;
	}
	return NFC_OK;
}

static int skel_start(void *inst, struct nfc_ctx *ctx)
{
	struct skeleton *s = inst;

	s->fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		nfc_log(ctx, NFC_LOG_ERR, "cannot open %s: %s", s->path, strerror(errno));
		return NFC_ERROR;
	}
	return NFC_OK;
}

/* Pure: turn a batch into bytes and say how many records it encoded. The
 * core queues the bytes and calls send(). */
static int skel_encode(void *inst, const struct nfc_batch *b, struct nfc_buf *out)
{
	struct skeleton *s = inst;
	size_t n = nfc_batch_count(b), taglen = strlen(s->tag);

	for (size_t i = 0; i < n; i++) {
		if (nfc_buf_append(out, s->tag, taglen) < 0 || nfc_buf_append(out, " ", 1) < 0 ||
		    nfc_batch_json(b, i, out) < 0 || nfc_buf_append(out, "\n", 1) < 0)
			return NFC_ENOMEM;
	}
	return (int)n; /* records encoded; any refused would be counted by the core */
}

/* Say how far the write got: the core keeps the rest and, after NFC_RETRY,
 * backs off and offers it again (an output with acknowledgements answers
 * NFC_PENDING and calls nfc_output_settle() when they come). */
static int skel_send(void *inst, const char *p, size_t len, uint64_t off, size_t *consumed)
{
	struct skeleton *s = inst;
	size_t done = 0;

	(void)off;
	while (done < len) {
		ssize_t w = write(s->fd, p + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			break;
		done += (size_t)w;
	}
	*consumed = done;
	return done == len ? NFC_OK : NFC_RETRY;
}

static void skel_stop(void *inst)
{
	struct skeleton *s = inst;

	if (s->fd > 0)
		close(s->fd);
}

static const struct nfc_output_ops ops = {
	.size = sizeof(struct nfc_output_ops),
	.start = skel_start,
	.encode = skel_encode,
	.send = skel_send,
	.stop = skel_stop,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_OUTPUT,
	.name = "skeleton",
	.version = "1.0",
	.description = "example third-party output: tagged JSON lines",
	.license = "Apache-2.0",
	.instance_size = sizeof(struct skeleton),
	.params = params,
	.check = skel_check,
	.output = &ops,
};
