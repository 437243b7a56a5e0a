#!/usr/bin/env python3
"""Write a classic pcap (Ethernet, IPv4 and optionally IPv6) of varied synthetic traffic.

Usage: gen_traffic_pcap.py [--ipv6] [--l2] OUT.pcap [FLOWS] [SEED]

FLOWS conversations (default 300) between many addresses: TCP sessions
(handshake, data, FIN or RST), UDP request/response pairs and ICMP echo
exchanges, with varied ports, TOS values, packet counts and sizes. Timestamps
increase through the file so an exporter reading it with capture timestamps
(softflowd -a) sees real durations. Deterministic for a given SEED.

--ipv6: about 40 % of the conversations are IPv6 instead (TCP, UDP and
ICMPv6 echo, varied traffic classes and flow labels, addresses chosen to
exercise RFC 5952 zero compression).
--l2: each conversation has its own pair of MAC addresses, and about half of
them an 802.1Q tag (VLAN 1..4094, priority 0..7).
Without these options the output is byte for byte what it always was (the
NetFlow v5 tests rely on it).
"""
import random
import socket
import struct
import sys

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(a):
    return bytes(int(x) for x in a.split("."))


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        # magic, v2.4, tz 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.ident = 1
        self.macs, self.tci = None, None

    def conversation_l2(self, macs, tci):
        """--l2: the MAC of each address of the next conversation, and its
        802.1Q tag control information (None: untagged)."""
        self.macs, self.tci = macs, tci

    def l2(self, src, dst, ethertype):
        if self.macs is None:
            return b"\x00\x53\x00\x00\x00\x02" + b"\x00\x53\x00\x00\x00\x01" + struct.pack("!H", ethertype)
        h = self.macs[dst] + self.macs[src]
        if self.tci is not None:
            h += struct.pack("!HH", 0x8100, self.tci)
        return h + struct.pack("!H", ethertype)

    def packet(self, ts, src, dst, proto, l4, tos=0, ttl=64):
        total = 20 + len(l4)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, tos, total, self.ident & 0xFFFF, 0x4000,
                          ttl, proto, 0, ip4(src), ip4(dst))
        self.ident += 1
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        frame = self.l2(src, dst, ETH_IPV4) + hdr + l4
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        self.f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        self.f.write(frame)

    def packet6(self, ts, src, dst, nh, l4, tclass=0, flowlabel=0, hlim=64):
        hdr = struct.pack("!IHBB16s16s", 6 << 28 | tclass << 20 | flowlabel, len(l4), nh, hlim,
                          ip6(src), ip6(dst))
        frame = self.l2(src, dst, ETH_IPV6) + hdr + l4
        sec = int(ts)
        usec = int(round((ts - sec) * 1e6))
        self.f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
        self.f.write(frame)

    def close(self):
        self.f.close()


def ip6(a):
    return socket.inet_pton(socket.AF_INET6, a)


def pseudo(src, dst, proto, length):
    if ":" in src:
        return ip6(src) + ip6(dst) + struct.pack("!IxxxB", length, proto)
    return ip4(src) + ip4(dst) + struct.pack("!BBH", 0, proto, length)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    c = csum(pseudo(src, dst, 6, len(h) + len(payload)) + h + payload)
    return h[:16] + struct.pack("!H", c) + h[18:] + payload


def udp(src, dst, sport, dport, payload):
    ln = 8 + len(payload)
    h = struct.pack("!HHHH", sport, dport, ln, 0)
    c = csum(pseudo(src, dst, 17, ln) + h + payload) or 0xFFFF
    return h[:6] + struct.pack("!H", c) + payload


def icmp(typ, code, ident, seq, payload):
    h = struct.pack("!BBHHH", typ, code, 0, ident, seq)
    c = csum(h + payload)
    return h[:2] + struct.pack("!H", c) + h[4:] + payload


def icmp6(src, dst, typ, code, ident, seq, payload):
    h = struct.pack("!BBHHH", typ, code, 0, ident, seq)
    c = csum(pseudo(src, dst, 58, len(h) + len(payload)) + h + payload)
    return h[:2] + struct.pack("!H", c) + h[4:] + payload


FIN, SYN, RST, PSH, ACK, URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20


def rand_addr(r):
    kind = r.randrange(4)
    if kind == 0:
        return "10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(1, 255))
    if kind == 1:
        return "172.%d.%d.%d" % (r.randrange(16, 32), r.randrange(256), r.randrange(1, 255))
    if kind == 2:
        return "192.168.%d.%d" % (r.randrange(256), r.randrange(1, 255))
    return "%d.%d.%d.%d" % (r.choice([8, 23, 45, 81, 104, 151, 185, 203]), r.randrange(256),
                            r.randrange(256), r.randrange(1, 255))


def rand_addr6(r):
    """Global, unique local and documentation addresses with zero runs of
    different lengths and places (RFC 5952: longest run, first on a tie, no
    '::' for a single zero group)."""
    kind = r.randrange(6)
    if kind == 0:
        return "2001:db8::%x" % r.randrange(1, 0x10000)
    if kind == 1:
        return "2001:db8:%x:0:%x:0:0:%x" % (r.randrange(1, 0x10000), r.randrange(1, 0x10000),
                                            r.randrange(1, 0x10000))
    if kind == 2:
        return "fd%02x:%x:%x::%x:%x" % (r.randrange(256), r.randrange(0x10000), r.randrange(1, 0x10000),
                                        r.randrange(1, 0x10000), r.randrange(1, 0x10000))
    if kind == 3:
        return "2a00:%x:0:%x:%x:%x:%x:%x" % tuple(r.randrange(1, 0x10000) for _ in range(6))
    if kind == 4:
        return "%x:%x::" % (r.choice([0x2001, 0x2400, 0x2606, 0x2c0f]), r.randrange(0x10000))
    return "2001:%x:%x:%x:%x:%x:%x:%x" % tuple(r.randrange(0x10000) for _ in range(7))


def conversation6(w, r, ts, a, b, kind, sport, dport, tclass):
    """One IPv6 conversation (the same shapes as the IPv4 ones)."""
    fl = r.randrange(1 << 20) if r.random() < 0.5 else 0
    if kind == "tcp":
        seq_a, seq_b = r.getrandbits(32), r.getrandbits(32)
        w.packet6(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, 0, SYN), tclass, fl)
        ts += 0.001
        if r.random() < 0.1:
            w.packet6(ts, b, a, 6, tcp(b, a, dport, sport, 0, seq_a + 1, RST | ACK), tclass, fl)
            return
        w.packet6(ts, b, a, 6, tcp(b, a, dport, sport, seq_b, seq_a + 1, SYN | ACK), tclass, fl)
        for i in range(r.randrange(1, 12)):
            ts += r.uniform(0.001, 0.3)
            n = r.randrange(0, 1400)
            f = ACK | (PSH if n else 0) | (URG if r.random() < 0.02 else 0)
            if i % 2 == 0:
                w.packet6(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, seq_b, f, bytes(n)), tclass, fl)
            else:
                w.packet6(ts, b, a, 6, tcp(b, a, dport, sport, seq_b, seq_a, f, bytes(n)), tclass, fl)
        ts += 0.01
        if r.random() < 0.2:
            w.packet6(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, seq_b, RST), tclass, fl)
        else:
            w.packet6(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, seq_b, FIN | ACK), tclass, fl)
            w.packet6(ts + 0.001, b, a, 6, tcp(b, a, dport, sport, seq_b, seq_a, FIN | ACK), tclass, fl)
    elif kind == "udp":
        for i in range(r.randrange(1, 6)):
            w.packet6(ts, a, b, 17, udp(a, b, sport, dport, bytes(r.randrange(8, 512))), tclass, fl)
            ts += r.uniform(0.001, 0.05)
            if r.random() < 0.8:
                w.packet6(ts, b, a, 17, udp(b, a, dport, sport, bytes(r.randrange(8, 1200))), tclass, fl)
    else:
        ident = r.randrange(65536)
        for i in range(r.randrange(1, 5)):
            w.packet6(ts, a, b, 58, icmp6(a, b, 128, 0, ident, i, bytes(56)), tclass, fl)
            ts += r.uniform(0.001, 0.05)
            w.packet6(ts, b, a, 58, icmp6(b, a, 129, 0, ident, i, bytes(56)), tclass, fl)
            ts += 0.5


def main():
    args = sys.argv[1:]
    with6, withl2 = "--ipv6" in args, "--l2" in args
    args = [a for a in args if a not in ("--ipv6", "--l2")]
    out = args[0]
    nflows = int(args[1]) if len(args) > 1 else 300
    r = random.Random(int(args[2]) if len(args) > 2 else 1)
    w = Writer(out)
    t = 1700000000.0 + r.randrange(100000)
    used = set()
    for _ in range(nflows):
        v6 = with6 and r.random() < 0.4
        while True:
            a, b = (rand_addr6(r), rand_addr6(r)) if v6 else (rand_addr(r), rand_addr(r))
            kind = r.choices(["tcp", "udp", "icmp"], [5, 4, 1])[0]
            sport = r.randrange(1024, 65536)
            dport = r.choice([22, 25, 53, 80, 123, 443, 993, 3306, 5060, 8080, r.randrange(1, 65536)])
            key = (a, b, kind, sport, dport)
            if a != b and key not in used:
                used.add(key)
                break
        tos = r.choice([0, 0, 0, 0x10, 0x28, 0xB8])
        if withl2:
            macs = {x: bytes([r.randrange(256) & 0xFC | 0x02] + [r.randrange(256) for _ in range(5)])
                    for x in (a, b)}
            tci = r.randrange(8) << 13 | r.randrange(1, 4095) if r.random() < 0.5 else None
            w.conversation_l2(macs, tci)
        t += r.uniform(0.0005, 0.02)
        ts = t
        if v6:
            conversation6(w, r, ts, a, b, kind, sport, dport, tos)
        elif kind == "tcp":
            seq_a, seq_b = r.getrandbits(32), r.getrandbits(32)
            w.packet(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, 0, SYN), tos)
            ts += 0.001
            if r.random() < 0.1:  # refused
                w.packet(ts, b, a, 6, tcp(b, a, dport, sport, 0, seq_a + 1, RST | ACK), tos)
                continue
            w.packet(ts, b, a, 6, tcp(b, a, dport, sport, seq_b, seq_a + 1, SYN | ACK), tos)
            for i in range(r.randrange(1, 12)):
                ts += r.uniform(0.001, 0.3)
                n = r.randrange(0, 1400)
                fl = ACK | (PSH if n else 0) | (URG if r.random() < 0.02 else 0)
                if i % 2 == 0:
                    w.packet(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, seq_b, fl, bytes(n)), tos)
                else:
                    w.packet(ts, b, a, 6, tcp(b, a, dport, sport, seq_b, seq_a, fl, bytes(n)), tos)
            ts += 0.01
            if r.random() < 0.2:
                w.packet(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, seq_b, RST), tos)
            else:
                w.packet(ts, a, b, 6, tcp(a, b, sport, dport, seq_a, seq_b, FIN | ACK), tos)
                w.packet(ts + 0.001, b, a, 6, tcp(b, a, dport, sport, seq_b, seq_a, FIN | ACK), tos)
        elif kind == "udp":
            for i in range(r.randrange(1, 6)):
                w.packet(ts, a, b, 17, udp(a, b, sport, dport, bytes(r.randrange(8, 512))), tos)
                ts += r.uniform(0.001, 0.05)
                if r.random() < 0.8:
                    w.packet(ts, b, a, 17, udp(b, a, dport, sport, bytes(r.randrange(8, 1200))), tos)
        else:
            ident = r.randrange(65536)
            for i in range(r.randrange(1, 5)):
                w.packet(ts, a, b, 1, icmp(8, 0, ident, i, bytes(56)), tos)
                ts += r.uniform(0.001, 0.05)
                w.packet(ts, b, a, 1, icmp(0, 0, ident, i, bytes(56)), tos)
                ts += 0.5
    w.close()


if __name__ == "__main__":
    main()
