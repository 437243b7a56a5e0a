/*
 * nfc-replay: send NetFlow/IPFIX datagrams over UDP at full speed or at a
 * fixed rate, for benchmarks. Not a test: it reports, it does not assert.
 *
 * Sources of datagrams (combinable; the pool is sent round-robin):
 *   FILE.pcap      classic pcap (µs or ns), link types Ethernet (with VLAN
 *                  tags), Linux cooked v1/v2, raw IP, BSD loopback; IPv4 and
 *                  IPv6; every UDP payload (optionally only to --port)
 *   --raw FILE     one datagram: the whole file is the payload
 *   --gen-v5 N     N synthetic NetFlow v5 datagrams of 30 records each,
 *                  varied addresses, ports, protocols and counters
 *
 * v5 datagrams get a continuous flow_sequence rewritten as they are sent, so
 * a collector sees no sequence gap however often the pool is repeated; so do
 * NetFlow v9 (package sequence: one per datagram) and IPFIX (sequence: data
 * records sent before the message) datagrams, per source id / observation
 * domain.
 *
 * Records are counted from the v5 header count, and for v9/IPFIX by walking
 * the sets with the templates the pool carries (fixed-length templates; a
 * data set of a variable-length template is not counted): data records of
 * options templates are not counted as records, since collectors do not
 * forward them as flows. Template datagrams are sent before the data: every
 * template and options template of the pool, in template-only datagrams of
 * their own (not counted in the figures), from every source socket, then a
 * pause of 100 ms before the timed replay starts. The pool's own template
 * datagrams are then replayed where the exporter put them (its refreshes).
 *
 * The last line of output is machine-readable:
 *   sent datagrams=N records=N packets=N seconds=S datagrams_per_s=R records_per_s=R
 * (packets: the sum of the records' packet counters - v5 dPkts, v9/IPFIX
 * element 2 - for collectors that only report aggregates)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define MAX_BATCH 1024
#define V5_HDR 24
#define V5_REC 48
#define V5_PER_DGRAM 30

struct dgram {
	uint8_t *p;
	uint32_t len;
	uint16_t version;
	uint32_t records; /* flow records: v5 header count, v9/IPFIX data records
			   * of non-options templates */
	uint32_t seq_units; /* what it adds to its sequence number: v5 flows,
			     * v9 1, IPFIX every data record */
	uint32_t domain;  /* v9 source id, IPFIX observation domain */
	uint64_t packets; /* sum of the records' packet counters, to check
			   * collectors that only report aggregates (nfacctd) */
	int has_templates;
};

struct pool {
	struct dgram *d;
	size_t n, cap;
	size_t skipped; /* fragments, truncated captures, non-UDP */
};

/* v9/IPFIX: what a template says about its records. */
struct tmpl_info {
	uint16_t version, id;
	uint32_t domain;
	uint32_t reclen;   /* 0: variable length (records not counted) */
	int options;
	int pkt_off, pkt_len; /* packet counter (element 2), -1: none */
};

static struct tmpl_info *tmpls;
static size_t ntmpls, captmpls;

static volatile sig_atomic_t stop_flag;
static int quiet;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nfc-replay: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void pool_add(struct pool *pl, const uint8_t *p, size_t len)
{
	struct dgram *d;

	if (len == 0 || len > 65535) {
		pl->skipped++;
		return;
	}
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? pl->cap * 2 : 1024;
		pl->d = realloc(pl->d, pl->cap * sizeof(*pl->d));
		if (!pl->d)
			die("%s", "out of memory");
	}
	d = &pl->d[pl->n++];
	d->p = malloc(len);
	if (!d->p)
		die("%s", "out of memory");
	memcpy(d->p, p, len);
	d->len = (uint32_t)len;
	d->version = len >= 2 ? rd16(p) : 0;
	d->records = (len >= V5_HDR && rd16(p) == 5) ? rd16(p + 2) : 0;
	d->seq_units = d->records;
	d->domain = 0;
	d->has_templates = 0;
	d->packets = 0;
	if (d->records && V5_HDR + (size_t)d->records * V5_REC <= len) {
		for (size_t i = 0; i < d->records; i++) {
			const uint8_t *q = p + V5_HDR + i * V5_REC + 16;

			d->packets += (uint32_t)(q[0] << 24 | q[1] << 16 | q[2] << 8 | q[3]);
		}
	}
}

/* ---- v9 / IPFIX: templates, record counts, template-only datagrams ---- */

#define V9_HDR 20
#define IPFIX_HDR 16

static struct tmpl_info *tmpl_find(uint16_t version, uint32_t domain, uint16_t id)
{
	for (size_t i = 0; i < ntmpls; i++)
		if (tmpls[i].version == version && tmpls[i].domain == domain && tmpls[i].id == id)
			return &tmpls[i];
	return NULL;
}

/* Walk the template records of one (options) template set, learning each
 * (a redefinition replaces). Returns the number of template records. */
static unsigned template_set(uint16_t version, uint32_t domain, int options, const uint8_t *p, size_t len)
{
	size_t off = 0;
	unsigned n = 0;

	while (len - off >= 4) {
		uint16_t id = rd16(p + off), count = rd16(p + off + 2), nscope = 0;
		struct tmpl_info t = { version, id, domain, 0, options, -1, 0 };
		int varlen = 0;

		if (id == 0 && count == 0)
			break; /* padding */
		off += 4;
		if (version == 9 && options) {
			if (len - off < 2)
				break;
			nscope = count / 4;
			count = (uint16_t)(nscope + rd16(p + off) / 4);
			off += 2;
		} else if (options) {
			if (len - off < 2)
				break;
			off += 2; /* scope field count */
		}
		if (id < 256 || count == 0)
			break; /* withdrawal, or not a template this tool follows */
		for (unsigned i = 0; i < count; i++) {
			uint16_t fid, flen;

			if (len - off < 4)
				return n;
			fid = rd16(p + off);
			flen = rd16(p + off + 2);
			off += 4;
			if (version == 10 && (fid & 0x8000)) {
				if (len - off < 4)
					return n;
				off += 4;
				fid &= 0x7fff;
			} else if (fid == 2 && flen <= 8 && i >= nscope && t.pkt_off < 0) {
				t.pkt_off = (int)t.reclen;
				t.pkt_len = flen;
			}
			if (flen == 65535)
				varlen = 1;
			else
				t.reclen += flen;
		}
		if (varlen)
			t.reclen = 0;
		struct tmpl_info *old = tmpl_find(version, domain, id);

		if (old) {
			*old = t;
		} else {
			if (ntmpls == captmpls) {
				captmpls = captmpls ? 2 * captmpls : 16;
				tmpls = realloc(tmpls, captmpls * sizeof(*tmpls));
				if (!tmpls)
					die("%s", "out of memory");
			}
			tmpls[ntmpls++] = t;
		}
		n++;
	}
	return n;
}

/* Walk the sets of a v9/IPFIX datagram: with learn, its templates; else
 * count its records with what was learnt. Returns 0, -1 when malformed. */
static int walk_sets(struct dgram *d, int learn)
{
	const uint8_t *p = d->p;
	size_t len = d->len, off;
	uint16_t version = d->version;

	if (version == 9 && len >= V9_HDR) {
		off = V9_HDR;
		d->domain = rd32(p + 16);
	} else if (version == 10 && len >= IPFIX_HDR) {
		off = IPFIX_HDR;
		if (rd16(p + 2) < len)
			len = rd16(p + 2);
		d->domain = rd32(p + 12);
	} else {
		return -1;
	}
	if (!learn) {
		d->records = 0;
		d->seq_units = version == 9 ? 1 : 0;
		d->packets = 0;
	}
	while (len - off >= 4) {
		uint16_t sid = rd16(p + off), slen = rd16(p + off + 2);
		const uint8_t *body = p + off + 4;

		if (slen < 4 || slen > len - off)
			return -1;
		if ((version == 9 && sid <= 1) || (version == 10 && (sid == 2 || sid == 3))) {
			d->has_templates = 1;
			if (learn)
				template_set(version, d->domain, version == 9 ? sid == 1 : sid == 3, body, slen - 4u);
		} else if (sid >= 256 && !learn) {
			const struct tmpl_info *t = tmpl_find(version, d->domain, sid);
			size_t n = t && t->reclen ? (slen - 4u) / t->reclen : 0;

			if (version == 10)
				d->seq_units += (uint32_t)n;
			if (t && !t->options) {
				d->records += (uint32_t)n;
				for (size_t i = 0; t->pkt_off >= 0 && i < n; i++) {
					const uint8_t *q = body + i * t->reclen + t->pkt_off;
					uint64_t v = 0;

					for (int k = 0; k < t->pkt_len; k++)
						v = v << 8 | q[k];
					d->packets += v;
				}
			}
		}
		off += slen;
	}
	return 0;
}

/* Count the records of every v9/IPFIX datagram of the pool, with the
 * templates found anywhere in it (the replay sends them first). */
static void pool_count(struct pool *pl)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->d[i].version == 9 || pl->d[i].version == 10)
			walk_sets(&pl->d[i], 1);
	for (size_t i = 0; i < pl->n; i++)
		if (pl->d[i].version == 9 || pl->d[i].version == 10)
			walk_sets(&pl->d[i], 0);
}

/* A template-only copy of a datagram (its header and template sets), or
 * NULL when it has none. */
static struct dgram *template_copy(const struct dgram *d)
{
	size_t hdr = d->version == 9 ? V9_HDR : IPFIX_HDR, off = hdr, len = d->len, out = hdr;
	unsigned count = 0;
	struct dgram *c;

	if (d->version == 10 && rd16(d->p + 2) < len)
		len = rd16(d->p + 2);
	c = calloc(1, sizeof(*c));
	if (!c || !(c->p = malloc(d->len)))
		die("%s", "out of memory");
	memcpy(c->p, d->p, hdr);
	while (len - off >= 4) {
		uint16_t sid = rd16(d->p + off), slen = rd16(d->p + off + 2);

		if (slen < 4 || slen > len - off)
			break;
		if ((d->version == 9 && sid <= 1) || (d->version == 10 && (sid == 2 || sid == 3))) {
			memcpy(c->p + out, d->p + off, slen);
			out += slen;
			count += template_set(d->version, d->domain, d->version == 9 ? sid == 1 : sid == 3,
			                      d->p + off + 4, slen - 4u);
		}
		off += slen;
	}
	if (out == hdr) {
		free(c->p);
		free(c);
		return NULL;
	}
	if (d->version == 9)
		wr16(c->p + 2, (uint16_t)count);
	else
		wr16(c->p + 2, (uint16_t)out);
	c->len = (uint32_t)out;
	c->version = d->version;
	c->domain = d->domain;
	c->seq_units = d->version == 9 ? 1 : 0;
	return c;
}

/* Sequence numbers of v9/IPFIX datagrams, per version and domain. */
struct seqstate {
	uint16_t version;
	uint32_t domain, next;
};
static struct seqstate seqs[64];
static size_t nseqs;

static uint32_t *seq_slot(const struct dgram *d)
{
	for (size_t i = 0; i < nseqs; i++)
		if (seqs[i].version == d->version && seqs[i].domain == d->domain)
			return &seqs[i].next;
	if (nseqs == sizeof(seqs) / sizeof(seqs[0]))
		return NULL;
	seqs[nseqs].version = d->version;
	seqs[nseqs].domain = d->domain;
	seqs[nseqs].next = 0;
	return &seqs[nseqs++].next;
}

/* Write the datagram's sequence number before it is sent (v9 and IPFIX;
 * v5 is done by the caller); returns what it was advanced by. */
static uint32_t seq_stamp(struct dgram *d)
{
	uint32_t *next;

	if (d->version != 9 && d->version != 10)
		return 0;
	next = seq_slot(d);
	if (!next)
		return 0;
	wr32(d->p + (d->version == 9 ? 12 : 8), *next);
	*next += d->seq_units;
	return d->seq_units;
}

static void seq_unstamp(struct dgram *d)
{
	uint32_t *next;

	if ((d->version == 9 || d->version == 10) && (next = seq_slot(d)))
		*next -= d->seq_units;
}

/* ---- pcap ------------------------------------------------------------- */

/* The UDP payload of one IPv4 or IPv6 packet, if it is a whole datagram to
 * `port` (0: any). Returns its length or -1. */
static long ip_udp_payload(const uint8_t *p, size_t len, unsigned port, const uint8_t **out)
{
	unsigned proto;
	size_t off;

	if (len < 1)
		return -1;
	if ((p[0] >> 4) == 4) {
		size_t ihl = (size_t)(p[0] & 0xf) * 4;

		if (len < 20 || ihl < 20 || len < ihl)
			return -1;
		if (rd16(p + 6) & 0x3fff) /* MF set or offset != 0: a fragment */
			return -1;
		if (rd16(p + 2) < len) /* trailing Ethernet padding */
			len = rd16(p + 2);
		proto = p[9];
		off = ihl;
	} else if ((p[0] >> 4) == 6) {
		if (len < 40)
			return -1;
		proto = p[6];
		off = 40;
		if ((size_t)rd16(p + 4) + 40 < len)
			len = (size_t)rd16(p + 4) + 40;
		/* hop-by-hop, routing, destination options; a fragment header
		 * (44) means a fragment: skipped */
		while (proto == 0 || proto == 43 || proto == 60) {
			if (off + 8 > len)
				return -1;
			proto = p[off];
			off += ((size_t)p[off + 1] + 1) * 8;
		}
	} else {
		return -1;
	}
	if (proto != 17 || off + 8 > len)
		return -1;
	if (port && rd16(p + off + 2) != port)
		return -1;
	if (rd16(p + off + 4) < 8 || off + rd16(p + off + 4) > len)
		return -1; /* truncated by the capture's snaplen */
	*out = p + off + 8;
	return (long)rd16(p + off + 4) - 8;
}

/* The network-layer packet inside one captured frame, by link type. */
static const uint8_t *link_payload(unsigned linktype, const uint8_t *p, size_t len, size_t *outlen)
{
	size_t off;
	unsigned et;

	switch (linktype) {
	case 1: /* Ethernet */
		if (len < 14)
			return NULL;
		et = rd16(p + 12);
		off = 14;
		while ((et == 0x8100 || et == 0x88a8) && off + 4 <= len) {
			et = rd16(p + off + 2);
			off += 4;
		}
		if (et != 0x0800 && et != 0x86dd)
			return NULL;
		break;
	case 113: /* Linux cooked v1 */
		if (len < 16 || (rd16(p + 14) != 0x0800 && rd16(p + 14) != 0x86dd))
			return NULL;
		off = 16;
		break;
	case 276: /* Linux cooked v2 */
		if (len < 20 || (rd16(p) != 0x0800 && rd16(p) != 0x86dd))
			return NULL;
		off = 20;
		break;
	case 0: /* BSD loopback: 4-byte host-order family */
		off = 4;
		break;
	case 12: case 14: case 101: case 228: case 229: /* raw IP */
		off = 0;
		break;
	default:
		return NULL;
	}
	if (off > len)
		return NULL;
	*outlen = len - off;
	return p + off;
}

static uint32_t rd32x(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static void load_pcap(struct pool *pl, const char *path, unsigned port)
{
	struct stat st;
	const uint8_t *m, *p, *end;
	uint32_t magic, linktype;
	int fd, swap;
	size_t before = pl->n;

	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) < 0)
		die("cannot open %s", path);
	if (st.st_size < 24)
		die("%s: too short for a pcap file", path);
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		die("cannot map %s", path);
	close(fd);
	memcpy(&magic, m, 4);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = 0;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = 1;
	else
		die("%s: not a classic pcap file (pcapng is not read: convert with "
		    "'editcap -F pcap')", path);
	linktype = rd32x(m + 20, swap) & 0x0fffffff;
	p = m + 24;
	end = m + st.st_size;
	while (p + 16 <= end) {
		uint32_t caplen = rd32x(p + 8, swap);
		const uint8_t *net, *udp;
		size_t netlen;
		long n;

		p += 16;
		if (caplen > (size_t)(end - p))
			break;
		net = link_payload(linktype, p, caplen, &netlen);
		n = net ? ip_udp_payload(net, netlen, port, &udp) : -1;
		if (n > 0)
			pool_add(pl, udp, (size_t)n);
		else
			pl->skipped++;
		p += caplen;
	}
	munmap((void *)m, (size_t)st.st_size);
	if (!quiet)
		fprintf(stderr, "nfc-replay: %s: %zu datagrams\n", path, pl->n - before);
}

static void load_raw(struct pool *pl, const char *path)
{
	uint8_t buf[65536];
	size_t n;
	FILE *f = fopen(path, "rb");

	if (!f)
		die("cannot open %s", path);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	pool_add(pl, buf, n);
}

/* ---- v5 generator ----------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	/* xorshift64*: reproducible from run to run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static void gen_v5(struct pool *pl, size_t ndgrams)
{
	uint8_t b[V5_HDR + V5_PER_DGRAM * V5_REC];
	struct timespec now;
	size_t i, r;

	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < ndgrams; i++) {
		uint32_t uptime = 3600000 + (uint32_t)i;

		memset(b, 0, sizeof(b));
		wr16(b, 5);
		wr16(b + 2, V5_PER_DGRAM);
		wr32(b + 4, uptime);
		wr32(b + 8, (uint32_t)now.tv_sec);
		wr32(b + 12, (uint32_t)now.tv_nsec);
		/* flow_sequence (16) is set when sent */
		b[20] = 0;   /* engine type */
		b[21] = 1;   /* engine id */
		for (r = 0; r < V5_PER_DGRAM; r++) {
			uint8_t *q = b + V5_HDR + r * V5_REC;
			uint32_t x = rnd(), y = rnd();
			static const uint8_t protos[] = { 6, 6, 6, 17, 17, 1 };
			uint8_t proto = protos[x % sizeof(protos)];
			uint32_t pkts = 1 + rnd() % 5000;

			wr32(q, 0x0a000000 | (x & 0x00ffffff));       /* 10.x.y.z */
			wr32(q + 4, 0xc0a80000 | (y & 0xffff));       /* 192.168.x.y */
			wr32(q + 8, 0x0a0000fe);                      /* next hop */
			wr16(q + 12, 1 + (x >> 24) % 48);             /* input */
			wr16(q + 14, 1 + (y >> 24) % 48);             /* output */
			wr32(q + 16, pkts);
			wr32(q + 20, pkts * (40 + rnd() % 1460));
			wr32(q + 24, uptime - 60000 + rnd() % 30000); /* first */
			wr32(q + 28, uptime - rnd() % 30000);         /* last */
			if (proto != 1) {
				wr16(q + 32, 1024 + rnd() % 64511);
				wr16(q + 34, (y & 1) ? 443 : rnd() % 1024);
			} else {
				wr16(q + 34, 0x0800);                 /* ICMP echo */
			}
			q[37] = proto == 6 ? 0x1b : 0;                /* tcp flags */
			q[38] = proto;
			q[39] = (x >> 16) & 0xfc;                     /* tos */
			wr16(q + 40, 64512 + rnd() % 1000);           /* src as */
			wr16(q + 42, 15169);                          /* dst as */
			q[44] = 8 + rnd() % 17;
			q[45] = 16 + rnd() % 9;
		}
		pool_add(pl, b, sizeof(b));
	}
}

/* ---- sending ---------------------------------------------------------- */

/* Take back the sequence numbers of a datagram that was not sent. */
static void unstamp(struct dgram *d, uint32_t *v5seq)
{
	if (d->version == 5)
		*v5seq -= d->records;
	else
		seq_unstamp(d);
}

/* ---- timing ---------------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned long long parse_count(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		die("bad number: %s", s);
	if (*end == 'k' || *end == 'K')
		v *= 1e3;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6;
	else if (*end == 'G' || *end == 'g')
		v *= 1e9;
	return (unsigned long long)v;
}

static void usage(void)
{
	fputs("usage: nfc-replay [options] [FILE.pcap...]\n"
	      "  -d, --dest HOST:PORT     where to send (default 127.0.0.1:2055; [v6]:port)\n"
	      "  -r, --rate N             datagrams per second (default 0: full speed; k/M suffixes)\n"
	      "  -n, --count N            datagrams to send in total (default: the pool once)\n"
	      "  -t, --duration S         stop after S seconds (the pool repeats)\n"
	      "  -b, --batch N            datagrams per sendmmsg (default 64, at most 1024)\n"
	      "  -s, --sockets N          source sockets, i.e. source ports (default 1)\n"
	      "  -p, --port P             from pcaps, only UDP datagrams to port P\n"
	      "      --raw FILE           add one datagram: the whole file\n"
	      "      --gen-v5 N           add N synthetic v5 datagrams of 30 records\n"
	      "  -q, --quiet              only the final line\n"
	      "      --info               print what the pool holds (datagrams, records, packets,\n"
	      "                           templates) and exit without sending\n", stderr);
	exit(2);
}

static int open_dest(const char *dest, unsigned nsock, int *fds)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res;
	unsigned i;
	int sndbuf = 4 << 20;

	if (dest[0] == '[') {
		const char *e = strchr(dest, ']');

		if (!e || e[1] != ':' || (size_t)(e - dest - 1) >= sizeof(host))
			die("bad destination %s (write [addr]:port)", dest);
		memcpy(host, dest + 1, (size_t)(e - dest - 1));
		host[e - dest - 1] = 0;
		port = e + 2;
	} else {
		const char *c = strrchr(dest, ':');

		if (!c || (size_t)(c - dest) >= sizeof(host))
			die("bad destination %s (write host:port)", dest);
		memcpy(host, dest, (size_t)(c - dest));
		host[c - dest] = 0;
		port = c + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		die("cannot resolve %s", dest);
	for (i = 0; i < nsock; i++) {
		fds[i] = socket(res->ai_family, SOCK_DGRAM, 0);
		if (fds[i] < 0)
			die("socket: %s", strerror(errno));
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
		/* Connected: no route lookup per datagram. */
		if (connect(fds[i], res->ai_addr, res->ai_addrlen) < 0)
			die("connect: %s", strerror(errno));
	}
	freeaddrinfo(res);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dest", required_argument, NULL, 'd' },
		{ "rate", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 't' },
		{ "batch", required_argument, NULL, 'b' },
		{ "sockets", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "raw", required_argument, NULL, 'R' },
		{ "gen-v5", required_argument, NULL, 'G' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "info", no_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pool pl = { 0 }, prime = { 0 };
	const char *dest = "127.0.0.1:2055";
	double rate = 0, duration = 0, t0, t, next_report;
	unsigned long long count = 0, sent = 0, records = 0, packets = 0, errors = 0;
	unsigned batch = 64, nsock = 1, port = 0, sock = 0;
	int fds[MAX_SOCKETS], info = 0, c, have_count = 0;
	static struct mmsghdr msgs[MAX_BATCH];
	static struct iovec iov[MAX_BATCH];
	uint32_t v5seq = 0;
	size_t pos = 0;

	while ((c = getopt_long(argc, argv, "d:r:n:t:b:s:p:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dest = optarg; break;
		case 'r': rate = (double)parse_count(optarg); break;
		case 'n': count = parse_count(optarg); have_count = 1; break;
		case 't': duration = strtod(optarg, NULL); break;
		case 'b': batch = (unsigned)parse_count(optarg); break;
		case 's': nsock = (unsigned)parse_count(optarg); break;
		case 'p': port = (unsigned)parse_count(optarg); break;
		case 'R': load_raw(&pl, optarg); break;
		case 'G': gen_v5(&pl, (size_t)parse_count(optarg)); break;
		case 'q': quiet = 1; break;
		case 'I': info = 1; break;
		default: usage();
		}
	}
	for (; optind < argc; optind++)
		load_pcap(&pl, argv[optind], port);
	if (pl.n == 0)
		die("%s", "no datagrams: give a pcap, --raw FILE or --gen-v5 N");
	pool_count(&pl);
	for (size_t i = 0; i < pl.n; i++) {
		struct dgram *tc;
		size_t k, hdr = pl.d[i].version == 9 ? V9_HDR : IPFIX_HDR;

		if (!pl.d[i].has_templates || !(tc = template_copy(&pl.d[i])))
			continue;
		for (k = 0; k < prime.n; k++)
			if (prime.d[k].len == tc->len && prime.d[k].version == tc->version &&
			    !memcmp(prime.d[k].p + hdr, tc->p + hdr, tc->len - hdr))
				break;
		if (k < prime.n) {
			free(tc->p);
			free(tc);
			continue;
		}
		if (prime.n == prime.cap) {
			prime.cap = prime.cap ? 2 * prime.cap : 16;
			prime.d = realloc(prime.d, prime.cap * sizeof(*prime.d));
			if (!prime.d)
				die("%s", "out of memory");
		}
		prime.d[prime.n++] = *tc;
		free(tc);
	}
	if (info) {
		for (size_t i = 0; i < pl.n; i++) {
			records += pl.d[i].records;
			packets += pl.d[i].packets;
		}
		printf("pool datagrams=%zu records=%llu packets=%llu templates=%zu template_datagrams=%zu\n", pl.n,
		       records, packets, ntmpls, prime.n);
		return 0;
	}
	if (batch < 1 || batch > MAX_BATCH || nsock < 1 || nsock > MAX_SOCKETS)
		usage();
	if (!have_count && duration <= 0)
		count = pl.n;
	/* A datagram appears at most once per sendmmsg: its sequence number is
	 * patched in place before the call. */
	if (batch > pl.n)
		batch = (unsigned)pl.n;
	if (pl.skipped && !quiet)
		fprintf(stderr, "nfc-replay: %zu frames skipped (not whole UDP datagrams)\n", pl.skipped);

	open_dest(dest, nsock, fds);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);

	/* Templates first: every template of the pool, from every source
	 * socket, then a moment for the collector to learn them. */
	if (prime.n) {
		struct timespec pause = { 0, 100 * 1000 * 1000 };

		for (unsigned k = 0; k < nsock; k++)
			for (size_t i = 0; i < prime.n; i++) {
				seq_stamp(&prime.d[i]);
				if (send(fds[k], prime.d[i].p, prime.d[i].len, 0) < 0 && errno != ECONNREFUSED && !quiet)
					fprintf(stderr, "nfc-replay: template datagram: %s\n", strerror(errno));
			}
		nanosleep(&pause, NULL);
		if (!quiet)
			fprintf(stderr, "nfc-replay: %zu template datagrams sent first (from each of %u sockets)\n",
			        prime.n, nsock);
	}

	t0 = now_s();
	next_report = t0 + 1;
	while (!stop_flag) {
		unsigned n = batch, i;
		int rc;

		t = now_s();
		if (duration > 0 && t - t0 >= duration)
			break;
		if (count && sent >= count)
			break;
		if (count && count - sent < n)
			n = (unsigned)(count - sent);
		if (rate > 0) {
			/* Send what is due by now; sleep until the next one is. */
			double due = (t - t0) * rate - (double)sent;

			if (due < 1) {
				struct timespec ts = { 0, (long)((1 - due) / rate * 1e9) };

				if (ts.tv_nsec > 20000)
					nanosleep(&ts, NULL);
				continue;
			}
			if (due < n)
				n = (unsigned)due;
		}
		for (i = 0; i < n; i++) {
			struct dgram *d = &pl.d[pos];

			if (d->version == 5 && d->records) {
				wr32(d->p + 16, v5seq);
				v5seq += d->records;
			} else {
				seq_stamp(d);
			}
			iov[i].iov_base = d->p;
			iov[i].iov_len = d->len;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			if (++pos == pl.n)
				pos = 0;
		}
		rc = sendmmsg(fds[sock], msgs, n, 0);
		if (rc < 0) {
			/* Nothing went: rewind so the same datagrams go again
			 * with the same sequence numbers. */
			for (i = 0; i < n; i++) {
				pos = pos ? pos - 1 : pl.n - 1;
				unstamp(&pl.d[pos], &v5seq);
			}
			if (errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR)
				die("sendmmsg: %s", strerror(errno));
			errors++;
			continue;
		}
		for (i = 0; i < (unsigned)rc; i++) {
			const struct dgram *d = &pl.d[(pos + pl.n - n + i) % pl.n];

			records += d->records;
			packets += d->packets;
		}
		/* A short send: rewind over what was not sent. */
		for (i = (unsigned)rc; i < n; i++) {
			pos = pos ? pos - 1 : pl.n - 1;
			unstamp(&pl.d[pos], &v5seq);
		}
		sent += (unsigned)rc;
		if (nsock > 1)
			sock = (sock + 1) % nsock;
		if (!quiet && t >= next_report) {
			fprintf(stderr, "nfc-replay: %llu datagrams, %llu records in %.1f s\n", sent,
				records, t - t0);
			next_report += 1;
		}
	}
	t = now_s() - t0;
	if (errors && !quiet)
		fprintf(stderr, "nfc-replay: %llu send calls retried (ENOBUFS/ECONNREFUSED)\n", errors);
	printf("sent datagrams=%llu records=%llu packets=%llu seconds=%.3f datagrams_per_s=%.0f "
	       "records_per_s=%.0f\n", sent, records, packets, t, t > 0 ? (double)sent / t : 0,
	       t > 0 ? (double)records / t : 0);
	return 0;
}
