/*
 * The `sekoia` output: every flow record as one RFC 5424 message to the
 * Sekoia.io intake over TLS (RFC 6587 octet counting), the intake key in the
 * SEKOIA@53288 structured-data element. Framing lives in sekoia_frame.c;
 * this file holds the parameters, their checks and the connection.
 *
 * The intake key is a secret: it is never logged, and lives only in the
 * parameter the core owns and in the framer's prebuilt head.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nfc/plugin.h"
#include "sekoia.h"

#define DEFAULT_REGION SEKOIA_DEFAULT_REGION
#define HOSTNAME_MAX SEKOIA_HOSTNAME_MAX
#define APP_NAME_MAX 48  /* RFC 5424 APP-NAME */

static const struct nfc_param sekoia_params[] = {
	{ "host", NFC_PARAM_STRING, "", 0, offsetof(struct sekoia, host), 0, 0,
	  "Intake host name. Empty: the host of `region`." },
	{ "port", NFC_PARAM_INT, "10514", 0, offsetof(struct sekoia, port), 1, 65535,
	  "Intake TCP port (TLS syslog)." },
	{ "intake_key", NFC_PARAM_STRING, NULL, NFC_PARAM_REQUIRED | NFC_PARAM_SECRET,
	  offsetof(struct sekoia, intake_key), 0, 0,
	  "The intake key shown in Sekoia.io (Intakes > your NetFlow intake)." },
	{ "region", NFC_PARAM_STRING, DEFAULT_REGION, 0, offsetof(struct sekoia, region), 0, 0,
	  "Sekoia.io region when `host` is empty: " SEKOIA_REGIONS "." },
	{ "hostname", NFC_PARAM_STRING, "", 0, offsetof(struct sekoia, hostname), 0, 0,
	  "Syslog HOSTNAME field. Empty: this machine's host name." },
	{ "app_name", NFC_PARAM_STRING, "netflow-concentrator", 0, offsetof(struct sekoia, app_name), 0, 0,
	  "Syslog APP-NAME field (1 to 48 printable ASCII characters)." },
	{ "pri", NFC_PARAM_INT, "14", 0, offsetof(struct sekoia, pri), 0, 191,
	  "Syslog PRI: facility * 8 + severity (14: user.info)." },
	{ "max_event_size", NFC_PARAM_SIZE, "250k", 0, offsetof(struct sekoia, max_event_size), 256,
	  16 * 1024 * 1024,
	  "Largest syslog message sent; larger records are dropped and counted (the intake "
	  "drops events over 250 KiB)." },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

/* Is `s` 1..max printable ASCII characters without spaces? */
static int valid_name(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 33 || (unsigned char)s[i] > 126)
			return 0;
	return i >= 1 && i <= max;
}

static int sekoia_check(void *inst, struct nfc_ctx *ctx)
{
	struct sekoia *s = inst;
	const char *why;
	int rc = NFC_OK;

	why = sekoia_key_problem(s->intake_key);
	if (why) {
		nfc_config_error(ctx, "intake_key", "%s", why);
		rc = NFC_EINVAL;
	}
	if (s->region && s->region[0] && !sekoia_region_host(s->region)) {
		nfc_config_error(ctx, "region", "unknown region \"%s\": use one of %s (or set host=)",
		                 s->region, SEKOIA_REGIONS);
		rc = NFC_EINVAL;
	}
	if (s->hostname && s->hostname[0] && !valid_name(s->hostname, HOSTNAME_MAX)) {
		nfc_config_error(ctx, "hostname", "must be 1 to %d printable ASCII characters without "
		                 "spaces (a syslog HOSTNAME)", HOSTNAME_MAX);
		rc = NFC_EINVAL;
	}
	if (!s->app_name || !valid_name(s->app_name, APP_NAME_MAX)) {
		nfc_config_error(ctx, "app_name", "must be 1 to %d printable ASCII characters without "
		                 "spaces (a syslog APP-NAME)", APP_NAME_MAX);
		rc = NFC_EINVAL;
	}
	/* "name:port" (one colon; an IPv6 literal has several) is a port in the
	 * wrong key, as a scheme or a path would be */
	if (s->host && (strchr(s->host, ' ') || strchr(s->host, '/') ||
	                (strchr(s->host, ':') && strchr(s->host, ':') == strrchr(s->host, ':')))) {
		nfc_config_error(ctx, "host", "must be a host name or an address, such as "
		                 "intake.sekoia.io (no scheme, path or port: the port goes in port=)");
		rc = NFC_EINVAL;
	}
	return rc;
}

int sekoia_setup(struct sekoia *s)
{
	if (s->host && s->host[0])
		s->dest = s->host;
	else
		s->dest = sekoia_region_host(s->region && s->region[0] ? s->region : DEFAULT_REGION);
	if (!s->dest)
		return NFC_EINVAL; /* check() refused it already */

	if (s->hostname && s->hostname[0]) {
		snprintf(s->syshost, sizeof(s->syshost), "%s", s->hostname);
	} else if (gethostname(s->syshost, sizeof(s->syshost)) < 0) {
		strcpy(s->syshost, "-");
	}
	s->syshost[sizeof(s->syshost) - 1] = '\0';
	sekoia_sanitize_name(s->syshost, HOSTNAME_MAX);

	return sekoia_framer_init(&s->fr, (unsigned)s->pri, s->syshost, s->app_name,
	                          (unsigned long)getpid(), s->intake_key, (size_t)s->max_event_size);
}

static int sekoia_start(void *inst, struct nfc_ctx *ctx)
{
	struct sekoia *s = inst;
	int rc;

	s->ctx = ctx;
	rc = sekoia_setup(s);
	if (rc != NFC_OK)
		return rc;
	s->c_oversize = nfc_counter_register(ctx, "oversize");
	s->c_reconnects = nfc_counter_register(ctx, "reconnects");
	if (s->c_oversize < 0 || s->c_reconnects < 0) {
		sekoia_framer_free(&s->fr);
		return s->c_oversize < 0 ? s->c_oversize : s->c_reconnects;
	}
	if (pthread_mutex_init(&s->st.lock, NULL)) {
		sekoia_framer_free(&s->fr);
		return NFC_ENOMEM;
	}
	s->st.lock_ready = 1;
	nfc_log(ctx, NFC_LOG_INFO, "forwarding to %s:%lld as syslog host %s, app %s", s->dest, s->port,
	        s->syshost, s->app_name);
	return NFC_OK;
}

static int sekoia_encode(void *inst, const struct nfc_batch *b, struct nfc_buf *out)
{
	struct sekoia *s = inst;
	struct sekoia_encode_stats st;
	int rc;

	rc = sekoia_framer_encode(&s->fr, b, out, &st);
	if (st.dropped) {
		nfc_counter_add(s->ctx, s->c_oversize, st.dropped);
		nfc_log_remote(s->ctx, NFC_LOG_WARN, "dropped %zu record(s) whose message would exceed "
		               "max_event_size=%llu bytes (largest %zu); the intake refuses such events",
		               st.dropped, s->max_event_size, st.dropped_largest);
	}
	return rc < 0 ? rc : (int)st.frames;
}

/* Record the state status() shows, and say it in the log. */
static void status_set(struct sekoia *s, int connected, const char *addr)
{
	time_t now = time(NULL), since;

	pthread_mutex_lock(&s->st.lock);
	since = s->st.since;
	snprintf(s->st.addr, sizeof(s->st.addr), "%s", addr);
	s->st.connected = connected;
	s->st.since = now;
	pthread_mutex_unlock(&s->st.lock);
	if (connected)
		nfc_log(s->ctx, NFC_LOG_INFO, "connected to %s:%lld at %s", s->dest, s->port, addr);
	else
		nfc_log(s->ctx, NFC_LOG_INFO, "disconnected from %s:%lld at %s after %lld s", s->dest, s->port,
		        addr, (long long)(now - since));
}

static void sekoia_disconnect(struct sekoia *s)
{
	struct nfc_conn_info ci = { .size = sizeof(ci) };

	if (!s->conn)
		return;
	if (s->st.lock_ready && nfc_conn_info(s->conn, &ci) == NFC_OK)
		status_set(s, 0, ci.addr);
	nfc_conn_close(s->conn);
	s->conn = NULL;
}

/* "dest=192.0.2.1:10514 state=connected since=2026-11-25T10:00:00Z": the
 * stats line's view of the connection (main thread, hence the copy). */
static void sekoia_status(void *inst, char *out, size_t len)
{
	struct sekoia *s = inst;
	char addr[sizeof(s->st.addr)], when[32] = "never";
	int connected;
	time_t since;
	struct tm tm;

	if (!s->st.lock_ready)
		return;
	pthread_mutex_lock(&s->st.lock);
	memcpy(addr, s->st.addr, sizeof(addr));
	connected = s->st.connected;
	since = s->st.since;
	pthread_mutex_unlock(&s->st.lock);
	if (since && gmtime_r(&since, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* Before the first connection only the name is known. */
	if (!addr[0])
		snprintf(addr, sizeof(addr), "%.50s:%lld", s->dest, s->port);
	snprintf(out, len, "dest=%s state=%s since=%s", addr, connected ? "connected" : "disconnected", when);
}

/* Open the connection if there is none. Returns NFC_OK or NFC_RETRY (the
 * reason is logged by the core's connection code). */
static int sekoia_connect(struct sekoia *s)
{
	struct nfc_conn_info ci = { .size = sizeof(ci) };
	int rc;

	if (s->conn && nfc_conn_dead(s->conn))
		sekoia_disconnect(s);
	if (s->conn)
		return NFC_OK;
	rc = nfc_conn_open(s->ctx, s->dest, (unsigned)s->port, &s->conn);
	if (rc != NFC_OK) {
		s->conn = NULL;
		/* Out of memory is transient too: keep the bytes. */
		return rc == NFC_ENOMEM ? NFC_RETRY : rc;
	}
	if (nfc_conn_info(s->conn, &ci) != NFC_OK)
		snprintf(ci.addr, sizeof(ci.addr), "?");
	status_set(s, 1, ci.addr);
	if (s->connected_before)
		nfc_counter_add(s->ctx, s->c_reconnects, 1);
	s->connected_before = 1;
	s->idle_backoff_s = 0;
	return NFC_OK;
}

/* The bytes of the whole octet-counted frames ("LEN SP MSG", RFC 6587) at
 * the start of p[0..n). */
static size_t whole_frames(const char *p, size_t n)
{
	size_t at = 0;

	for (;;) {
		size_t i = at, len = 0;

		while (i < n && i - at < 10 && p[i] >= '0' && p[i] <= '9')
			len = len * 10 + (size_t)(p[i++] - '0');
		if (i >= n || p[i] != ' ' || len > n - i - 1)
			return at;
		at = i + 1 + len;
	}
}

/* When the connection breaks, the frames written whole are consumed and
 * the one it cut is offered again, whole, on the next connection: the
 * intake drops a cut frame, and no frame is sent twice by us (what the
 * kernel had not sent yet when the peer vanished is lost with it: syslog
 * over TLS has no acknowledgement). */
static int sekoia_send(void *inst, const char *p, size_t len, uint64_t off, size_t *consumed)
{
	struct sekoia *s = inst;
	size_t written;
	int rc = sekoia_connect(s);

	(void)off;
	if (rc != NFC_OK)
		return rc;
	rc = nfc_conn_write(s->conn, p, len, &written);
	if (rc != NFC_OK) {
		sekoia_disconnect(s);
		*consumed = whole_frames(p, written);
		return NFC_RETRY;
	}
	*consumed = len;
	return NFC_OK;
}

static void sekoia_idle(void *inst)
{
	struct sekoia *s = inst;
	time_t now = time(NULL);

	/* Connect before the first record arrives, so a wrong host, a blocked
	 * port or an untrusted certificate shows in the log at start-up; when
	 * the intake cannot be reached, try again with a growing pause (up to a
	 * minute) rather than every idle second. This also notices an intake
	 * that closed an idle connection. */
	if (s->conn && !nfc_conn_dead(s->conn))
		return;
	if (now < s->next_idle_connect)
		return;
	if (sekoia_connect(s) != NFC_OK) {
		s->idle_backoff_s = s->idle_backoff_s ? s->idle_backoff_s * 2 : 1;
		if (s->idle_backoff_s > 60)
			s->idle_backoff_s = 60;
		s->next_idle_connect = now + s->idle_backoff_s;
	}
}

static void sekoia_stop(void *inst)
{
	struct sekoia *s = inst;

	sekoia_disconnect(s);
}

static void sekoia_destroy(void *inst)
{
	struct sekoia *s = inst;

	sekoia_disconnect(s);
	sekoia_framer_free(&s->fr);
	if (s->st.lock_ready)
		pthread_mutex_destroy(&s->st.lock);
	s->st.lock_ready = 0;
}

static const struct nfc_output_ops sekoia_ops = {
	.size = sizeof(struct nfc_output_ops),
	.start = sekoia_start,
	.encode = sekoia_encode,
	.send = sekoia_send,
	.idle = sekoia_idle,
	.stop = sekoia_stop,
	.diagnose = sekoia_diagnose,
	.status = sekoia_status,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_OUTPUT,
	.name = "sekoia",
	.version = PACKAGE_VERSION,
	.description = "Sekoia.io intake: RFC 5424 syslog over TLS, one message per flow record",
	.license = "Apache-2.0",
	.flags = NFC_PLUGIN_TLS,
	.instance_size = sizeof(struct sekoia),
	.params = sekoia_params,
	.check = sekoia_check,
	.destroy = sekoia_destroy,
	.output = &sekoia_ops,
};
