/*
 * The pure part of the sekoia output: RFC 5424 frames with RFC 6587 octet
 * counting, the intake-key rules and the region table. No I/O here, so the
 * plugin tests exercise it directly.
 */
#ifndef SEKOIA_FRAME_H
#define SEKOIA_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "nfc/plugin.h"

/* "2026-11-25T10:00:00.123456Z" */
#define SEKOIA_TS_LEN 27
#define SEKOIA_SD_ID "SEKOIA@53288"
#define SEKOIA_REGIONS "FRA1, FRA2, MCO1, UAE1, USA1"

struct sekoia_framer {
	char *head;        /* "<PRI>1 TIMESTAMP HOST APP PROCID LOG [SD] " */
	size_t head_len;
	size_t ts_off;     /* where TIMESTAMP sits in head (fixed width) */
	size_t max_frame;  /* frames longer than this (after "LEN ") are dropped */
	unsigned digits;   /* length digits of the previous frame: the next guess */
	struct timespec ts_cached;
};

/* The result of one encode call, for the caller's counters and logs. */
struct sekoia_encode_stats {
	size_t frames;
	size_t dropped;        /* frames over max_frame */
	size_t dropped_largest; /* size of the largest dropped frame */
};

/* Build the constant part of every frame. Returns NFC_OK, NFC_EINVAL (pri
 * out of 0..191) or NFC_ENOMEM. The key is kept only inside f->head. */
int sekoia_framer_init(struct sekoia_framer *f, unsigned pri, const char *hostname, const char *app_name,
                       unsigned long procid, const char *intake_key, size_t max_frame);
void sekoia_framer_free(struct sekoia_framer *f);

/* Append one octet-counted frame per record of `b` to `out`. Frames over
 * max_frame are left out and reported in `st`. NFC_OK or NFC_ENOMEM (the
 * buffer is then back to its length on entry). */
int sekoia_framer_encode(struct sekoia_framer *f, const struct nfc_batch *b, struct nfc_buf *out,
                         struct sekoia_encode_stats *st);

/* Append one frame carrying `msg` (len bytes, the JSON of one event)
 * stamped `ts`, exactly as sekoia_framer_encode() frames a record: for a
 * test event. NFC_OK, NFC_ETOOBIG (over max_frame, nothing appended) or
 * NFC_ENOMEM. */
int sekoia_framer_frame(struct sekoia_framer *f, struct timespec ts, const char *msg, size_t len,
                        struct nfc_buf *out);

/* Escape an SD-PARAM value (RFC 5424 section 6.3.3: '"', '\' and ']' get a
 * backslash). `out` must hold 2 * strlen(in) + 1 bytes. Returns the length. */
size_t sekoia_sd_escape(char *out, const char *in);

/* RFC 3339 UTC with microseconds, exactly SEKOIA_TS_LEN characters (no NUL
 * written). Times outside years 0..9999 are written as the epoch. */
void sekoia_format_time(char *out, struct timespec ts);

/* The event `--test-connection --send-test-event` delivers (JSON, documentation
 * addresses, zero counters), the same for both Sekoia outputs. */
extern const char sekoia_test_event[];

/* The intake host of a region name (case-insensitive), or NULL. */
const char *sekoia_region_host(const char *region);

/* The region whose intake host is `host` (case-insensitive), or NULL. */
const char *sekoia_host_region(const char *host);

/* NULL when `key` can be an intake key, else what is wrong with it and what
 * to put instead (never quoting the key). */
const char *sekoia_key_problem(const char *key);

/* Make `s` a valid RFC 5424 HOSTNAME/APP-NAME in place: printable ASCII
 * without spaces (others become '_'), at most `max` characters, "-" when
 * empty. `s` must hold at least 2 bytes. */
void sekoia_sanitize_name(char *s, size_t max);

#endif
