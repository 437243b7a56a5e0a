/*
 * The template table on disk: <state_dir>/<decoder>.state, so a restart does
 * not lose the flows of the minutes before each exporter resends its
 * templates. Written atomically (temporary file, fsync, rename), readable by
 * the daemon's user only, rewritten when something changed (at most every 5
 * seconds) and at stop. Restored templates are marked so: the next template
 * the exporter sends replaces them whatever it says.
 *
 * Format (all integers big-endian):
 *   "NFCSTATE" | u32 format 2 | u32 body length | u32 CRC-32 of the body | body
 *   body: records, each
 *     u8 family | u16 port | u32 domain | 16 bytes address |
 *     u8 samplers, each u32 id | u32 interval |
 *     u16 interface names, each u32 index | u8 length | the name |
 *     u64 init_ms | u16 templates, then per template
 *       u16 id | u8 options | u16 fields | u16 scope fields | fields (u16 id, u16 length, u32 pen)
 * Anything that does not parse, or a checksum that does not match, and the
 * whole file is ignored with one log line: it is a cache, never a reason to
 * stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "state.h"

#define MAGIC "NFCSTATE"
#define FORMAT 2
#define MAX_STATE (256u << 20)

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	static int ready;
	uint32_t c = 0xffffffffu;

	if (!ready) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;

			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
		ready = 1;
	}
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

struct out {
	uint8_t *p;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const void *v, size_t n)
{
	if (o->failed)
		return;
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 65536;
		uint8_t *p;

		while (cap < o->len + n)
			cap *= 2;
		p = realloc(o->p, cap);
		if (!p) {
			o->failed = 1;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, v, n);
	o->len += n;
}

static void put_u8(struct out *o, uint8_t v)
{
	put(o, &v, 1);
}

static void put_u16(struct out *o, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	put(o, b, 2);
}

static void put_u32(struct out *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	put(o, b, 4);
}

static void put_stream(void *arg, struct fl_stream *s)
{
	struct out *o = arg;

	if (!s->ntmpl && !s->nsampler && !s->init_ms && !s->nifname)
		return;
	put_u8(o, s->key.family);
	put_u16(o, s->key.port);
	put_u32(o, s->key.domain);
	put(o, s->key.addr, 16);
	put_u8(o, (uint8_t)s->nsampler);
	for (unsigned i = 0; i < s->nsampler; i++) {
		put_u32(o, s->sampler[i].id);
		put_u32(o, s->sampler[i].interval);
	}
	put_u16(o, (uint16_t)s->nifname);
	for (size_t i = 0; i < s->nifname; i++) {
		size_t len = strlen(s->ifname[i].name);

		put_u32(o, s->ifname[i].index);
		put_u8(o, (uint8_t)len);
		put(o, s->ifname[i].name, len);
	}
	put_u32(o, (uint32_t)(s->init_ms >> 32));
	put_u32(o, (uint32_t)s->init_ms);
	put_u16(o, (uint16_t)s->ntmpl);
	for (size_t i = 0; i < s->ntmpl; i++) {
		const struct fl_tmpl *t = s->tmpl[i];

		put_u16(o, t->id);
		put_u8(o, t->options);
		put_u16(o, t->nfields);
		put_u16(o, t->nscope);
		for (uint16_t k = 0; k < t->nfields; k++) {
			put_u16(o, t->f[k].id);
			put_u16(o, t->f[k].len);
			put_u32(o, t->f[k].pen);
		}
	}
}

int fl_state_save(struct fl_table *tb, const char *path)
{
	struct nfc_ctx *ctx = fl_table_ctx(tb);
	struct out body = { 0 }, head = { 0 };
	char tmp[4200];
	int fd, rc = -1;

	fl_table_walk(tb, put_stream, &body);
	put(&head, MAGIC, 8);
	put_u32(&head, FORMAT);
	put_u32(&head, (uint32_t)body.len);
	put_u32(&head, crc32_ieee(body.p, body.len));
	if (body.failed || head.failed) {
		nfc_log(ctx, NFC_LOG_WARN, "cannot save templates to %s: out of memory", path);
		goto out;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		nfc_log_remote(ctx, NFC_LOG_WARN, "cannot save templates to %s: %s (set [core] state_dir to a "
		               "writable directory)", tmp, strerror(errno));
		goto out;
	}
	if (write(fd, head.p, head.len) != (ssize_t)head.len ||
	    (body.len && write(fd, body.p, body.len) != (ssize_t)body.len) || fsync(fd) < 0) {
		nfc_log_remote(ctx, NFC_LOG_WARN, "cannot save templates to %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		nfc_log_remote(ctx, NFC_LOG_WARN, "cannot save templates to %s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(body.p);
	free(head.p);
	return rc;
}

/* Parse the body; returns the templates it holds, or -1 when it does not
 * parse. With apply 0 nothing is touched (a first pass, so that a file whose
 * checksum matches but whose records do not parse is ignored whole, not
 * restored up to the fault); with apply 1 the streams and templates are
 * restored. */
static long parse_body(struct fl_table *tb, struct fl_cur *c, int apply)
{
	long restored = 0;

	while (c->left) {
		struct fl_key k;
		const uint8_t *addr;
		uint32_t hi, lo, smp[2 * FL_SAMPLERS];
		uint16_t port, n, nif;
		uint8_t nsmp;
		const uint8_t *ifs;
		struct fl_cur ifc;
		struct fl_stream *s = NULL;

		memset(&k, 0, sizeof(k));
		if (fl_u8(c, &k.family) < 0 || fl_u16(c, &port) < 0 || fl_u32(c, &k.domain) < 0 ||
		    !(addr = fl_take(c, 16)) || fl_u8(c, &nsmp) < 0 || nsmp > FL_SAMPLERS)
			return -1;
		for (unsigned i = 0; i < 2u * nsmp; i++)
			if (fl_u32(c, &smp[i]) < 0)
				return -1;
		/* interface names: walked once to check, again to apply */
		if (fl_u16(c, &nif) < 0 || nif > FL_IFNAMES)
			return -1;
		ifs = c->p;
		for (uint16_t i = 0; i < nif; i++) {
			uint8_t len;

			if (!fl_take(c, 4) || fl_u8(c, &len) < 0 || len > FL_IFNAME_MAX || !fl_take(c, len))
				return -1;
		}
		ifc.p = ifs;
		ifc.left = (size_t)(c->p - ifs);
		if (fl_u32(c, &hi) < 0 || fl_u32(c, &lo) < 0 || fl_u16(c, &n) < 0)
			return -1;
		if (k.family != AF_INET && k.family != AF_INET6 && k.family != 0)
			return -1;
		k.port = port;
		memcpy(k.addr, addr, 16);
		if (apply) {
			s = fl_stream_get(tb, &k);
			if (!s)
				return -1;
			pthread_mutex_lock(&s->lock);
			for (unsigned i = 0; i < nsmp; i++)
				fl_learn_sampler(tb, s, 1, smp[2 * i], smp[2 * i + 1]);
			for (uint16_t i = 0; i < nif; i++) {
				const uint8_t *q = fl_take(&ifc, 5);

				fl_learn_ifname(tb, s, fl_be32(q), fl_take(&ifc, q[4]), q[4]);
			}
			s->init_ms = (uint64_t)hi << 32 | lo;
		}
		for (uint16_t i = 0; i < n; i++) {
			uint16_t id, nf, ns;
			uint8_t opt;
			struct fl_tmpl *t, *got;
			int changed;

			if (fl_u16(c, &id) < 0 || fl_u8(c, &opt) < 0 || fl_u16(c, &nf) < 0 || fl_u16(c, &ns) < 0 ||
			    ns > nf || c->left < (size_t)nf * 8 || opt > 1) {
				if (s) {
					pthread_mutex_unlock(&s->lock);
					fl_stream_put(tb, s);
				}
				return -1;
			}
			if (!apply) {
				fl_take(c, (size_t)nf * 8);
				restored++;
				continue;
			}
			t = fl_tmpl_alloc(id, opt, nf, ns);
			for (uint16_t f = 0; f < nf; f++) {
				const uint8_t *q = fl_take(c, 8);

				if (t) {
					t->f[f].id = fl_be16(q);
					t->f[f].len = fl_be16(q + 2);
					t->f[f].pen = fl_be32(q + 4);
				}
			}
			if (!t)
				continue;
			got = fl_tmpl_publish(tb, s, t, &changed);
			if (got) {
				got->restored = 1;
				restored++;
			}
		}
		if (s) {
			pthread_mutex_unlock(&s->lock);
			fl_stream_put(tb, s);
		}
	}
	return restored;
}

void fl_state_load(struct fl_table *tb, const char *path)
{
	struct nfc_ctx *ctx = fl_table_ctx(tb);
	const char *why = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	struct fl_cur c;
	uint32_t blen;
	long n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno != ENOENT)
			nfc_log(ctx, NFC_LOG_WARN, "cannot read saved templates %s: %s", path, strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || st.st_size < 20 || (uint64_t)st.st_size > MAX_STATE) {
		why = "it is too short or too large";
		goto out;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf || read(fd, buf, (size_t)st.st_size) != st.st_size) {
		why = "it cannot be read whole";
		goto out;
	}
	if (memcmp(buf, MAGIC, 8) || fl_be32(buf + 8) != FORMAT) {
		why = "it is not a netflow-concentrator state file of this version";
		goto out;
	}
	blen = fl_be32(buf + 12);
	if (blen != (uint64_t)st.st_size - 20 || crc32_ieee(buf + 20, blen) != fl_be32(buf + 16)) {
		why = "its checksum does not match (torn or corrupt)";
		goto out;
	}
	c.p = buf + 20;
	c.left = blen;
	n = parse_body(tb, &c, 0);
	if (n >= 0) {
		c.p = buf + 20;
		c.left = blen;
		n = parse_body(tb, &c, 1);
	}
	if (n < 0) {
		why = "its records do not parse";
		goto out;
	}
	fl_table_count_restored(tb, (uint64_t)n);
	nfc_log(ctx, NFC_LOG_INFO, "restored %ld templates from %s (each replaced by the exporter's next)", n, path);
out:
	if (why)
		nfc_log(ctx, NFC_LOG_WARN, "saved templates %s ignored: %s", path, why);
	free(buf);
	close(fd);
}
