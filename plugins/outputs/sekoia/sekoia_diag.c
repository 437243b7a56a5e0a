/*
 * `--test-connection` for the sekoia output: the guide's troubleshooting
 * list ("cannot connect to Sekoia.io: key, regional host, port 10514
 * outbound") as steps, each with a verdict and a fix. It walks the same
 * path as nfc_conn_open() (the core's steps, one by one): the addresses in
 * the resolver's order until one connects, then the TLS handshake on it.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sekoia.h"

#define STEP_TIMEOUT_MS 5000
#define MAX_ADDRS 8
#define LE_ISSUER "Let's Encrypt" /* who issues the intake's certificates */

static int is_sekoia_host(const char *host)
{
	size_t n = strlen(host), t = strlen(".sekoia.io");

	return sekoia_host_region(host) || (n > t && !strcasecmp(host + n - t, ".sekoia.io"));
}

/* The intake key and where it goes. FAIL only for what stops delivery. */
static int diag_config(struct sekoia *s, struct nfc_ctx *ctx)
{
	const char *why = sekoia_key_problem(s->intake_key);
	const char *region = s->region && s->region[0] ? s->region : SEKOIA_DEFAULT_REGION;
	const char *rhost = sekoia_region_host(region);

	if (why) {
		nfc_diag(ctx, NFC_DIAG_FAIL, "intake key", "set intake_key= to the key shown in Sekoia.io "
		         "(Intakes > your NetFlow intake)", "intake_key %s", why);
		return NFC_ERROR;
	}
	nfc_diag(ctx, NFC_DIAG_OK, "intake key", NULL, "set, %zu characters of the expected form (letters, "
	         "digits, '-', '_'); not shown", strlen(s->intake_key));
	if (!(s->host && s->host[0]))
		nfc_diag(ctx, NFC_DIAG_OK, "destination", NULL, "region %s: %s port %lld", region, s->dest, s->port);
	else if (nfc_ctx_param_set(ctx, "region") && rhost && strcasecmp(rhost, s->host))
		nfc_diag(ctx, NFC_DIAG_WARN, "destination", "remove region=, or set host= to the region's host",
		         "host=%s is used and region=%s (%s) is ignored", s->host, region, rhost);
	else if (sekoia_host_region(s->host))
		nfc_diag(ctx, NFC_DIAG_OK, "destination", NULL, "%s port %lld (region %s)", s->host, s->port,
		         sekoia_host_region(s->host));
	else
		nfc_diag(ctx, NFC_DIAG_INFO, "destination", NULL, "%s port %lld: not one of the regional intake "
		         "hosts (" SEKOIA_REGIONS "), e.g. a relay or a test intake", s->host, s->port);
	if (is_sekoia_host(s->dest) && s->port != SEKOIA_PORT)
		nfc_diag(ctx, NFC_DIAG_WARN, "port", "set port=10514", "port %lld: the Sekoia.io intake listens "
		         "on TLS port %d", s->port, SEKOIA_PORT);
	return NFC_OK;
}

static void addr_text(const struct sockaddr_storage *a, char *out, size_t len)
{
	char ip[NI_MAXHOST], port[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)a, sizeof(*a), ip, sizeof(ip), port, sizeof(port),
	                NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(out, len, "?");
	else
		snprintf(out, len, strchr(ip, ':') ? "[%s]:%s" : "%s:%s", ip, port);
}

static int diag_resolve(struct sekoia *s, struct nfc_ctx *ctx, struct sockaddr_storage *addrs)
{
	char why[512], list[512] = "", a[80], step[320];
	size_t used = 0;
	int n;

	snprintf(step, sizeof(step), "resolve %s", s->dest);
	n = nfc_conn_resolve(s->dest, (unsigned)s->port, STEP_TIMEOUT_MS, addrs, MAX_ADDRS, why, sizeof(why));
	if (n <= 0) {
		nfc_diag(ctx, NFC_DIAG_FAIL, step, "check the region's host name (host=, region=) and this "
		         "machine's DNS (/etc/resolv.conf, the container's DNS)", "%s", why);
		return NFC_ERROR;
	}
	for (int i = 0; i < n && used < sizeof(list); i++) {
		addr_text(&addrs[i], a, sizeof(a));
		used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", a);
	}
	nfc_diag(ctx, NFC_DIAG_OK, step, NULL, "%d address%s: %s", n, n == 1 ? "" : "es", list);
	return n;
}

static const char *connect_fix(int err)
{
	switch (err) {
	case ETIMEDOUT:
		return "outbound TCP 10514 blocked by a firewall? allow this host and port out (the "
		       "firewall, a security group, the container network)";
	case ECONNREFUSED:
		return "check port= (the intake is TLS port 10514) and that no firewall on the way rejects it";
	case ENETUNREACH:
	case EHOSTUNREACH:
		return "this machine has no route there: check its network and default gateway";
	default:
		return "check this machine's network";
	}
}

/* Connect to the addresses in order until one answers, as nfc_conn_open()
 * does; a failure is FAIL only when no later address remains. */
static int diag_connect(struct nfc_ctx *ctx, const struct sockaddr_storage *addrs, int n, struct nfc_conn **c)
{
	char why[512], a[80], step[120];
	struct timespec t0, t1;
	socklen_t salen;
	int err;

	for (int i = 0; i < n; i++) {
		addr_text(&addrs[i], a, sizeof(a));
		snprintf(step, sizeof(step), "connect %s", a);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		salen = addrs[i].ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
		if (nfc_conn_connect_addr(ctx, (const struct sockaddr *)&addrs[i], salen, STEP_TIMEOUT_MS, c, why,
		                          sizeof(why)) == NFC_OK) {
			clock_gettime(CLOCK_MONOTONIC, &t1);
			nfc_diag(ctx, NFC_DIAG_OK, step, NULL, "TCP connected in %ld ms",
			         (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
			return NFC_OK;
		}
		err = errno;
		if (err == ETIMEDOUT)
			snprintf(why, sizeof(why), "no answer within %d s (the packets are dropped)",
			         STEP_TIMEOUT_MS / 1000);
		nfc_diag(ctx, i + 1 < n ? NFC_DIAG_WARN : NFC_DIAG_FAIL, step, connect_fix(err), "%s%s", why,
		         i + 1 < n ? "; trying the next address" : "");
	}
	return NFC_ERROR;
}

static const char *handshake_fix(const struct nfc_conn_info *ci)
{
	if (ci->untrusted_issuer)
		return "TLS interception (a proxy presenting its own certificate)? allow this host through, "
		       "or set the CA file (ca_file=) to the CA that issued it";
	if (strstr(ci->verify_error, "mismatch"))
		return "check host= (the region's intake host), or set server_name= to the name in the certificate";
	if (strstr(ci->verify_error, "expired") || strstr(ci->verify_error, "not yet valid"))
		return "check this machine's clock (NTP)";
	return "check that host= and port= name the TLS syslog intake (port 10514)";
}

/* The server certificate's names, and whether its issuer is the one
 * expected: the CA of ca_file, or for Sekoia.io Let's Encrypt. */
static void diag_certificate(struct sekoia *s, struct nfc_ctx *ctx, const struct nfc_conn_info *ci)
{
	int le = strstr(ci->issuer, LE_ISSUER) != NULL;

	if (!ci->subject[0])
		return;
	if (ci->untrusted_issuer)
		nfc_diag(ctx, NFC_DIAG_FAIL, "server certificate", handshake_fix(ci), "subject %s, issuer %s: "
		         "the issuer is not the expected CA (not trusted by %s)", ci->subject, ci->issuer,
		         nfc_ctx_param_set(ctx, "ca_file") ? "ca_file" : "this machine's trust store");
	else if (ci->verified && is_sekoia_host(s->dest) && !le)
		nfc_diag(ctx, NFC_DIAG_WARN, "server certificate", "TLS interception (a proxy presenting its own "
		         "certificate)? allow this host through the proxy without inspection",
		         "subject %s, issuer %s: trusted here, but the intake's certificates come from "
		         LE_ISSUER, ci->subject, ci->issuer);
	else
		nfc_diag(ctx, ci->handshake_done ? NFC_DIAG_OK : NFC_DIAG_INFO, "server certificate", NULL,
		         "subject %s, issuer %s", ci->subject, ci->issuer);
}

static int diag_tls(struct sekoia *s, struct nfc_ctx *ctx, struct nfc_conn *c)
{
	struct nfc_conn_info ci = { .size = sizeof(ci) };
	char why[512];
	int rc = nfc_conn_handshake(c, s->dest, STEP_TIMEOUT_MS, why, sizeof(why));

	if (rc == NFC_EINVAL) {
		nfc_diag(ctx, NFC_DIAG_WARN, "TLS handshake", "remove tls=no (the intake only accepts TLS)",
		         "tls=no: plain TCP, the intake key and the flows would travel unencrypted");
		return NFC_OK;
	}
	nfc_conn_info(c, &ci);
	if (rc != NFC_OK) {
		nfc_diag(ctx, NFC_DIAG_FAIL, "TLS handshake", handshake_fix(&ci), "%s", why);
		diag_certificate(s, ctx, &ci);
		return NFC_ERROR;
	}
	if (ci.verified)
		nfc_diag(ctx, NFC_DIAG_OK, "TLS handshake", NULL, "certificate chain and name verified");
	else
		nfc_diag(ctx, NFC_DIAG_WARN, "TLS handshake", "remove tls_verify=no", "the certificate was NOT "
		         "verified (tls_verify=no): anyone on the path could read the intake key");
	diag_certificate(s, ctx, &ci);
	nfc_diag(ctx, NFC_DIAG_OK, "TLS protocol", NULL, "%s, cipher %s", ci.protocol, ci.cipher);
	return NFC_OK;
}

/* One event framed by the output's own framer, then a clean close (the
 * TLS 1.3 pitfall: an abrupt close can lose what was just written). */
static int diag_send(struct sekoia *s, struct nfc_ctx *ctx, struct nfc_conn *c)
{
	struct nfc_buf *b = nfc_buf_new(0);
	struct timespec now;
	int rc = NFC_ENOMEM;

	clock_gettime(CLOCK_REALTIME, &now);
	if (b)
		rc = sekoia_framer_frame(&s->fr, now, sekoia_test_event, strlen(sekoia_test_event), b);
	if (rc == NFC_OK)
		rc = nfc_conn_write(c, nfc_buf_data(b), nfc_buf_len(b), NULL);
	if (rc == NFC_OK)
		nfc_diag(ctx, NFC_DIAG_OK, "test event", NULL, "sent 1 event (%zu bytes, message \"netflow-"
		         "concentrator --test-connection test event\"); the intake does not acknowledge: look "
		         "for it in Sekoia.io (none there: check the intake key)", nfc_buf_len(b));
	else
		nfc_diag(ctx, NFC_DIAG_FAIL, "test event", "run the test again; if it persists, check the "
		         "intake host and port", "%s", rc == NFC_RETRY ? "the connection broke while sending" :
		         "cannot build the event (out of memory, or max_event_size too small)");
	nfc_buf_destroy(b);
	return rc == NFC_OK ? NFC_OK : NFC_ERROR;
}

int sekoia_diagnose(void *inst, struct nfc_ctx *ctx, unsigned flags)
{
	struct sekoia *s = inst;
	struct sockaddr_storage addrs[MAX_ADDRS];
	struct nfc_conn *c = NULL;
	int n, rc;

	s->ctx = ctx;
	rc = sekoia_setup(s);
	if (rc != NFC_OK) {
		nfc_diag(ctx, NFC_DIAG_FAIL, "configuration", "correct the [forwarder] section", "cannot set up "
		         "the output (%s)", rc == NFC_ENOMEM ? "out of memory" : "invalid settings");
		return NFC_ERROR;
	}
	rc = diag_config(s, ctx);
	n = rc == NFC_OK ? diag_resolve(s, ctx, addrs) : NFC_ERROR;
	if (n > 0)
		rc = diag_connect(ctx, addrs, n, &c);
	else
		rc = NFC_ERROR;
	if (rc == NFC_OK)
		rc = diag_tls(s, ctx, c);
	if (rc == NFC_OK && (flags & NFC_DIAG_SEND_EVENT))
		rc = diag_send(s, ctx, c);
	else if (rc == NFC_OK)
		nfc_diag(ctx, NFC_DIAG_INFO, "test event", NULL, "none sent (--send-test-event sends one)");
	nfc_conn_close(c);
	if (rc == NFC_OK && (flags & NFC_DIAG_SEND_EVENT))
		nfc_diag(ctx, NFC_DIAG_OK, "close", NULL, "closed cleanly (close_notify, then half-close)");
	sekoia_framer_free(&s->fr);
	return rc;
}
