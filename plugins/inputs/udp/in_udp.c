/*
 * in_udp: the UDP input. Receives NetFlow/IPFIX datagrams with recvmmsg on
 * one or more sockets and hands them to the core in batches.
 *
 * Shape:
 *  - workers=N opens N sockets bound to the same address with SO_REUSEPORT;
 *    the core runs one thread per worker and calls run() on each. The kernel
 *    spreads datagrams over the sockets by a hash of the 4-tuple, so one
 *    exporter (one source address and port) always lands on one worker: its
 *    sequence numbers and templates stay on one thread, but a single
 *    exporter is never spread over several cores.
 *  - Every buffer is allocated in open(): per worker `batch` receive buffers
 *    of max_datagram bytes, the mmsghdr/iovec vectors, the control buffers and
 *    the nfc_datagram array handed to nfc_submit(). run() does not allocate.
 *  - Kernel drops are read from the SO_RXQ_OVFL control message (a cumulative
 *    per-socket counter) and reported as deltas with nfc_worker_drops().
 *  - Each datagram carries the time the kernel received it (SO_TIMESTAMPNS),
 *    so records queued in the socket buffer while the worker was busy keep
 *    their arrival time; one clock_gettime() per recvmmsg() call is the
 *    fallback when a message has no timestamp.
 *  - SO_RCVTIMEO bounds each wait to UDP_POLL_MS, so run() sees
 *    nfc_worker_stopping() in time; on such a timeout it calls nfc_submit()
 *    with no datagrams, so a core that holds records back to fill larger
 *    batches can flush them when the traffic pauses.
 *  - A call that returned less than half a batch is followed by a short
 *    sleep (coalesce_us) before the next: a busy exporter's datagrams then
 *    arrive in fuller batches with several times fewer wake-ups, each of
 *    which would preempt the output thread on a shared core. Light traffic
 *    pays at most that delay once per datagram.
 *
 * max_datagram defaults to 65535, the largest UDP payload: nothing legal is
 * ever truncated. The memory cost is address space, not resident memory: a
 * 1500-byte datagram dirties one page of its 64 KiB slot, so 64 slots of
 * Ethernet-sized datagrams keep ~256 KiB resident per worker. A smaller value
 * still works; a datagram larger than it is flagged truncated (MSG_TRUNC) and
 * the core counts and drops it.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "nfc/plugin.h"

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef SO_RCVBUFFORCE
#define SO_RCVBUFFORCE 33
#endif

/* How long a recvmmsg() blocks before run() checks nfc_worker_stopping(). */
#define UDP_POLL_MS 200
/* Receive slots are spaced by max_datagram rounded up to a cache line, plus
 * one line, so slot headers do not all fall into the same cache sets. */
#define UDP_SLOT_ALIGN 64

/* One socket and everything its worker needs, allocated in open(). */
struct udp_sock {
	int fd;
	uint8_t *bufs;              /* batch slots of `stride` bytes */
	struct mmsghdr *msgs;       /* [batch] */
	struct iovec *iov;          /* [batch] */
	struct nfc_datagram *dgs;   /* [batch]: msg_name points into each */
	uint8_t *ctrl;              /* [batch] control buffers of ctrl_len */
	uint32_t ovfl;              /* last SO_RXQ_OVFL value seen */
};

struct udp_in {
	/* parameters, written by the core */
	char *bind;
	long long port;
	unsigned long long rcvbuf;
	long long workers;
	long long batch;
	long long coalesce_us;
	unsigned long long max_datagram;

	/* state */
	struct nfc_ctx *ctx;
	struct udp_sock *socks;
	unsigned nsocks;
	size_t stride;
	size_t ctrl_len;
	struct sockaddr_storage addr; /* what was bound */
	socklen_t addrlen;
	int dual_stack;               /* bound to :: with IPV6_V6ONLY=0 */
	int rcvbuf_got;               /* kernel's SO_RCVBUF (doubled) value */
	char addrtext[INET6_ADDRSTRLEN + 8];
};

#define P(m) offsetof(struct udp_in, m)
static const struct nfc_param udp_params[] = {
	{ "bind", NFC_PARAM_STRING, "0.0.0.0", 0, P(bind), 0, 0,
	  "Address to listen on: an IPv4 or IPv6 literal or a host name. "
	  "\"::\" listens on IPv6 and IPv4 (dual stack)." },
	{ "port", NFC_PARAM_INT, "2055", 0, P(port), 1, 65535, "UDP port." },
	{ "rcvbuf", NFC_PARAM_SIZE, "32M", 0, P(rcvbuf), 4096, 1LL << 30,
	  "Socket receive buffer per worker (SO_RCVBUF; SO_RCVBUFFORCE when "
	  "net.core.rmem_max is lower and the daemon may override it)." },
	{ "workers", NFC_PARAM_INT, "1", 0, P(workers), 1, 32,
	  "Receiving threads, one SO_REUSEPORT socket each." },
	{ "batch", NFC_PARAM_INT, "64", 0, P(batch), 1, 1024,
	  "Datagrams received per recvmmsg() call." },
	{ "coalesce_us", NFC_PARAM_INT, "200", 0, P(coalesce_us), 0, 100000,
	  "After a recvmmsg() call that returned less than half a batch, wait this many "
	  "microseconds before the next, so busy exporters are read in fuller batches "
	  "with fewer wake-ups (0: never wait)." },
	{ "max_datagram", NFC_PARAM_SIZE, "65535", 0, P(max_datagram), 512, 65535,
	  "Largest datagram accepted whole; larger ones are counted as truncated." },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL },
};
#undef P

/* "a.b.c.d:port" or "[v6]:port" of a socket address. */
static void udp_addr_text(const struct sockaddr *sa, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, outlen, "[%s]:%u", host, port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, outlen, "%s:%u", host, port);
	}
}

/* Printable size in the unit a user would write (rcvbuf). */
static void udp_size_text(unsigned long long n, char *out, size_t outlen)
{
	if (n >= (1ULL << 20) && n % (1ULL << 20) == 0)
		snprintf(out, outlen, "%llu MiB", n >> 20);
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, outlen, "%llu KiB", n >> 10);
	else
		snprintf(out, outlen, "%llu bytes", n);
}

static int udp_check(void *inst, struct nfc_ctx *ctx)
{
	struct udp_in *u = inst;

	if (!u->bind || !u->bind[0]) {
		nfc_config_error(ctx, "bind", "empty address: write 0.0.0.0 (all IPv4), :: (IPv4 and IPv6) "
				 "or one address of this host");
		return NFC_EINVAL;
	}
	return NFC_OK;
}

/*
 * Resolve `bind` into u->addr. Literals are taken as they are; a host name is
 * resolved and its addresses tried in the resolver's order (RFC 6724) until
 * one can be bound, which the caller does through `try`.
 */
static int udp_resolve(struct udp_in *u, struct addrinfo **res)
{
	struct addrinfo hints;
	char port[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_protocol = IPPROTO_UDP;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%lld", u->port);

	/* Literals first, so "::" or "0.0.0.0" never reach the resolver. */
	hints.ai_flags |= AI_NUMERICHOST;
	rc = getaddrinfo(u->bind, port, &hints, res);
	if (rc == 0)
		return NFC_OK;
	hints.ai_flags &= ~AI_NUMERICHOST;
	rc = getaddrinfo(u->bind, port, &hints, res);
	if (rc != 0) {
		nfc_log(u->ctx, NFC_LOG_ERR, "cannot resolve bind=%s: %s; write an IPv4 or IPv6 address "
			"in [%s] bind", u->bind, gai_strerror(rc), nfc_ctx_name(u->ctx));
		return NFC_EINVAL;
	}
	return NFC_OK;
}

/*
 * Set the receive buffer. The kernel doubles the value (for its bookkeeping)
 * and caps it at twice net.core.rmem_max; SO_RCVBUFFORCE ignores the cap when
 * the process has CAP_NET_ADMIN. Warn once when the result is still short.
 */
static void udp_set_rcvbuf(struct udp_in *u, int fd, int warn)
{
	int want = (int)u->rcvbuf;
	int got = 0;
	socklen_t len = sizeof(got);
	char a[32], b[32];

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 && got / 2 < want) {
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want));
		len = sizeof(got);
		getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len);
	}
	u->rcvbuf_got = got;
	if (warn && got / 2 < want) {
		udp_size_text(u->rcvbuf, a, sizeof(a));
		udp_size_text((unsigned long long)got / 2, b, sizeof(b));
		nfc_log(u->ctx, NFC_LOG_WARN,
			"rcvbuf: asked for %s, the kernel granted %s (capped by net.core.rmem_max); "
			"bursts may be dropped. Raise the cap with 'sysctl -w net.core.rmem_max=%llu' "
			"or run with CAP_NET_ADMIN", a, b, u->rcvbuf);
	}
}

/* Open and bind one socket. Returns the descriptor or -errno. */
static int udp_socket(struct udp_in *u, const struct sockaddr *sa, socklen_t salen, int reuseport,
		      int first)
{
	struct timeval tv = { .tv_sec = 0, .tv_usec = UDP_POLL_MS * 1000 };
	int one = 1, zero = 0;
	int fd, err;

	fd = socket(sa->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_UDP);
	if (fd < 0)
		return -errno;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		/* "::" means every address of both families; any other IPv6
		 * address is IPv6 only. */
		int v6only = !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);

		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof(int)) < 0)
			goto fail_errno;
		u->dual_stack = !v6only;
	}
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail_errno;
	/* Best effort: without it drops are still visible in /proc/net/snmp. */
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* Best effort too: without it, datagrams are stamped when read. */
	setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		goto fail_errno;
	udp_set_rcvbuf(u, fd, first);
	if (bind(fd, sa, salen) < 0)
		goto fail_errno;
	return fd;

fail_errno:
	err = -errno;
	close(fd);
	return err;
}

/* One clear line for a bind failure, with the likely cause and the fix. */
static void udp_bind_error(struct udp_in *u, const struct sockaddr *sa, int err)
{
	const char *ctx = nfc_ctx_name(u->ctx);
	char where[INET6_ADDRSTRLEN + 8];

	udp_addr_text(sa, where, sizeof(where));
	switch (err) {
	case -EADDRINUSE:
		nfc_log(u->ctx, NFC_LOG_ERR, "cannot bind %s: %s - another collector is running, "
			"or choose another port in [%s] port", where, strerror(-err), ctx);
		break;
	case -EADDRNOTAVAIL:
		nfc_log(u->ctx, NFC_LOG_ERR, "cannot bind %s: %s - no interface of this host has "
			"that address; use 0.0.0.0 or :: in [%s] bind", where, strerror(-err), ctx);
		break;
	case -EACCES:
		nfc_log(u->ctx, NFC_LOG_ERR, "cannot bind %s: %s - ports below 1024 need root or "
			"CAP_NET_BIND_SERVICE; choose another port in [%s] port", where,
			strerror(-err), ctx);
		break;
	case -EAFNOSUPPORT:
		nfc_log(u->ctx, NFC_LOG_ERR, "cannot bind %s: %s - IPv6 is disabled on this host; "
			"use 0.0.0.0 in [%s] bind", where, strerror(-err), ctx);
		break;
	default:
		nfc_log(u->ctx, NFC_LOG_ERR, "cannot bind %s: %s", where, strerror(-err));
		break;
	}
}

/*
 * Bind every worker's socket on one resolved address. With several workers
 * the sockets share the port through SO_REUSEPORT, which would also let
 * another process of the same user join silently and take a share of the
 * traffic; a probe bind without SO_REUSEPORT first makes "port in use" an
 * error in every case.
 */
static int udp_bind_all(struct udp_in *u, const struct sockaddr *sa, socklen_t salen)
{
	unsigned i;
	int fd;

	if (u->nsocks > 1) {
		fd = udp_socket(u, sa, salen, 0, 0);
		if (fd < 0)
			return fd;
		close(fd);
	}
	for (i = 0; i < u->nsocks; i++) {
		fd = udp_socket(u, sa, salen, u->nsocks > 1, i == 0);
		if (fd < 0)
			goto fail_close;
		u->socks[i].fd = fd;
	}
	return NFC_OK;

fail_close:
	while (i-- > 0) {
		close(u->socks[i].fd);
		u->socks[i].fd = -1;
	}
	return fd;
}

/* Receive buffers and vectors of one worker. */
static int udp_sock_alloc(struct udp_in *u, struct udp_sock *s)
{
	size_t n = (size_t)u->batch, i;

	s->bufs = malloc(n * u->stride);
	s->msgs = calloc(n, sizeof(*s->msgs));
	s->iov = calloc(n, sizeof(*s->iov));
	s->dgs = calloc(n, sizeof(*s->dgs));
	s->ctrl = calloc(n, u->ctrl_len);
	if (!s->bufs || !s->msgs || !s->iov || !s->dgs || !s->ctrl)
		return NFC_ENOMEM;
	for (i = 0; i < n; i++) {
		s->iov[i].iov_base = s->bufs + i * u->stride;
		s->iov[i].iov_len = (size_t)u->max_datagram;
		s->dgs[i].data = s->iov[i].iov_base;
		s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
		s->msgs[i].msg_hdr.msg_iovlen = 1;
		s->msgs[i].msg_hdr.msg_name = &s->dgs[i].source;
		s->msgs[i].msg_hdr.msg_namelen = sizeof(s->dgs[i].source);
		s->msgs[i].msg_hdr.msg_control = s->ctrl + i * u->ctrl_len;
		s->msgs[i].msg_hdr.msg_controllen = u->ctrl_len;
	}
	return NFC_OK;
}

static void udp_sock_free(struct udp_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	free(s->bufs);
	free(s->msgs);
	free(s->iov);
	free(s->dgs);
	free(s->ctrl);
	s->bufs = NULL;
	s->msgs = NULL;
	s->iov = NULL;
	s->dgs = NULL;
	s->ctrl = NULL;
}

static void udp_close(void *inst)
{
	struct udp_in *u = inst;
	unsigned i;

	if (!u->socks)
		return;
	for (i = 0; i < u->nsocks; i++)
		udp_sock_free(&u->socks[i]);
	free(u->socks);
	u->socks = NULL;
	u->nsocks = 0;
}

static int udp_open(void *inst, struct nfc_ctx *ctx, unsigned *nworkers)
{
	struct udp_in *u = inst;
	struct addrinfo *res = NULL, *ai;
	unsigned i;
	int rc;

	u->ctx = ctx;
	u->nsocks = (unsigned)u->workers;
	u->stride = ((size_t)u->max_datagram + UDP_SLOT_ALIGN - 1) / UDP_SLOT_ALIGN * UDP_SLOT_ALIGN +
		    UDP_SLOT_ALIGN;
	u->ctrl_len = CMSG_SPACE(sizeof(uint32_t)) + CMSG_SPACE(sizeof(struct timespec));
	u->socks = calloc(u->nsocks, sizeof(*u->socks));
	if (!u->socks)
		return NFC_ENOMEM;
	for (i = 0; i < u->nsocks; i++)
		u->socks[i].fd = -1;
	for (i = 0; i < u->nsocks; i++) {
		rc = udp_sock_alloc(u, &u->socks[i]);
		if (rc < 0) {
			nfc_log(ctx, NFC_LOG_ERR, "out of memory for %lld receive buffers of %llu bytes",
				u->batch, u->max_datagram);
			goto fail_close;
		}
	}

	rc = udp_resolve(u, &res);
	if (rc < 0)
		goto fail_close;
	rc = NFC_ERROR;
	for (ai = res; ai; ai = ai->ai_next) {
		int err = udp_bind_all(u, ai->ai_addr, ai->ai_addrlen);

		if (err == 0) {
			memcpy(&u->addr, ai->ai_addr, ai->ai_addrlen);
			u->addrlen = ai->ai_addrlen;
			rc = NFC_OK;
			break;
		}
		/* A host name may have an address of a family this host cannot
		 * bind (::1 without IPv6): try the next; report the last. */
		if (!ai->ai_next)
			udp_bind_error(u, ai->ai_addr, err);
	}
	freeaddrinfo(res);
	if (rc < 0)
		goto fail_close;

	udp_addr_text((const struct sockaddr *)&u->addr, u->addrtext, sizeof(u->addrtext));
	*nworkers = u->nsocks;
	return NFC_OK;

fail_close:
	udp_close(u);
	return rc;
}

/* The control messages of a received message: the SO_RXQ_OVFL drop counter
 * and the kernel's receive time. Each is left alone when absent; returns 1
 * when the drop counter was present. */
static int udp_cmsgs(const struct msghdr *mh, uint32_t *ovfl, struct timespec *ts)
{
	struct cmsghdr *c;
	int have_ovfl = 0;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SO_RXQ_OVFL && c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
			memcpy(ovfl, CMSG_DATA(c), sizeof(*ovfl));
			have_ovfl = 1;
		} else if (c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(*ts))) {
			memcpy(ts, CMSG_DATA(c), sizeof(*ts));
		}
	}
	return have_ovfl;
}

static int udp_run(void *inst, struct nfc_worker *w)
{
	struct udp_in *u = inst;
	unsigned idx = nfc_worker_index(w);
	struct udp_sock *s;
	unsigned vlen = (unsigned)u->batch;
	unsigned last = vlen; /* slots the previous call may have changed */
	unsigned long errors = 0;
	struct timespec now;
	uint32_t ovfl = 0;
	int n, i, have_ovfl;
	const struct timespec coalesce = { u->coalesce_us / 1000000, u->coalesce_us % 1000000 * 1000 };

	if (idx >= u->nsocks)
		return NFC_EINVAL;
	s = &u->socks[idx];

	while (!nfc_worker_stopping(w)) {
		/* The kernel rewrites the name and control lengths of every
		 * message it fills: restore them. */
		for (i = 0; i < (int)last; i++) {
			s->msgs[i].msg_hdr.msg_namelen = sizeof(s->dgs[i].source);
			s->msgs[i].msg_hdr.msg_controllen = u->ctrl_len;
		}
		n = recvmmsg(s->fd, s->msgs, vlen, MSG_WAITFORONE, NULL);
		if (n < 0) {
			last = 0;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				/* Quiet for UDP_POLL_MS: an empty submit lets the
				 * core flush records it holds back to batch them. */
				nfc_submit(w, s->dgs, 0);
				continue;
			}
			if (errno == EINTR)
				continue;
			if (errno == ENOMEM || errno == ENOBUFS) {
				if (errors++ % 1000 == 0)
					nfc_log(u->ctx, NFC_LOG_WARN, "recvmmsg: %s", strerror(errno));
				continue;
			}
			nfc_log(u->ctx, NFC_LOG_ERR, "recvmmsg on %s: %s", u->addrtext, strerror(errno));
			return NFC_ERROR;
		}
		last = (unsigned)n;
		clock_gettime(CLOCK_REALTIME, &now);
		have_ovfl = 0;
		for (i = 0; i < n; i++) {
			struct nfc_datagram *dg = &s->dgs[i];
			const struct msghdr *mh = &s->msgs[i].msg_hdr;

			dg->len = s->msgs[i].msg_len;
			dg->truncated = (mh->msg_flags & MSG_TRUNC) != 0;
			dg->received = now;
			/* a dual-stack socket's ::ffff:a.b.c.d senders are
			 * folded to IPv4 by the core, for every input */
			have_ovfl |= udp_cmsgs(mh, &ovfl, &dg->received);
		}
		/* The counter is cumulative and rises monotonically: the last
		 * message carrying it has the newest value. It wraps at 2^32,
		 * which unsigned subtraction handles. */
		if (have_ovfl && ovfl != s->ovfl) {
			nfc_worker_drops(w, (uint32_t)(ovfl - s->ovfl));
			s->ovfl = ovfl;
		}
		nfc_submit(w, s->dgs, (size_t)n);
		if (u->coalesce_us > 0 && (unsigned)n < vlen / 2)
			nanosleep(&coalesce, NULL);
	}
	return NFC_OK;
}

static void udp_describe(void *inst, char *out, size_t outlen)
{
	struct udp_in *u = inst;
	char rb[32];

	udp_size_text((unsigned long long)u->rcvbuf_got / 2, rb, sizeof(rb));
	snprintf(out, outlen, "udp %s (%s%u worker%s, rcvbuf %s, batch %lld, max_datagram %llu)",
		 u->addrtext, u->dual_stack ? "IPv4 and IPv6, " : "", u->nsocks,
		 u->nsocks == 1 ? "" : "s", rb, u->batch, u->max_datagram);
}

static const struct nfc_input_ops udp_ops = {
	.size = sizeof(struct nfc_input_ops),
	.open = udp_open,
	.run = udp_run,
	.describe = udp_describe,
	.close = udp_close,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_INPUT,
	.name = "udp",
	.version = PACKAGE_VERSION,
	.description = "NetFlow/IPFIX over UDP: recvmmsg, SO_REUSEPORT workers",
	.license = "Apache-2.0",
	.flags = 0,
	.instance_size = sizeof(struct udp_in),
	.params = udp_params,
	.check = udp_check,
	.destroy = NULL,
	.input = &udp_ops,
};
