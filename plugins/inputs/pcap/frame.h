/*
 * The frame parser of in_pcap: from a captured frame to its UDP datagram.
 * Pure (no I/O, no allocation): every length read from the frame is checked
 * against what was captured through a bounds-checked cursor, and the
 * result says what the frame was when it is not a whole UDP datagram.
 */
#ifndef NFC_PCAP_FRAME_H
#define NFC_PCAP_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What a frame turned out to be. */
enum frame_kind {
	FRAME_UDP,        /* a whole UDP datagram: payload, len and src are set */
	FRAME_NON_UDP,    /* ARP, TCP, ICMP, ESP, ... */
	FRAME_OTHER_PORT, /* UDP to another destination port than asked */
	FRAME_FRAGMENT,   /* an IP fragment (not reassembled) */
	FRAME_SNAPPED,    /* cut by the capture's snap length */
	FRAME_MALFORMED,  /* lengths that contradict each other or the frame */
};

struct frame_udp {
	const uint8_t *payload; /* points into the frame */
	size_t len;
	struct sockaddr_storage src; /* source address and UDP port */
	const char *why;             /* for FRAGMENT, SNAPPED, MALFORMED: what, in words */
};

/** Parse one frame of link type `dlt` (a DLT_ value): `caplen` bytes were
 *  captured of `wirelen`. `port` 0 takes UDP to any port. Returns an enum
 *  frame_kind; `out` is zeroed first. */
int frame_parse(int dlt, uint16_t port, const uint8_t *bytes, size_t caplen, size_t wirelen,
                struct frame_udp *out);

/** Non-zero for the link types frame_parse() reads. */
int frame_linktype_supported(int dlt);

#endif
