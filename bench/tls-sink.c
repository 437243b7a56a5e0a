/*
 * nfc-tls-sink: a minimal TLS server for benchmarks. It accepts connections,
 * reads and discards, and counts bytes and syslog frames (octet counting,
 * RFC 6587 "LEN SP FRAME"; a connection that does not start with a digit is
 * counted as LF-framed). `openssl s_server` prints what it reads and tops out
 * far below what the Sekoia output can send; this one only counts.
 *
 *   nfc-tls-sink --cert C --key K [--port 10514] [--stats FILE]
 *
 * One thread per connection. Every second (and at SIGTERM/SIGINT, then it
 * exits) it rewrites FILE, or prints to stdout, one line:
 *   sink bytes=N frames=N connections=N
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define READ_BUF (1 << 20)

static atomic_ullong total_bytes, total_frames, total_conns;
static volatile sig_atomic_t stop_flag;
static SSL_CTX *ssl_ctx;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Frame counter state of one connection, carried across reads. */
struct framer {
	int lf_mode;        /* the stream is LF-framed */
	int in_len;         /* reading the decimal length */
	unsigned long long len, skip;
	int started;
};

static unsigned long long count_frames(struct framer *f, const unsigned char *p, size_t n)
{
	unsigned long long frames = 0;
	size_t i = 0;

	if (!f->started && n) {
		f->started = 1;
		f->lf_mode = !(p[0] >= '0' && p[0] <= '9');
		f->in_len = 1;
	}
	if (f->lf_mode) {
		for (; i < n; i++)
			frames += p[i] == '\n';
		return frames;
	}
	while (i < n) {
		if (f->skip) {
			size_t k = n - i < f->skip ? n - i : (size_t)f->skip;

			i += k;
			f->skip -= k;
			if (!f->skip)
				frames++;
			continue;
		}
		if (f->in_len) {
			if (p[i] >= '0' && p[i] <= '9') {
				f->len = f->len * 10 + (unsigned)(p[i] - '0');
			} else if (p[i] == ' ') {
				f->in_len = 0;
				f->skip = f->len;
				f->len = 0;
				if (!f->skip) {
					frames++;
					f->in_len = 1;
				}
			}
			i++;
			continue;
		}
		/* a frame just ended: the next length starts */
		f->in_len = 1;
	}
	if (!f->skip && !f->in_len)
		f->in_len = 1;
	return frames;
}

static void *conn_thread(void *arg)
{
	int fd = (int)(long)arg;
	unsigned char *buf = malloc(READ_BUF);
	struct framer fr = { 0 };
	SSL *ssl = SSL_new(ssl_ctx);

	if (!buf || !ssl)
		goto out;
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) <= 0) {
		ERR_print_errors_fp(stderr);
		goto out;
	}
	atomic_fetch_add(&total_conns, 1);
	for (;;) {
		size_t got = 0;

		if (SSL_read_ex(ssl, buf, READ_BUF, &got) <= 0)
			break;
		atomic_fetch_add(&total_bytes, got);
		atomic_fetch_add(&total_frames, count_frames(&fr, buf, got));
	}
	SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	free(buf);
	close(fd);
	return NULL;
}

static void write_stats(const char *path)
{
	char line[160];
	FILE *f;

	snprintf(line, sizeof(line), "sink bytes=%llu frames=%llu connections=%llu\n",
		 atomic_load(&total_bytes), atomic_load(&total_frames), atomic_load(&total_conns));
	if (!path) {
		fputs(line, stdout);
		fflush(stdout);
		return;
	}
	f = fopen(path, "w");
	if (f) {
		fputs(line, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *stats = NULL;
	int port = 10514, lfd, one = 1, c;
	struct sockaddr_in6 sa;
	time_t last = 0;

	while ((c = getopt(argc, argv, "c:k:p:s:")) != -1) {
		switch (c) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 's': stats = optarg; break;
		default:
			fputs("usage: nfc-tls-sink -c CERT -k KEY [-p PORT] [-s STATSFILE]\n", stderr);
			return 2;
		}
	}
	if (!cert || !key) {
		fputs("nfc-tls-sink: -c CERT and -k KEY are required\n", stderr);
		return 2;
	}
	ssl_ctx = SSL_CTX_new(TLS_server_method());
	if (!ssl_ctx || SSL_CTX_use_certificate_chain_file(ssl_ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ssl_ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	lfd = socket(AF_INET6, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons((unsigned short)port);
	sa.sin6_addr = in6addr_any;
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "nfc-tls-sink: cannot listen on port %d: %s\n", port, strerror(errno));
		return 1;
	}
	write_stats(stats);
	while (!stop_flag) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		time_t now = time(NULL);

		if (now != last) {
			write_stats(stats);
			last = now;
		}
		if (poll(&pfd, 1, 200) > 0) {
			int fd = accept(lfd, NULL, NULL);
			pthread_t th;

			if (fd < 0)
				continue;
			if (pthread_create(&th, NULL, conn_thread, (void *)(long)fd) != 0) {
				close(fd);
				continue;
			}
			pthread_detach(th);
		}
	}
	write_stats(stats);
	return 0;
}
