/*
 * The `sekoia_http` output: flow records to Sekoia.io's HTTPS batch intake
 * (POST {"intake_key":KEY,"jsons":["<record JSON>",...]}, gzip), where each
 * batch counts as delivered only when the intake answers 2xx. It is the
 * core's pending/settle contract at work: send() hands a range of encoded
 * records to a request and answers NFC_PENDING; the plugin's own thread runs
 * the requests (libcurl's multi interface: persistent connections, several
 * requests in flight) and settles each range from the answer. Retries and
 * backoff are the core's.
 *
 * Encoded bytes are one item per record: "\n," then the record's JSON as a
 * JSON string. A newline never occurs inside an item (JSON escapes it), so
 * every "\n," starts a record; a request body is the prefix, the items with
 * the first "\n," left out, and "]}".
 *
 * The intake key is a secret: never logged; it is in the request bodies only.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#include "nfc/plugin.h"
#include "sekoia_frame.h"

#define MAX_INFLIGHT 16

/* One request slot: its body, the range it carries, its easy handle. */
struct http_req {
	CURL *easy;
	char *body;
	size_t body_len, body_cap;
	uint64_t off;
	size_t len;
	int busy; /* owned by the curl thread until it settles */
	char err[CURL_ERROR_SIZE];
};

struct http {
	/* parameters, written by the core */
	char *url;
	char *host;
	long long port;
	char *region;
	char *intake_key;
	long long max_inflight;
	long long timeout;
	int compress;
	unsigned long long max_event_size;

	/* state */
	struct nfc_ctx *ctx;
	char *target; /* the URL requests go to */
	char *prefix; /* {"intake_key":"KEY","jsons":[ */
	size_t prefix_len;
	struct nfc_buf *scratch; /* one record's JSON, output thread only */
	CURLM *multi;
	struct curl_slist *headers;
	pthread_t thread;
	int thread_started;
	pthread_mutex_t lock; /* slots' busy flags, the submit list, stop */
	struct http_req reqs[MAX_INFLIGHT];
	struct http_req *submit[MAX_INFLIGHT];
	size_t nsubmit;
	int stop;
	atomic_int key_refused_logged;
	atomic_llong last_warn; /* monotonic s of the last failure warning */
	atomic_long last_cause; /* and its cause: -curl code, or HTTP status */
	int c_oversize, c_http_errors;
};

static const struct nfc_param http_params[] = {
	{ "url", NFC_PARAM_STRING, "", 0, offsetof(struct http, url), 0, 0,
	  "Full URL of the batch endpoint. Empty: built from host, or from region." },
	{ "host", NFC_PARAM_STRING, "", 0, offsetof(struct http, host), 0, 0,
	  "Intake host name (https://HOST:PORT/batch). Empty: the region's HTTPS intake." },
	{ "port", NFC_PARAM_INT, "443", 0, offsetof(struct http, port), 1, 65535,
	  "HTTPS port, with host." },
	{ "region", NFC_PARAM_STRING, "FRA1", 0, offsetof(struct http, region), 0, 0,
	  "Sekoia.io region when url and host are empty: " SEKOIA_REGIONS "." },
	{ "intake_key", NFC_PARAM_STRING, NULL, NFC_PARAM_REQUIRED | NFC_PARAM_SECRET,
	  offsetof(struct http, intake_key), 0, 0,
	  "The intake key shown in Sekoia.io (Intakes > your NetFlow intake)." },
	{ "max_inflight", NFC_PARAM_INT, "4", 0, offsetof(struct http, max_inflight), 1, MAX_INFLIGHT,
	  "Requests in flight at once (each on its own persistent connection)." },
	{ "timeout", NFC_PARAM_INT, "30", 0, offsetof(struct http, timeout), 1, 600,
	  "Seconds a request may take before it is retried." },
	{ "compress", NFC_PARAM_BOOL, "yes", 0, offsetof(struct http, compress), 0, 0,
	  "gzip request bodies." },
	{ "max_event_size", NFC_PARAM_SIZE, "250k", 0, offsetof(struct http, max_event_size), 256,
	  16 * 1024 * 1024,
	  "Largest record JSON sent; larger records are dropped and counted (the intake drops "
	  "events over 250 KiB)." },
	{ NULL, 0, NULL, 0, 0, 0, 0, NULL },
};

static int http_check(void *inst, struct nfc_ctx *ctx)
{
	struct http *h = inst;
	const char *why = sekoia_key_problem(h->intake_key), *sni = NULL;
	int rc = NFC_OK;

	if (why) {
		nfc_config_error(ctx, "intake_key", "%s", why);
		rc = NFC_EINVAL;
	}
	if (h->region && h->region[0] && !sekoia_region_host(h->region)) {
		nfc_config_error(ctx, "region", "unknown region \"%s\": use one of %s (or set host= or url=)",
		                 h->region, SEKOIA_REGIONS);
		rc = NFC_EINVAL;
	}
	if (h->url && h->url[0] && strncasecmp(h->url, "https://", 8) && strncasecmp(h->url, "http://", 7)) {
		nfc_config_error(ctx, "url", "must start with https:// (such as "
		                 "https://intake.sekoia.io/batch)");
		rc = NFC_EINVAL;
	}
	if (nfc_tls_settings(ctx, NULL, NULL, &sni) && sni) {
		nfc_config_error(ctx, "server_name", "is not used by sekoia_http: put the name to verify in url= "
		                 "(https://NAME/...) and make it resolve to the intake");
		rc = NFC_EINVAL;
	}
	if (h->host && (strchr(h->host, '/') || strchr(h->host, ' '))) {
		nfc_config_error(ctx, "host", "must be a host name or an address, such as intake.sekoia.io "
		                 "(a full address goes in url=)");
		rc = NFC_EINVAL;
	}
	return rc;
}

/* The batch endpoint: url=, else https://host:port/batch, else the
 * region's (FRA1 has its own short form). */
static char *build_target(const struct http *h, int tls)
{
	const char *scheme = tls ? "https" : "http";
	char buf[512];

	if (h->url && h->url[0])
		return strdup(h->url);
	if (h->host && h->host[0])
		snprintf(buf, sizeof(buf), "%s://%s:%lld/batch", scheme, h->host, h->port);
	else if (!strcasecmp(h->region, "FRA1"))
		snprintf(buf, sizeof(buf), "%s://intake.sekoia.io/batch", scheme);
	else {
		char r[16];
		size_t i;

		for (i = 0; h->region[i] && i < sizeof(r) - 1; i++)
			r[i] = (char)(h->region[i] | 0x20);
		r[i] = '\0';
		snprintf(buf, sizeof(buf), "%s://intake.%s.sekoia.io/api/v1/intake-http/batch", scheme, r);
	}
	return strdup(buf);
}

/* Append `n` bytes of JSON text as the inside of a JSON string: the
 * encoder's output has no raw control characters, so only quotes and
 * backslashes need a backslash. */
static int append_escaped(struct nfc_buf *out, const char *s, size_t n)
{
	char *d = nfc_buf_reserve(out, 2 * n);
	size_t o = 0;

	if (!d)
		return NFC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			d[o++] = '\\';
		d[o++] = s[i];
	}
	nfc_buf_commit(out, o);
	return NFC_OK;
}

static int http_encode(void *inst, const struct nfc_batch *b, struct nfc_buf *out)
{
	struct http *h = inst;
	size_t n = nfc_batch_count(b), dropped = 0, largest = 0;
	int encoded = 0;

	for (size_t i = 0; i < n; i++) {
		size_t len;

		nfc_buf_truncate(h->scratch, 0);
		if (nfc_batch_json(b, i, h->scratch) < 0)
			return NFC_ENOMEM;
		len = nfc_buf_len(h->scratch);
		if (len > h->max_event_size) {
			dropped++;
			largest = len > largest ? len : largest;
			continue;
		}
		if (nfc_buf_append(out, "\n,\"", 3) < 0 || append_escaped(out, nfc_buf_data(h->scratch), len) < 0 ||
		    nfc_buf_append(out, "\"", 1) < 0)
			return NFC_ENOMEM;
		encoded++;
	}
	if (dropped) {
		nfc_counter_add(h->ctx, h->c_oversize, dropped);
		nfc_log_remote(h->ctx, NFC_LOG_WARN, "dropped %zu record(s) over max_event_size=%llu bytes "
		               "(largest %zu); the intake refuses such events", dropped, h->max_event_size, largest);
	}
	return encoded;
}

static int body_reserve(struct http_req *r, size_t n)
{
	if (n <= r->body_cap)
		return NFC_OK;
	free(r->body);
	r->body = malloc(n);
	r->body_cap = r->body ? n : 0;
	return r->body ? NFC_OK : NFC_ENOMEM;
}

/* The request body of items p[0..len) (starting with "\n,"), gzip'd when
 * compress=yes. */
static int build_body(struct http *h, struct http_req *r, const char *p, size_t len)
{
	static const char tail[] = "]}";
	size_t raw = h->prefix_len + (len - 2) + 2;

	if (!h->compress) {
		if (body_reserve(r, raw) < 0)
			return NFC_ENOMEM;
		memcpy(r->body, h->prefix, h->prefix_len);
		memcpy(r->body + h->prefix_len, p + 2, len - 2);
		memcpy(r->body + h->prefix_len + len - 2, tail, 2);
		r->body_len = raw;
		return NFC_OK;
	}
	z_stream z;
	int zr;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NFC_ENOMEM;
	if (body_reserve(r, deflateBound(&z, raw) + 64) < 0) {
		deflateEnd(&z);
		return NFC_ENOMEM;
	}
	z.next_out = (Bytef *)r->body;
	z.avail_out = (uInt)r->body_cap;
	z.next_in = (Bytef *)h->prefix;
	z.avail_in = (uInt)h->prefix_len;
	zr = deflate(&z, Z_NO_FLUSH);
	z.next_in = (Bytef *)(p + 2);
	z.avail_in = (uInt)(len - 2);
	if (zr == Z_OK)
		zr = deflate(&z, Z_NO_FLUSH);
	z.next_in = (Bytef *)tail;
	z.avail_in = 2;
	if (zr == Z_OK)
		zr = deflate(&z, Z_FINISH);
	r->body_len = z.total_out;
	deflateEnd(&z);
	return zr == Z_STREAM_END ? NFC_OK : NFC_ENOMEM;
}

/* A warning for a failure that will be retried: at once when its cause
 * (curl error or HTTP status) differs from the last one warned about, else
 * once per 10 s. */
static void warn_retry(struct http *h, long cause, const char *fmt, ...) NFC_PRINTF(3, 4);
static void warn_retry(struct http *h, long cause, const char *fmt, ...)
{
	struct timespec now;
	long long last = atomic_load(&h->last_warn);
	char msg[512];
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (atomic_exchange(&h->last_cause, cause) == cause && last && now.tv_sec - last < 10)
		return;
	atomic_store(&h->last_warn, (long long)now.tv_sec);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	nfc_log(h->ctx, NFC_LOG_WARN, "%s", msg);
}

/* What an answer means for the range: delivered, to send again, or never. */
static int verdict(struct http *h, struct http_req *r, CURLcode cc)
{
	long code = 0;

	if (cc != CURLE_OK) {
		warn_retry(h, -(long)cc, "request to %s failed: %s (curl error %d); the records are kept and sent again",
		           h->target, r->err[0] ? r->err : curl_easy_strerror(cc), (int)cc);
		return NFC_RETRY;
	}
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return NFC_OK;
	nfc_counter_add(h->ctx, h->c_http_errors, 1);
	if (code == 401 || code == 403) {
		if (!atomic_exchange(&h->key_refused_logged, 1))
			nfc_log(h->ctx, NFC_LOG_ERR, "the intake at %s refused the intake key (HTTP %ld): check "
			        "intake_key (Intakes > your NetFlow intake in Sekoia.io) and the region; the records "
			        "are kept and sent again until it is accepted", h->target, code);
		return NFC_RETRY;
	}
	if (code == 404) {
		warn_retry(h, code, "%s answered HTTP 404: check url, host or region; the records are kept and sent "
		           "again", h->target);
		return NFC_RETRY;
	}
	if (code == 400 || code == 413 || code == 422) {
		nfc_log(h->ctx, NFC_LOG_ERR, "the intake at %s refused a batch as malformed (HTTP %ld): its "
		        "records are dropped (send_errors)", h->target, code);
		return NFC_EMALFORMED;
	}
	warn_retry(h, code, "%s answered HTTP %ld; the records are kept and sent again", h->target, code);
	return NFC_RETRY;
}

static void *http_thread(void *arg)
{
	struct http *h = arg;

	for (;;) {
		struct http_req *todo[MAX_INFLIGHT];
		size_t ntodo;
		int running, left;
		CURLMsg *m;

		pthread_mutex_lock(&h->lock);
		if (h->stop) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		ntodo = h->nsubmit;
		memcpy(todo, h->submit, ntodo * sizeof(todo[0]));
		h->nsubmit = 0;
		pthread_mutex_unlock(&h->lock);
		for (size_t i = 0; i < ntodo; i++)
			curl_multi_add_handle(h->multi, todo[i]->easy);
		curl_multi_perform(h->multi, &running);
		while ((m = curl_multi_info_read(h->multi, &left))) {
			struct http_req *r = NULL;
			uint64_t off;
			size_t len;
			int rc;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			rc = verdict(h, r, m->data.result);
			curl_multi_remove_handle(h->multi, r->easy);
			off = r->off;
			len = r->len;
			/* free the slot before settling: the core may offer the
			 * next range as soon as it is settled */
			pthread_mutex_lock(&h->lock);
			r->busy = 0;
			pthread_mutex_unlock(&h->lock);
			nfc_output_settle(h->ctx, off, len, rc);
		}
		curl_multi_poll(h->multi, NULL, 0, 1000, NULL);
	}
	return NULL;
}

/* What every handle of this output sets: where, how long, which trust. */
static void easy_common(CURL *e, const char *url, char *err, long timeout, long connect_timeout, int verify,
                        const char *ca_file)
{
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, connect_timeout);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	if (ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, ca_file);
}

static int setup_easy(struct http *h, struct http_req *r, const char *ca_file, int verify)
{
	r->easy = curl_easy_init();
	if (!r->easy)
		return NFC_ENOMEM;
	easy_common(r->easy, h->target, r->err, (long)h->timeout, 10L, verify, ca_file);
	curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
	curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
	return NFC_OK;
}

static int http_start(void *inst, struct nfc_ctx *ctx)
{
	struct http *h = inst;
	const char *ca_file = NULL;
	int verify = 1, tls = nfc_tls_settings(ctx, &verify, &ca_file, NULL);
	char *p;

	h->ctx = ctx;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return NFC_ERROR;
	h->target = build_target(h, tls);
	h->prefix_len = strlen(h->intake_key) + 32;
	h->prefix = p = malloc(h->prefix_len + 1);
	h->scratch = NULL;
	if (!h->target || !p)
		return NFC_ENOMEM;
	h->prefix_len = (size_t)snprintf(p, h->prefix_len + 1, "{\"intake_key\":\"%s\",\"jsons\":[", h->intake_key);
	h->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (h->compress)
		h->headers = curl_slist_append(h->headers, "Content-Encoding: gzip");
	h->headers = curl_slist_append(h->headers, "Expect:");
	h->multi = curl_multi_init();
	if (!h->headers || !h->multi)
		return NFC_ENOMEM;
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)h->max_inflight);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)h->max_inflight);
	for (long long i = 0; i < h->max_inflight; i++)
		if (setup_easy(h, &h->reqs[i], ca_file, verify) < 0)
			return NFC_ENOMEM;
	h->scratch = nfc_buf_new(4096);
	if (!h->scratch)
		return NFC_ENOMEM;
	h->c_oversize = nfc_counter_register(ctx, "oversize");
	h->c_http_errors = nfc_counter_register(ctx, "http_errors");
	if (h->c_oversize < 0 || h->c_http_errors < 0)
		return NFC_ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	if (pthread_create(&h->thread, NULL, http_thread, h)) {
		nfc_log(ctx, NFC_LOG_ERR, "cannot start the HTTP thread");
		return NFC_ERROR;
	}
	h->thread_started = 1;
	nfc_output_set_pending_max(ctx, (unsigned)h->max_inflight);
	nfc_log(ctx, NFC_LOG_INFO, "forwarding to %s (%lld requests in flight at most%s)", h->target,
	        h->max_inflight, h->compress ? ", gzip" : "");
	return NFC_OK;
}

/* Hand the range to a free request slot; the thread runs it. */
static int http_send(void *inst, const char *p, size_t len, uint64_t off, size_t *consumed)
{
	struct http *h = inst;
	struct http_req *r = NULL;

	pthread_mutex_lock(&h->lock);
	for (long long i = 0; i < h->max_inflight && !r; i++)
		if (!h->reqs[i].busy)
			r = &h->reqs[i];
	pthread_mutex_unlock(&h->lock);
	if (!r || len < 2)
		return NFC_RETRY; /* cannot happen: the core keeps max_inflight ranges pending at most */
	if (build_body(h, r, p, len) < 0)
		return NFC_RETRY;
	r->off = off;
	r->len = len;
	r->err[0] = '\0';
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
	pthread_mutex_lock(&h->lock);
	r->busy = 1;
	h->submit[h->nsubmit++] = r;
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
	*consumed = len;
	return NFC_PENDING;
}

static void http_stop(void *inst)
{
	struct http *h = inst;

	if (h->thread_started) {
		pthread_mutex_lock(&h->lock);
		h->stop = 1;
		pthread_mutex_unlock(&h->lock);
		curl_multi_wakeup(h->multi);
		pthread_join(h->thread, NULL);
		h->thread_started = 0;
	}
}

static void http_destroy(void *inst)
{
	struct http *h = inst;

	http_stop(inst);
	for (int i = 0; i < MAX_INFLIGHT; i++) {
		if (h->reqs[i].easy) {
			if (h->multi)
				curl_multi_remove_handle(h->multi, h->reqs[i].easy);
			curl_easy_cleanup(h->reqs[i].easy);
		}
		free(h->reqs[i].body);
	}
	if (h->multi)
		curl_multi_cleanup(h->multi);
	curl_slist_free_all(h->headers);
	nfc_buf_destroy(h->scratch);
	free(h->target);
	free(h->prefix);
	if (h->ctx)
		pthread_mutex_destroy(&h->lock);
}

/* --test-connection: what can stop delivery, in the guide's order (key,
 * where, DNS, outbound port, TLS interception), each bounded to 5 s by
 * libcurl; with NFC_DIAG_SEND_EVENT one batch of one test event, whose
 * answer says whether the intake takes the key. */
#define DIAG_TIMEOUT_S 5L

static const char *diag_fix(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		return "check url=, host= or region= (the region's HTTPS intake is intake.<region>.sekoia.io, "
		       "FRA1 intake.sekoia.io) and that this machine resolves it (DNS)";
	case CURLE_COULDNT_CONNECT:
		return "nothing accepts connections there: check the port, or a firewall rejecting outbound HTTPS";
	case CURLE_OPERATION_TIMEDOUT:
		return "no answer within 5 s: outbound HTTPS (port 443) blocked by a firewall? a proxy required?";
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
		return "the server's certificate is not trusted: TLS interception (a proxy presenting its own "
		       "certificate)? allow this host through it, or set ca_file= to its CA";
	case CURLE_SSL_CONNECT_ERROR:
		return "the TLS handshake failed: a proxy or a server that does not speak TLS on that port?";
	default:
		return "see the message; the daemon logs the same reason when it retries";
	}
}

static int http_diagnose(void *inst, struct nfc_ctx *ctx, unsigned flags)
{
	struct http *h = inst;
	const char *why = sekoia_key_problem(h->intake_key), *ca_file = NULL;
	int verify = 1, tls = nfc_tls_settings(ctx, &verify, &ca_file, NULL), rc = NFC_OK;
	char err[CURL_ERROR_SIZE] = "", *target = build_target(h, tls), *ip = NULL, *body = NULL;
	long port = 0, code = 0;
	struct curl_slist *hdrs = NULL;
	CURLcode cc;
	CURL *e;

	if (why) {
		nfc_diag(ctx, NFC_DIAG_FAIL, "intake key", "set intake_key= to the key shown in Sekoia.io "
		         "(Intakes > your NetFlow intake)", "intake_key %s", why);
		free(target);
		return NFC_ERROR;
	}
	nfc_diag(ctx, NFC_DIAG_OK, "intake key", NULL, "set, %zu characters of the expected form; not shown",
	         strlen(h->intake_key));
	if (!target || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(e = curl_easy_init())) {
		free(target);
		return NFC_ENOMEM;
	}
	nfc_diag(ctx, NFC_DIAG_INFO, "destination", NULL, "%s", target);
	easy_common(e, target, err, DIAG_TIMEOUT_S, DIAG_TIMEOUT_S, verify, ca_file);
	if (!verify)
		nfc_diag(ctx, NFC_DIAG_WARN, "TLS verification", "remove tls_verify=no outside a lab",
		         "tls_verify=no: any certificate is accepted");
	curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_PRIMARY_IP, &ip);
	curl_easy_getinfo(e, CURLINFO_PRIMARY_PORT, &port);
	if (cc != CURLE_OK) {
		nfc_diag(ctx, NFC_DIAG_FAIL, tls ? "connect and TLS handshake" : "connect", diag_fix(cc), "%s",
		         err[0] ? err : curl_easy_strerror(cc));
		rc = NFC_ERROR;
		goto done;
	}
	nfc_diag(ctx, NFC_DIAG_OK, tls ? "connect and TLS handshake" : "connect", NULL, "%s port %ld%s",
	         ip ? ip : "?", port, tls ? (verify ? ", certificate and host name verified" : "") : " (plain HTTP)");
	if (!(flags & NFC_DIAG_SEND_EVENT)) {
		nfc_diag(ctx, NFC_DIAG_INFO, "test event", NULL, "not sent (--send-test-event sends one, which "
		         "also checks that the intake takes the key)");
		goto done;
	}
	curl_easy_reset(e);
	body = malloc(strlen(h->intake_key) + 2 * strlen(sekoia_test_event) + 64);
	if (!body) {
		rc = NFC_ENOMEM;
		goto done;
	}
	{
		size_t n = (size_t)sprintf(body, "{\"intake_key\":\"%s\",\"jsons\":[\"", h->intake_key);

		for (const char *s = sekoia_test_event; *s; s++) {
			if (*s == '"' || *s == '\\')
				body[n++] = '\\';
			body[n++] = *s;
		}
		strcpy(body + n, "\"]}");
	}
	easy_common(e, target, err, DIAG_TIMEOUT_S, DIAG_TIMEOUT_S, verify, ca_file);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (cc != CURLE_OK) {
		nfc_diag(ctx, NFC_DIAG_FAIL, "test event", diag_fix(cc), "%s", err[0] ? err : curl_easy_strerror(cc));
		rc = NFC_ERROR;
	} else if (code >= 200 && code < 300) {
		nfc_diag(ctx, NFC_DIAG_OK, "test event", NULL, "accepted by the intake (HTTP %ld)", code);
	} else if (code == 401 || code == 403) {
		nfc_diag(ctx, NFC_DIAG_FAIL, "test event", "copy the intake key again from Sekoia.io (Intakes > "
		         "your NetFlow intake) and check the region", "the intake refused the intake key (HTTP %ld)",
		         code);
		rc = NFC_ERROR;
	} else {
		nfc_diag(ctx, NFC_DIAG_FAIL, "test event", code == 404 ? "check url=, host= or region=" : NULL,
		         "the intake answered HTTP %ld", code);
		rc = NFC_ERROR;
	}
done:
	curl_easy_cleanup(e);
	curl_slist_free_all(hdrs);
	free(body);
	free(target);
	return rc;
}

static void http_status(void *inst, char *out, size_t outlen)
{
	struct http *h = inst;
	int busy = 0;

	pthread_mutex_lock(&h->lock);
	for (long long i = 0; i < h->max_inflight; i++)
		busy += h->reqs[i].busy;
	pthread_mutex_unlock(&h->lock);
	snprintf(out, outlen, "dest=%s inflight=%d", h->target, busy);
}

static const struct nfc_output_ops http_ops = {
	.size = sizeof(struct nfc_output_ops),
	.start = http_start,
	.encode = http_encode,
	.send = http_send,
	.stop = http_stop,
	.status = http_status,
	.diagnose = http_diagnose,
};

NFC_PLUGIN_DEFINE = {
	.size = sizeof(struct nfc_plugin),
	.abi_major = NFC_ABI_MAJOR,
	.abi_minor = NFC_ABI_MINOR,
	.kind = NFC_KIND_OUTPUT,
	.name = "sekoia_http",
	.version = PACKAGE_VERSION,
	.description = "Sekoia.io HTTPS batch intake: acknowledged delivery, gzip, requests in flight",
	.license = "Apache-2.0",
	.flags = NFC_PLUGIN_TLS,
	.instance_size = sizeof(struct http),
	.params = http_params,
	.check = http_check,
	.destroy = http_destroy,
	.output = &http_ops,
};
