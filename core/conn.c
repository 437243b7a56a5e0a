/*
 * Outbound connections owned by the core: TCP, then TLS unless the instance
 * set tls=no. Outputs see only struct nfc_conn and the nfc_conn_* calls;
 * the SSL_CTX of an output is built once at start (nfc_tls_prepare).
 * nfc_conn_open() is made of the steps a diagnose() also calls one by one
 * (resolve.c's lookup, nfc_conn_connect_addr, nfc_conn_handshake), so what
 * --test-connection reports is what the daemon does.
 *
 * The socket stays non-blocking for its whole life and every wait goes
 * through poll() with a deadline, so connect, handshake, write and close all
 * have bounded durations whatever the peer does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "nfc.h"

#define RESOLVE_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 10000
#define HANDSHAKE_TIMEOUT_MS 10000
#define WRITE_STALL_TIMEOUT_MS 60000 /* no progress at all for this long: broken */
#define CLOSE_DRAIN_TIMEOUT_MS 2000

struct nfc_conn {
	struct nfc_ctx *ctx;
	int fd;
	SSL *ssl;   /* NULL with tls=no */
	int broken; /* a write or read failed: skip close_notify */
	char peer[300]; /* "host:port" for log lines */
	struct sockaddr_storage addr; /* the address connected to */
	char addr_text[INET6_ADDRSTRLEN + 8];
	/* the server certificate's names, kept by note_peer() during the
	 * handshake (also when verification refuses it) */
	char subject[256], issuer[256];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline no later than the instance's abort time (the end of the drain
 * at shutdown), so no connect, handshake or write outlives drain_timeout. */
static long long limit(const struct nfc_ctx *ctx, long long deadline)
{
	long long a = ctx ? atomic_load_explicit(&((struct nfc_ctx *)ctx)->abort_at_ms, memory_order_relaxed) : 0;

	return a && a < deadline ? a : deadline;
}

static int aborted(const struct nfc_ctx *ctx)
{
	long long a = atomic_load_explicit(&((struct nfc_ctx *)ctx)->abort_at_ms, memory_order_relaxed);

	return a && now_ms() >= a;
}

/* Wait for `events` on fd until the absolute deadline (ms, CLOCK_MONOTONIC),
 * or the instance's abort time, which the main thread may set meanwhile: it
 * is looked at again every POLL_SLICE_MS. Returns 1 when ready, 0 on
 * timeout, -1 on a poll error. */
#define POLL_SLICE_MS 200
static int wait_fd(const struct nfc_ctx *ctx, int fd, short events, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	long long left;
	int r;

	for (;;) {
		left = limit(ctx, deadline) - now_ms();
		if (left < 0)
			left = 0;
		r = poll(&pfd, 1, (int)(left < POLL_SLICE_MS ? left : POLL_SLICE_MS));
		if (r > 0)
			return 1;
		if (r == 0 && left <= POLL_SLICE_MS)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

NFC_EXPORT int nfc_wait_fd(struct nfc_ctx *ctx, int fd, short events, int timeout_ms)
{
	int r = wait_fd(ctx, fd, events, now_ms() + (timeout_ms < 0 ? 0 : timeout_ms));

	return r == 0 && aborted(ctx) ? NFC_ETIMEDOUT : r;
}

/* A failing intake fails the same way at every retry of the core's backoff:
 * log a failure when it changes, else once a minute with the count. State is
 * per thread: an output's callbacks never run concurrently. */
#define REPEAT_LOG_MS 60000
static _Thread_local struct {
	const struct nfc_ctx *ctx;
	char msg[512];
	long long at;
	unsigned long repeats;
} last_fail;

/* A failure to reach the server (resolve, connect) is a warning: it is
 * retried and often passes (an intake restarting). A failed TLS handshake is
 * an error: it needs the operator (certificate, name, protocol). */
static void open_failed(struct nfc_ctx *ctx, enum nfc_log_level level, const char *fmt, ...)
	NFC_PRINTF(3, 4);
static void open_failed(struct nfc_ctx *ctx, enum nfc_log_level level, const char *fmt, ...)
{
	long long now = now_ms();
	char msg[sizeof(last_fail.msg)];
	int same;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	same = last_fail.ctx == ctx && !strcmp(msg, last_fail.msg);
	if (same && now - last_fail.at < REPEAT_LOG_MS) {
		last_fail.repeats++;
		nfc_log(ctx, NFC_LOG_DEBUG, "%s", msg);
		return;
	}
	if (same && last_fail.repeats)
		nfc_log(ctx, level, "%s (%lu more attempts failed the same way since)", msg,
		        last_fail.repeats);
	else
		nfc_log(ctx, level, "%s", msg);
	last_fail.ctx = ctx;
	memcpy(last_fail.msg, msg, sizeof(msg));
	last_fail.at = now;
	last_fail.repeats = 0;
}

static int is_ip_literal(const char *name)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

/* The first reason in OpenSSL's error queue, or `def`. */
static const char *ssl_reason(const char *def)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : def;
}

static int note_peer(int ok, X509_STORE_CTX *st);

int nfc_tls_prepare(struct nfc_ctx *ctx)
{
	const char *ca = ctx->tls.ca_file && ctx->tls.ca_file[0] ? ctx->tls.ca_file : NULL;
	SSL_CTX *sc;
	FILE *f;

	if (!ctx->tls.tls) {
		nfc_log(ctx, NFC_LOG_WARN, "tls=no: plain TCP, the intake key and the flows travel "
		        "unencrypted (use this in a lab only)");
		return NFC_OK;
	}
	if (ca) {
		/* Say why a file cannot be used before OpenSSL says "system lib". */
		f = fopen(ca, "r");
		if (!f) {
			nfc_log(ctx, NFC_LOG_ERR, "ca_file %s: %s", ca, strerror(errno));
			return NFC_EINVAL;
		}
		fclose(f);
	}
	OPENSSL_init_ssl(0, NULL);
	ERR_clear_error();
	sc = SSL_CTX_new(TLS_client_method());
	if (!sc) {
		nfc_log(ctx, NFC_LOG_ERR, "cannot create a TLS context: %s", ssl_reason("unknown error"));
		return NFC_ENOMEM;
	}
	if (!SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION))
		goto err_ctx;
	/* Writes resume after WANT_WRITE with a moved pointer and a shorter
	 * length; partial writes let one loop serve TLS and plain TCP. */
	SSL_CTX_set_mode(sc, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca) {
		if (!SSL_CTX_load_verify_locations(sc, ca, NULL)) {
			nfc_log(ctx, NFC_LOG_ERR, "ca_file %s: cannot load CA certificates (%s): it must be "
			        "a PEM file of CA certificates", ca, ssl_reason("no certificate found"));
			SSL_CTX_free(sc);
			return NFC_EINVAL;
		}
	} else if (!SSL_CTX_set_default_verify_paths(sc)) {
		goto err_ctx;
	}
	if (ctx->tls.verify) {
		SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, note_peer);
		nfc_log(ctx, NFC_LOG_INFO, "TLS 1.2+: server certificate verified against %s%s, name %s",
		        ca ? "ca_file " : "the system trust store", ca ? ca : "",
		        ctx->tls.server_name && ctx->tls.server_name[0] ? ctx->tls.server_name :
		        "of the host connected to");
	} else {
		SSL_CTX_set_verify(sc, SSL_VERIFY_NONE, note_peer);
		nfc_log(ctx, NFC_LOG_WARN, "tls_verify=no: the server certificate is NOT checked; anyone "
		        "on the path can read the intake key and the flows (use this in a lab only)");
	}
	ctx->ssl_ctx = sc;
	return NFC_OK;

err_ctx:
	nfc_log(ctx, NFC_LOG_ERR, "cannot set up TLS: %s", ssl_reason("unknown error"));
	SSL_CTX_free(sc);
	return NFC_ERROR;
}

/* Everything this file keeps for an instance: the TLS context and the
 * cached addresses. */
void nfc_tls_release(struct nfc_ctx *ctx)
{
	SSL_CTX_free(ctx->ssl_ctx);
	ctx->ssl_ctx = NULL;
	if (ctx->addr_cache)
		freeaddrinfo(ctx->addr_cache);
	ctx->addr_cache = NULL;
}

static void set_sockopts(int fd)
{
	int on = 1, off = 0, idle = 60, intvl = 10, cnt = 6;

	/* We write large buffers: let the kernel coalesce. Keepalive finds a
	 * dead intake while idle. Failures here only cost tuning. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &off, sizeof(off));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* Non-blocking connect to one address with a deadline. Returns the socket,
 * or -errno (ETIMEDOUT on timeout). */
static int connect_one(const struct nfc_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
                       long long deadline)
{
	socklen_t elen = sizeof(int);
	int fd, err = 0, r;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	set_sockopts(fd);
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS) {
		err = errno;
		goto err_fd;
	}
	r = wait_fd(ctx, fd, POLLOUT, deadline);
	if (r <= 0) {
		err = r == 0 ? ETIMEDOUT : errno;
		goto err_fd;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		err = errno;
	if (err)
		goto err_fd;
	return fd;

err_fd:
	close(fd);
	return -err;
}

static const char *errno_words(int err)
{
	switch (err) {
	case ECONNREFUSED: return "connection refused (nothing listens on that port, or a firewall rejects it)";
	case ETIMEDOUT: return "connection timed out (check that outbound TCP to this port is allowed)";
	case ENETUNREACH: return "network unreachable (no route)";
	case EHOSTUNREACH: return "host unreachable";
	case 0: return "no usable address";
	default: return strerror(err);
	}
}

/* "192.0.2.1:10514", "[2001:db8::1]:10514" */
static void addr_text(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		port = ntohs(s6->sin6_port);
		snprintf(out, len, "[%s]:%u", ip, port);
		return;
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		port = ntohs(s4->sin_port);
	}
	snprintf(out, len, "%s:%u", ip, port);
}

NFC_EXPORT int nfc_conn_connect_addr(struct nfc_ctx *ctx, const struct sockaddr *sa, socklen_t salen,
                                     unsigned timeout_ms, struct nfc_conn **out, char *why, size_t whylen)
{
	struct nfc_conn *c;
	int r;

	if (!ctx || !sa || !salen || salen > sizeof(c->addr) || !out || !why || !whylen)
		return NFC_EINVAL;
	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, whylen, "out of memory");
		return NFC_ENOMEM;
	}
	r = connect_one(ctx, sa, salen, now_ms() + timeout_ms);
	if (r < 0) {
		snprintf(why, whylen, "%s", errno_words(-r));
		free(c);
		errno = -r;
		return NFC_RETRY;
	}
	c->ctx = ctx;
	c->fd = r;
	memcpy(&c->addr, sa, salen);
	addr_text(sa, c->addr_text, sizeof(c->addr_text));
	snprintf(c->peer, sizeof(c->peer), "%s", c->addr_text);
	*out = c;
	return NFC_OK;
}

static int untrusted_issuer(long vr)
{
	switch (vr) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return 1;
	default:
		return 0;
	}
}

/* Why the server certificate was refused, in words an operator can act on. */
static void explain_verify(const struct nfc_conn *c, const char *name, long vr, char *why, size_t len)
{
	const struct nfc_ctx *ctx = c->ctx;
	const char *vs = X509_verify_cert_error_string(vr);

	if (untrusted_issuer(vr) && ctx->tls.ca_file && ctx->tls.ca_file[0])
		snprintf(why, len, "the server certificate is not trusted by ca_file %s (%s)", ctx->tls.ca_file, vs);
	else if (untrusted_issuer(vr))
		snprintf(why, len, "the server certificate is not trusted (%s); set ca_file= for a private CA", vs);
	else if (vr == X509_V_ERR_HOSTNAME_MISMATCH || vr == X509_V_ERR_IP_ADDRESS_MISMATCH)
		snprintf(why, len, "the server certificate does not match host name %s (%s); check host=, or set "
		         "server_name= to the name in the certificate", name, vs);
	else if (vr == X509_V_ERR_CERT_HAS_EXPIRED || vr == X509_V_ERR_CERT_NOT_YET_VALID)
		snprintf(why, len, "the server certificate is outside its validity period (%s); check the "
		         "system clock", vs);
	else
		snprintf(why, len, "the server certificate was refused (%s)", vs);
}

/* Explain a failed handshake (without the "TLS handshake with X failed"
 * the caller puts in front). */
static void explain_handshake(const struct nfc_conn *c, const char *name, int sslerr, int timed_out,
                              unsigned timeout_ms, char *why, size_t len)
{
	long vr = SSL_get_verify_result(c->ssl);
	int reason = ERR_GET_REASON(ERR_peek_last_error());

	if (timed_out)
		snprintf(why, len, "no answer within %u s (is this a TLS port?)", timeout_ms / 1000);
	else if (c->ctx->tls.verify && vr != X509_V_OK)
		explain_verify(c, name, vr, why, len);
	else if (sslerr == SSL_ERROR_SYSCALL && !ERR_peek_last_error())
		snprintf(why, len, "the server closed the connection (%s; is this a TLS port?)",
		         errno ? strerror(errno) : "EOF");
	else if (reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || reason == SSL_R_UNSUPPORTED_PROTOCOL)
		snprintf(why, len, "no common protocol version (%s); TLS 1.2 or newer is required",
		         ssl_reason("protocol version"));
	else if (reason == SSL_R_WRONG_VERSION_NUMBER)
		snprintf(why, len, "the server does not speak TLS (%s); check that host= and port= name the TLS "
		         "syslog intake", ssl_reason("wrong version number"));
	else
		snprintf(why, len, "%s", ssl_reason("unknown TLS error"));
}

/* SNI, and the name (or address) the certificate must match. */
static int tls_setup(struct nfc_conn *c, const char *name)
{
	int ip = is_ip_literal(name);

	/* SNI is for names only (RFC 6066 section 3). */
	if (!ip && !SSL_set_tlsext_host_name(c->ssl, name))
		return -1;
	if (!c->ctx->tls.verify)
		return 0;
	if (ip)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) ? 0 : -1;
	SSL_set_hostflags(c->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(c->ssl, name) ? 0 : -1;
}

NFC_EXPORT int nfc_conn_handshake(struct nfc_conn *c, const char *host, unsigned timeout_ms, char *why,
                                  size_t whylen)
{
	struct nfc_ctx *ctx;
	const char *name;
	long long deadline = now_ms() + timeout_ms;
	int r, e, w;

	if (!c || !host || !why || !whylen || c->ssl || !c->ctx->tls.tls || !c->ctx->ssl_ctx)
		return NFC_EINVAL;
	ctx = c->ctx;
	name = ctx->tls.server_name && ctx->tls.server_name[0] ? ctx->tls.server_name : host;
	ERR_clear_error();
	c->ssl = SSL_new(ctx->ssl_ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || !SSL_set_app_data(c->ssl, c) || tls_setup(c, name) < 0) {
		snprintf(why, whylen, "cannot set up TLS (server name %s): %s", name, ssl_reason("invalid name"));
		c->broken = 1;
		return NFC_RETRY;
	}
	for (;;) {
		ERR_clear_error();
		errno = 0;
		r = SSL_connect(c->ssl);
		if (r == 1)
			return NFC_OK;
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			break;
		w = wait_fd(ctx, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w <= 0) {
			explain_handshake(c, name, e, 1, timeout_ms, why, whylen);
			c->broken = 1;
			return NFC_RETRY;
		}
	}
	explain_handshake(c, name, e, 0, timeout_ms, why, whylen);
	c->broken = 1;
	return NFC_RETRY;
}

/* One line of a certificate name, RFC 2253 ("CN=intake.sekoia.io,O=..."). */
static void name_text(const X509_NAME *n, char *out, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	int r = 0;

	out[0] = '\0';
	if (!b)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0)
		r = BIO_read(b, out, (int)len - 1);
	out[r > 0 ? r : 0] = '\0';
	BIO_free(b);
}

/* Verification callback: remember the server certificate's names, since
 * OpenSSL keeps no peer certificate from a handshake it refused. */
static int note_peer(int ok, X509_STORE_CTX *st)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(st, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct nfc_conn *c = ssl ? SSL_get_app_data(ssl) : NULL;
	X509 *leaf = X509_STORE_CTX_get0_cert(st);

	if (c && leaf && !c->subject[0]) {
		name_text(X509_get_subject_name(leaf), c->subject, sizeof(c->subject));
		name_text(X509_get_issuer_name(leaf), c->issuer, sizeof(c->issuer));
	}
	return ok;
}

NFC_EXPORT int nfc_conn_info(const struct nfc_conn *c, struct nfc_conn_info *info)
{
	struct nfc_conn_info i;
	long vr;

	if (!c || !info || info->size < sizeof(size_t))
		return NFC_EINVAL;
	memset(&i, 0, sizeof(i));
	i.size = info->size;
	snprintf(i.addr, sizeof(i.addr), "%s", c->addr_text);
	if (c->ssl) {
		vr = SSL_get_verify_result(c->ssl);
		i.tls = 1;
		i.handshake_done = SSL_is_init_finished(c->ssl);
		i.verified = c->ctx->tls.verify && i.handshake_done && vr == X509_V_OK;
		i.untrusted_issuer = c->ctx->tls.verify && untrusted_issuer(vr);
		if (vr != X509_V_OK)
			snprintf(i.verify_error, sizeof(i.verify_error), "%s", X509_verify_cert_error_string(vr));
		if (i.handshake_done) {
			snprintf(i.protocol, sizeof(i.protocol), "%s", SSL_get_version(c->ssl));
			snprintf(i.cipher, sizeof(i.cipher), "%s", SSL_get_cipher_name(c->ssl));
		}
		snprintf(i.subject, sizeof(i.subject), "%s", c->subject);
		snprintf(i.issuer, sizeof(i.issuer), "%s", c->issuer);
	}
	memcpy(info, &i, info->size < sizeof(i) ? info->size : sizeof(i));
	return NFC_OK;
}

/* The addresses of host:port: a new lookup, or during the drain at shutdown
 * (a lookup could outlast its deadline) what the last one found. The result
 * stays in the instance's cache. NFC_OK or NFC_RETRY (logged). */
static int conn_addresses(struct nfc_ctx *ctx, const char *host, unsigned port, const char *peer,
                          struct addrinfo **res)
{
	char why[512];

	if (atomic_load_explicit(&ctx->abort_at_ms, memory_order_relaxed)) {
		if (!ctx->addr_cache || strcmp(ctx->addr_cache_key, peer))
			return NFC_RETRY;
		*res = ctx->addr_cache;
		return NFC_OK;
	}
	if (nfc_lookup(host, port, RESOLVE_TIMEOUT_MS, res, why, sizeof(why)) != NFC_OK) {
		open_failed(ctx, NFC_LOG_WARN, "cannot connect to %s: %s", peer, why);
		return NFC_RETRY;
	}
	if (ctx->addr_cache)
		freeaddrinfo(ctx->addr_cache);
	ctx->addr_cache = *res;
	snprintf(ctx->addr_cache_key, sizeof(ctx->addr_cache_key), "%s", peer);
	return NFC_OK;
}

NFC_EXPORT int nfc_conn_open(struct nfc_ctx *ctx, const char *host, unsigned port, struct nfc_conn **out)
{
	struct addrinfo *res = NULL, *ai;
	struct nfc_conn *c = NULL;
	char peer[sizeof(c->peer)], why[512] = "no usable address";
	int r;

	if (!ctx || !host || !host[0] || !port || port > 65535 || !out)
		return NFC_EINVAL;
	*out = NULL;
	if (aborted(ctx))
		return NFC_RETRY; /* shutting down: no new connection */
	if (ctx->tls.tls && !ctx->ssl_ctx) {
		nfc_log(ctx, NFC_LOG_ERR, "nfc_conn_open: TLS was not prepared for this instance");
		return NFC_EINVAL;
	}
	snprintf(peer, sizeof(peer), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	if (conn_addresses(ctx, host, port, peer, &res) != NFC_OK)
		return NFC_RETRY;
	/* Try every address (IPv6 and IPv4) in the resolver's order, each with
	 * its own timeout, and report the last failure. */
	for (ai = res; ai && !c; ai = ai->ai_next) {
		r = nfc_conn_connect_addr(ctx, ai->ai_addr, ai->ai_addrlen, CONNECT_TIMEOUT_MS, &c, why,
		                          sizeof(why));
		if (r == NFC_ENOMEM)
			return r;
	}
	if (!c) {
		open_failed(ctx, NFC_LOG_WARN, "cannot connect to %s: %s", peer, why);
		return NFC_RETRY;
	}
	memcpy(c->peer, peer, sizeof(peer));
	if (ctx->tls.tls && nfc_conn_handshake(c, host, HANDSHAKE_TIMEOUT_MS, why, sizeof(why)) != NFC_OK) {
		open_failed(ctx, NFC_LOG_ERR, "TLS handshake with %s failed: %s", c->peer, why);
		nfc_conn_close(c);
		return NFC_RETRY;
	}
	if (last_fail.ctx == ctx)
		last_fail.ctx = NULL; /* the next failure is news again */
	*out = c;
	return NFC_OK;
}

static int conn_write(struct nfc_conn *c, const void *p, size_t len, const char **at)
{
	const char *s = p;
	long long deadline = now_ms() + WRITE_STALL_TIMEOUT_MS;
	size_t n;
	ssize_t w;
	short ev;
	int r, e;

	if (c->broken)
		return NFC_RETRY;
	*at = s;
	while (len) {
		ev = POLLOUT;
		if (c->ssl) {
			ERR_clear_error();
			errno = 0;
			r = SSL_write_ex(c->ssl, s, len, &n);
			if (r == 1) {
				s += n;
				len -= n;
				*at = s;
				deadline = now_ms() + WRITE_STALL_TIMEOUT_MS;
				continue;
			}
			e = SSL_get_error(c->ssl, r);
			if (e == SSL_ERROR_WANT_READ)
				ev = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE)
				goto broken_tls;
		} else {
			w = send(c->fd, s, len, MSG_NOSIGNAL);
			if (w > 0) {
				s += w;
				len -= (size_t)w;
				*at = s;
				deadline = now_ms() + WRITE_STALL_TIMEOUT_MS;
				continue;
			}
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				goto broken_errno;
		}
		r = wait_fd(c->ctx, c->fd, ev, deadline);
		if (r == 0 && aborted(c->ctx)) {
			nfc_log(c->ctx, NFC_LOG_WARN, "shutting down: the drain timeout passed while writing "
			        "to %s", c->peer);
			c->broken = 1;
			return NFC_RETRY;
		}
		if (r == 0) {
			nfc_log(c->ctx, NFC_LOG_WARN, "connection to %s stalled: nothing could be written "
			        "for %d s; reconnecting", c->peer, WRITE_STALL_TIMEOUT_MS / 1000);
			c->broken = 1;
			return NFC_RETRY;
		}
		if (r < 0)
			goto broken_errno;
	}
	return NFC_OK;

broken_tls:
	if (e == SSL_ERROR_SYSCALL && !ERR_peek_last_error()) {
		if (!errno)
			errno = EPIPE;
		goto broken_errno;
	}
	nfc_log(c->ctx, NFC_LOG_WARN, "connection to %s lost: %s", c->peer,
	        e == SSL_ERROR_ZERO_RETURN ? "the server closed it" : ssl_reason("TLS error"));
	c->broken = 1;
	return NFC_RETRY;
broken_errno:
	nfc_log(c->ctx, NFC_LOG_WARN, "connection to %s lost: %s", c->peer,
	        errno == EPIPE ? "the server closed it" : strerror(errno));
	c->broken = 1;
	return NFC_RETRY;
}

NFC_EXPORT int nfc_tls_settings(const struct nfc_ctx *ctx, int *verify, const char **ca_file,
                                const char **server_name)
{
	if (verify)
		*verify = ctx->tls.verify;
	if (ca_file)
		*ca_file = ctx->tls.ca_file && ctx->tls.ca_file[0] ? ctx->tls.ca_file : NULL;
	if (server_name)
		*server_name = ctx->tls.server_name && ctx->tls.server_name[0] ? ctx->tls.server_name : NULL;
	return ctx->tls.tls;
}

NFC_EXPORT int nfc_conn_write(struct nfc_conn *c, const void *p, size_t len, size_t *written)
{
	const char *at = p;
	int rc;

	if (written)
		*written = 0;
	if (!c || (!p && len))
		return NFC_EINVAL;
	rc = conn_write(c, p, len, &at);
	if (written)
		*written = (size_t)(at - (const char *)p);
	return rc;
}

NFC_EXPORT int nfc_conn_dead(struct nfc_conn *c)
{
	struct pollfd pfd;
	char scratch[2048]; /* the server has nothing to say: discard it */
	int i, r, e;
	ssize_t n;

	if (!c)
		return 1;
	if (c->broken)
		return 1;
	/* A few rounds at most: a chatty peer must not keep us here. */
	for (i = 0; i < 8; i++) {
		pfd.fd = c->fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, 0);
		if (r < 0)
			return errno == EINTR ? 0 : (c->broken = 1);
		if (r == 0)
			return 0;
		if (pfd.revents & (POLLERR | POLLNVAL))
			goto dead;
		if (c->ssl) {
			ERR_clear_error();
			r = SSL_read(c->ssl, scratch, sizeof(scratch));
			if (r > 0)
				continue;
			e = SSL_get_error(c->ssl, r);
			/* TLS 1.3 session tickets are consumed here: alive. */
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return 0;
			goto dead;
		}
		n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		goto dead;
	}
	return 0;

dead:
	nfc_log(c->ctx, NFC_LOG_INFO, "the server %s closed the connection", c->peer);
	c->broken = 1;
	return 1;
}

NFC_EXPORT void nfc_conn_close(struct nfc_conn *c)
{
	long long deadline = now_ms() + CLOSE_DRAIN_TIMEOUT_MS;
	char scratch[2048];
	ssize_t n;
	int r, e;

	if (!c)
		return;
	/* An abrupt close of a TLS 1.3 connection with unread session tickets
	 * becomes a TCP reset and the server drops what it has not read yet
	 * (docs/sekoia-intake.md): send close_notify, half-close, and read until
	 * the server closes its side, within a short deadline. */
	if (c->ssl && !c->broken) {
		for (;;) {
			ERR_clear_error();
			r = SSL_shutdown(c->ssl);
			if (r >= 0)
				break; /* close_notify sent (1: the peer's too) */
			e = SSL_get_error(c->ssl, r);
			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
				break;
			if (wait_fd(NULL, c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) <= 0)
				break;
		}
	}
	if (c->fd >= 0 && !c->broken) {
		(void)shutdown(c->fd, SHUT_WR);
		for (;;) {
			n = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
			if (n > 0)
				continue;
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
				break;
			if (wait_fd(NULL, c->fd, POLLIN, deadline) <= 0)
				break;
		}
	}
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	ERR_clear_error();
	free(c);
}
