/*
 * Sequence accounting shared by the decoders. An exporter numbers its
 * exports (v5: flows, v9: export packets, IPFIX: data records, each modulo
 * 2^32). Units that did not arrive are a gap; units counted missing that
 * turn up later (reordering) are late: lost = gap - late. A restart or
 * counter reset starts afresh and is never a gap: sysUptime going back by
 * more than a minute (its wrap at 2^32 ms told apart), the sequence going
 * back by more than the reorder window, or jumping forward by more than any
 * plausible loss.
 */
#include <netinet/in.h>
#include <string.h>

#include "flowlib.h"

/* A forward jump of more units than this is a counter reset, not a loss. */
#define SEQ_MAX_GAP (1u << 24)
/* sysUptime going back by more than this (ms) is a reboot... */
#define UPTIME_REBOOT_MS 60000u
/* ...unless it wrapped at 2^32 ms: the old value within this of the top. */
#define UPTIME_WRAP_MS 3600000u

static int uptime_rebooted(uint32_t before, uint32_t now)
{
	if (now >= before || before - now <= UPTIME_REBOOT_MS)
		return 0;
	return !(before > UINT32_MAX - UPTIME_WRAP_MS && now < UPTIME_WRAP_MS);
}

void fl_seq_track(struct fl_seq *s, uint32_t seq, uint32_t units, uint32_t window, uint32_t uptime,
                  int has_uptime, struct fl_seq_result *r)
{
	uint32_t ahead, behind;

	r->gap = r->late = 0;
	r->reset = 0;
	if (!s->used) {
		s->used = 1;
		goto restart;
	}
	if (has_uptime && uptime_rebooted(s->uptime, uptime)) {
		r->reset = 1;
		goto restart;
	}
	/* Sequence numbers wrap at 2^32: compare by distance. */
	ahead = seq - s->expected;
	behind = s->expected - seq;
	if (ahead <= SEQ_MAX_GAP) {
		r->gap = ahead;
		s->missing += ahead;
		goto advance;
	}
	if (behind <= window) {
		/* a late export: its units were counted missing */
		r->late = units < s->missing ? units : s->missing;
		s->missing -= r->late;
		return;
	}
	r->reset = 1;
restart:
	s->missing = 0;
advance:
	s->expected = seq + units;
	s->uptime = uptime;
}

uint16_t fl_source_port(const struct sockaddr *sa)
{
	if (sa && sa->sa_family == AF_INET)
		return ((const struct sockaddr_in *)sa)->sin_port;
	if (sa && sa->sa_family == AF_INET6)
		return ((const struct sockaddr_in6 *)sa)->sin6_port;
	return 0;
}

struct fl_seq *fl_seq_for(struct fl_stream *s, uint16_t port)
{
	const size_t n = sizeof(s->seq) / sizeof(s->seq[0]);
	struct fl_seq *q = &s->seq[0];

	for (size_t i = 0; i < n; i++) {
		if (s->seq[i].used && s->seq[i].port == port)
			return &s->seq[i];
		if (!s->seq[i].used)
			q = &s->seq[i];
	}
	/* a new session: a free slot, else the first (least useful) one */
	memset(q, 0, sizeof(*q));
	q->port = port;
	return q;
}
