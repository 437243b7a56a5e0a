/*
 * The frame parser of in_pcap (see frame.h). Link layer: Ethernet with up
 * to FRAME_MAX_TAGS 802.1Q/802.1ad/QinQ tags, Linux cooked v1 and v2, raw
 * IP, BSD loopback. IPv4 with its options; IPv6 with the extension headers
 * of RFC 7045's standard format, fragment and AH walked (at most
 * FRAME_MAX_EXT), anything else is not UDP. Then UDP.
 */
#include <netinet/in.h>
#include <string.h>
#include <arpa/inet.h>

#include <pcap/pcap.h>

#include "frame.h"

/* Link types of newer libpcap releases, by their standard values. */
#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif

#define FRAME_MAX_TAGS 8 /* VLAN tags walked on one frame */
#define FRAME_MAX_EXT 16 /* IPv6 extension headers walked */

/* The bounds-checked cursor. */
struct cursor {
	const uint8_t *p;
	size_t left;
	/* The frame was cut by the snap length and the cursor still runs to
	 * the end of what was captured: running short means "snapped", not
	 * "malformed". Cleared once the cursor is bounded by an IP length. */
	int snapped;
	const char *why; /* what was wrong, for the log */
};

static int cur_fail(struct cursor *c, const char *why)
{
	c->why = why;
	return c->snapped ? FRAME_SNAPPED : FRAME_MALFORMED;
}

/* Take n bytes: returns them, or NULL when fewer are left. */
static const uint8_t *cur_take(struct cursor *c, size_t n)
{
	const uint8_t *p = c->p;

	if (n > c->left)
		return NULL;
	c->p += n;
	c->left -= n;
	return p;
}

static int cur_be16(struct cursor *c, uint16_t *v)
{
	const uint8_t *p = cur_take(c, 2);

	if (!p)
		return -1;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

static int parse_udp(uint16_t port, struct cursor *c, struct frame_udp *v)
{
	const uint8_t *h = cur_take(c, 8);
	uint16_t sport, dport, ulen;

	if (!h)
		return cur_fail(c, "UDP header cut short");
	sport = (uint16_t)(h[0] << 8 | h[1]);
	dport = (uint16_t)(h[2] << 8 | h[3]);
	ulen = (uint16_t)(h[4] << 8 | h[5]);
	if (ulen < 8)
		return cur_fail(c, "UDP length below 8");
	if ((size_t)ulen - 8 > c->left)
		return cur_fail(c, "UDP length beyond the IP packet");
	if (port && dport != port)
		return FRAME_OTHER_PORT;
	v->payload = c->p;
	v->len = (size_t)ulen - 8;
	if (v->src.ss_family == AF_INET)
		((struct sockaddr_in *)&v->src)->sin_port = htons(sport);
	else
		((struct sockaddr_in6 *)&v->src)->sin6_port = htons(sport);
	return FRAME_UDP;
}

static int parse_ipv4(uint16_t port, struct cursor *c, struct frame_udp *v)
{
	const uint8_t *h = cur_take(c, 20);
	struct sockaddr_in *s4 = (struct sockaddr_in *)&v->src;
	size_t ihl, total;
	uint16_t frag;

	if (!h)
		return cur_fail(c, "IPv4 header cut short");
	if (h[0] >> 4 != 4)
		return cur_fail(c, "IPv4 header of another version");
	ihl = (size_t)(h[0] & 0xf) * 4;
	total = (size_t)(h[2] << 8 | h[3]);
	if (ihl < 20 || total < ihl)
		return cur_fail(c, "IPv4 header or total length too small");
	/* The total length bounds the packet: Ethernet pads short frames. */
	if (total - 20 > c->left)
		return cur_fail(c, "IPv4 total length beyond the frame");
	c->left = total - 20;
	c->snapped = 0;
	if (!cur_take(c, ihl - 20))
		return cur_fail(c, "IPv4 options beyond the packet");
	if (h[9] != IPPROTO_UDP)
		return FRAME_NON_UDP;
	frag = (uint16_t)(h[6] << 8 | h[7]);
	if (frag & 0x3fff) { /* MF, or a non-zero offset */
		c->why = (frag & 0x1fff) ? "IPv4 fragment (not the first)" : "IPv4 first fragment";
		return FRAME_FRAGMENT;
	}
	memset(s4, 0, sizeof(*s4));
	s4->sin_family = AF_INET;
	memcpy(&s4->sin_addr, h + 12, 4);
	return parse_udp(port, c, v);
}

/* Extension headers in RFC 7045's standard format: next header, then the
 * length in 8-octet units not counting the first 8. */
static int ipv6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140;
}

static int parse_ipv6(uint16_t port, struct cursor *c, struct frame_udp *v)
{
	const uint8_t *h = cur_take(c, 40), *e;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&v->src;
	size_t plen, skip;
	uint8_t nh;
	int i;

	if (!h)
		return cur_fail(c, "IPv6 header cut short");
	if (h[0] >> 4 != 6)
		return cur_fail(c, "IPv6 header of another version");
	plen = (size_t)(h[4] << 8 | h[5]);
	if (plen == 0)
		return cur_fail(c, "IPv6 payload length 0 (jumbogram)");
	if (plen > c->left)
		return cur_fail(c, "IPv6 payload length beyond the frame");
	c->left = plen;
	c->snapped = 0;
	nh = h[6];
	for (i = 0; i < FRAME_MAX_EXT; i++) {
		switch (nh) {
		case IPPROTO_UDP:
			memset(s6, 0, sizeof(*s6));
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, h + 8, 16);
			return parse_udp(port, c, v);
		case 0:   /* hop-by-hop options */
		case 43:  /* routing */
		case 60:  /* destination options */
		case 135: /* mobility */
		case 139: /* HIP */
		case 140: /* shim6 (ipv6_ext() lists the same) */
			e = cur_take(c, 2);
			if (!e)
				return cur_fail(c, "IPv6 extension header cut short");
			skip = ((size_t)e[1] + 1) * 8 - 2;
			nh = e[0];
			break;
		case 51: /* authentication header: length in 4-octet units, minus 2 */
			e = cur_take(c, 2);
			if (!e)
				return cur_fail(c, "IPv6 authentication header cut short");
			skip = ((size_t)e[1] + 2) * 4 - 2;
			nh = e[0];
			break;
		case 44: /* fragment */
			e = cur_take(c, 8);
			if (!e)
				return cur_fail(c, "IPv6 fragment header cut short");
			/* An atomic fragment (offset 0, no more) is a whole
			 * packet (RFC 6946): go on with what it carries. */
			if ((e[2] << 8 | e[3]) & 0xfff9) {
				if (e[0] != IPPROTO_UDP && !ipv6_ext(e[0]))
					return FRAME_NON_UDP; /* a fragment of TCP, ICMPv6, ... */
				c->why = ((e[2] << 8 | e[3]) & 0xfff8) ? "IPv6 fragment (not the first)"
				                                       : "IPv6 first fragment";
				return FRAME_FRAGMENT;
			}
			skip = 0;
			nh = e[0];
			break;
		default: /* TCP, ICMPv6, ESP, no next header, unknown */
			return FRAME_NON_UDP;
		}
		if (!cur_take(c, skip))
			return cur_fail(c, "IPv6 extension header beyond the packet");
	}
	return cur_fail(c, "too many IPv6 extension headers");
}

static int parse_ethertype(uint16_t port, struct cursor *c, struct frame_udp *v, uint16_t type)
{
	int tags = 0;

	/* 802.1Q, 802.1ad and the pre-standard QinQ types: a 2-byte tag
	 * control field, then the next type. */
	while (type == 0x8100 || type == 0x88a8 || type == 0x9100 || type == 0x9200) {
		if (++tags > FRAME_MAX_TAGS)
			return cur_fail(c, "too many VLAN tags");
		if (!cur_take(c, 2) || cur_be16(c, &type) < 0)
			return cur_fail(c, "VLAN tag cut short");
	}
	if (type == 0x0800)
		return parse_ipv4(port, c, v);
	if (type == 0x86dd)
		return parse_ipv6(port, c, v);
	return FRAME_NON_UDP; /* ARP, MPLS, 802.3 lengths, ... */
}

/* By the version nibble: raw IP captures carry no link header. */
static int parse_raw(uint16_t port, struct cursor *c, struct frame_udp *v)
{
	if (c->left == 0)
		return cur_fail(c, "empty frame");
	if (c->p[0] >> 4 == 4)
		return parse_ipv4(port, c, v);
	if (c->p[0] >> 4 == 6)
		return parse_ipv6(port, c, v);
	return cur_fail(c, "raw frame of neither IPv4 nor IPv6");
}

/* BSD loopback: the address family as a 4-byte integer, in the capturing
 * host's byte order (DLT_NULL) or network order (DLT_LOOP). AF_INET6 has a
 * different value on each system. */
static int parse_null(uint16_t port, struct cursor *c, struct frame_udp *v, int network_order)
{
	const uint8_t *h = cur_take(c, 4);
	uint32_t af;

	if (!h)
		return cur_fail(c, "loopback header cut short");
	af = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
	if (!network_order && (af & 0xffff0000u))
		af = (uint32_t)h[3] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[1] << 8 | h[0];
	if (af == 2)
		return parse_ipv4(port, c, v);
	if (af == 10 || af == 24 || af == 28 || af == 30)
		return parse_ipv6(port, c, v);
	return FRAME_NON_UDP;
}

int frame_parse(int dlt, uint16_t port, const uint8_t *bytes, size_t caplen, size_t wirelen,
                struct frame_udp *v)
{
	struct cursor c = { bytes, caplen, caplen < wirelen, NULL };
	const uint8_t *h;
	uint16_t type;
	int rc;

	memset(v, 0, sizeof(*v));
	switch (dlt) {
	case DLT_EN10MB:
		if (!cur_take(&c, 12) || cur_be16(&c, &type) < 0) {
			rc = cur_fail(&c, "Ethernet header cut short");
			break;
		}
		rc = parse_ethertype(port, &c, v, type);
		break;
	case DLT_LINUX_SLL: /* packet type, ARPHRD type, address length, 8 address bytes, protocol */
		if (!cur_take(&c, 14) || cur_be16(&c, &type) < 0) {
			rc = cur_fail(&c, "Linux cooked header cut short");
			break;
		}
		rc = parse_ethertype(port, &c, v, type);
		break;
	case DLT_LINUX_SLL2: /* protocol, reserved, ifindex, ARPHRD type, packet type, address */
		h = cur_take(&c, 20);
		if (!h) {
			rc = cur_fail(&c, "Linux cooked v2 header cut short");
			break;
		}
		rc = parse_ethertype(port, &c, v, (uint16_t)(h[0] << 8 | h[1]));
		break;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		rc = parse_raw(port, &c, v);
		break;
	case DLT_NULL:
		rc = parse_null(port, &c, v, 0);
		break;
	case DLT_LOOP:
		rc = parse_null(port, &c, v, 1);
		break;
	default:
		rc = cur_fail(&c, "unsupported link type");
		break;
	}
	v->why = c.why;
	return rc;
}

int frame_linktype_supported(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_LINUX_SLL:
	case DLT_LINUX_SLL2:
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
	case DLT_NULL:
	case DLT_LOOP:
		return 1;
	default:
		return 0;
	}
}
