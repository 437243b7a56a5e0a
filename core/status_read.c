/* --status's reading of the daemon's metrics endpoint: GET /metrics, and
 * the text exposition parsed into what the tables show (the series of
 * core/status_int.h), in bounded memory whatever the answer holds. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "nfc.h"
#include "status_int.h"

#define P NFC_METRICS_PREFIX
#define NLABELS 8

/* One sample line, parsed in place. */
struct sample {
	const char *name;
	const char *key[NLABELS], *val[NLABELS];
	int nlabels;
	unsigned long long v;
};

/* NAME[{K="V",...}] VALUE, the label values unescaped in place. 0, or -1
 * for anything else (comments, blank lines, values that are not integers:
 * the endpoint serves none). */
static int parse_sample(char *p, struct sample *s)
{
	char *end;

	s->name = p;
	s->nlabels = 0;
	while (*p && *p != '{' && *p != ' ')
		p++;
	if (p == s->name || *s->name == '#')
		return -1;
	if (*p == '{') {
		*p++ = '\0';
		while (*p != '}') {
			char *k = p, *w;

			while (*p && *p != '=')
				p++;
			if (*p != '=' || p[1] != '"' || s->nlabels == NLABELS)
				return -1;
			*p = '\0';
			p += 2;
			s->key[s->nlabels] = k;
			s->val[s->nlabels] = w = p;
			while (*p && *p != '"') {
				if (*p == '\\' && p[1]) {
					p++;
					*w++ = *p == 'n' ? '\n' : *p;
					p++;
				} else {
					*w++ = *p++;
				}
			}
			if (*p != '"')
				return -1;
			*w = '\0';
			p++;
			s->nlabels++;
			if (*p == ',')
				p++;
			else if (*p != '}')
				return -1;
		}
		p++;
	}
	if (*p != ' ')
		return -1;
	*p++ = '\0';
	errno = 0;
	s->v = strtoull(p, &end, 10);
	return end == p || errno || (*end && *end != ' ') ? -1 : 0;
}

static const char *label(const struct sample *s, const char *key)
{
	for (int i = 0; i < s->nlabels; i++)
		if (!strcmp(s->key[i], key))
			return s->val[i];
	return "";
}

static int col_index(const char *const *cols, const char *name)
{
	for (int i = 0; cols[i]; i++)
		if (!strcmp(cols[i], name))
			return i;
	return -1;
}

/* The series --status reads, by their name after the prefix, in the order
 * of status_int.h's IN_, OUT_ and E_ indexes. */
static const char *const in_cols[] = { "input_datagrams_total", "input_records_total", "input_malformed_total",
	                               "input_kernel_drops_total", NULL };
static const char *const out_cols[] = { "output_records_total", "output_queued_records", "output_spool_records",
	                                "output_failing_seconds", "output_send_errors_total",
	                                "output_queue_overflow_total", "output_lost_at_shutdown_total",
	                                "output_refused_total", NULL };
static const char *const exp_cols[] = { "exporter_datagrams_total", "exporter_records_total",
	                                "exporter_sequence_missing", "exporter_templates",
	                                "exporter_last_seen_seconds", "exporter_no_template_total", NULL };

const struct inst *nfc_status_inst_find(const struct snap *sn, int output, const char *name)
{
	for (size_t i = 0; i < sn->ninst; i++)
		if (sn->inst[i].output == output && !strcmp(sn->inst[i].name, name))
			return &sn->inst[i];
	return NULL;
}

static struct inst *inst_get(struct snap *sn, int output, const struct sample *s)
{
	struct inst *in = NULL;

	for (size_t i = 0; i < sn->ninst && !in; i++)
		if (sn->inst[i].output == output && !strcmp(sn->inst[i].name, label(s, "instance")))
			in = &sn->inst[i];
	if (!in && sn->ninst < STATUS_MAX_INST) {
		in = &sn->inst[sn->ninst++];
		memset(in, 0, sizeof(*in));
		in->output = output;
		snprintf(in->name, sizeof(in->name), "%s", label(s, "instance"));
	}
	if (in && !in->plugin[0])
		snprintf(in->plugin, sizeof(in->plugin), "%s", label(s, "plugin"));
	return in;
}

int nfc_status_series_cmp(const void *pa, const void *pb)
{
	const struct series *a = pa, *b = pb;
	int c;

	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->bin, b->bin, sizeof(a->bin))))
		return c;
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if ((c = strcmp(a->decoder, b->decoder)))
		return c;
	return a->port < b->port ? -1 : a->port > b->port;
}

static struct series *series_get(struct snap *sn, const struct sample *s)
{
	struct series key;

	memset(&key, 0, sizeof(key));
	snprintf(key.decoder, sizeof(key.decoder), "%s", label(s, "decoder"));
	snprintf(key.versions, sizeof(key.versions), "%s", label(s, "version"));
	snprintf(key.addr, sizeof(key.addr), "%s", label(s, "exporter"));
	key.family = strchr(key.addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(key.family, key.addr, key.bin) != 1)
		return NULL;
	key.port = (unsigned)strtoul(label(s, "port"), NULL, 10);
	key.domain = (unsigned)strtoul(label(s, "domain"), NULL, 10);
	/* every family lists the streams in the same order: try the next first */
	if (sn->hint < sn->ns && !nfc_status_series_cmp(&sn->s[sn->hint], &key))
		return &sn->s[sn->hint++];
	for (size_t i = 0; i < sn->ns; i++)
		if (!nfc_status_series_cmp(&sn->s[i], &key)) {
			sn->hint = i + 1;
			return &sn->s[i];
		}
	if (sn->ns == sn->cap) {
		size_t cap = sn->cap ? 2 * sn->cap : 64;
		struct series *r;

		if (sn->cap >= STATUS_MAX_SERIES || !(r = realloc(sn->s, cap * sizeof(*r))))
			return NULL;
		sn->s = r;
		sn->cap = cap;
	}
	sn->s[sn->ns] = key;
	sn->hint = ++sn->ns;
	return &sn->s[sn->ns - 1];
}

static void snap_line(struct snap *sn, char *line)
{
	struct sample s;
	struct inst *in;
	struct series *e;
	const char *name;
	int c;

	if (parse_sample(line, &s) < 0 || strncmp(s.name, P, strlen(P)))
		return;
	name = s.name + strlen(P);
	if (!strcmp(name, "build_info")) {
		snprintf(sn->version, sizeof(sn->version), "%s", label(&s, "version"));
		snprintf(sn->abi, sizeof(sn->abi), "%s", label(&s, "abi"));
	} else if (!strcmp(name, "output_info")) {
		if ((in = inst_get(sn, 1, &s)))
			snprintf(in->status, sizeof(in->status), "%s", label(&s, "status"));
	} else if ((c = col_index(exp_cols, name)) >= 0) {
		if ((e = series_get(sn, &s)))
			e->v[c] = s.v;
	} else if ((c = col_index(in_cols, name)) >= 0) {
		if ((in = inst_get(sn, 0, &s)))
			in->v[c] = s.v;
	} else if ((c = col_index(out_cols, name)) >= 0) {
		if ((in = inst_get(sn, 1, &s)))
			in->v[c] = s.v;
	}
}

int nfc_status_parse(struct snap *sn, char *http)
{
	char *body = strstr(http, "\r\n\r\n"), *line, *save = NULL;
	unsigned code = 0;

	if (sscanf(http, "HTTP/1.%*u %u", &code) != 1 || code != 200 || !body)
		return -1;
	for (line = strtok_r(body + 4, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save))
		snap_line(sn, line);
	if (!sn->version[0])
		return -1;
	if (sn->ns)
		qsort(sn->s, sn->ns, sizeof(*sn->s), nfc_status_series_cmp);
	return 0;
}

int nfc_status_fetch(const struct sockaddr_storage *sa, struct nfc_buf *out, char *err, size_t errlen)
{
	struct sockaddr_storage to = *sa;
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
	struct timeval tv = { 5, 0 };
	int fd;
	ssize_t n;

	if (to.ss_family == AF_INET && ((struct sockaddr_in *)&to)->sin_addr.s_addr == htonl(INADDR_ANY))
		((struct sockaddr_in *)&to)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (to.ss_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&to)->sin6_addr))
		((struct sockaddr_in6 *)&to)->sin6_addr = in6addr_loopback;
	fd = socket(to.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NFC_ERROR;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&to, to.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                                                  : sizeof(struct sockaddr_in)) < 0 ||
	    send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1)) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto close_fd;
	}
	for (;;) {
		char *p = out->len < STATUS_BODY_MAX ? nfc_buf_reserve(out, 65536) : NULL;

		if (!p) {
			snprintf(err, errlen, "%s", out->len < STATUS_BODY_MAX ? "out of memory" : "answer too large");
			goto close_fd;
		}
		if ((n = recv(fd, p, 65536, 0)) < 0) {
			snprintf(err, errlen, "%s", strerror(errno));
			goto close_fd;
		}
		if (n == 0)
			break;
		nfc_buf_commit(out, (size_t)n);
	}
	close(fd);
	return nfc_buf_append(out, "", 1) < 0 ? NFC_ERROR : NFC_OK;
close_fd:
	close(fd);
	return NFC_ERROR;
}
