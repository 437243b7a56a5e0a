#!/usr/bin/env python3
"""Copy a capture with the count of every NetFlow v9 header raised to 65535.

Usage: v9_uncount.py IN.pcap OUT.pcap PORT

Why: tshark 4.0 stops dissecting a v9 export packet after `count` FlowSets
(the header's count field), and softflowd 1.1.0 writes there the number of
data records of the packet, not RFC 3954's total of template, options and
data records. A packet that carries templates or options data and more than
`count` FlowSets then has its last FlowSets silently left out of tshark's
decode (seen: 12 of 13 FlowSets, the 13th with 2 data records). The count
is a header field the collector does not need (FlowSet lengths delimit the
packet), so the reference decode is made from this copy, where only the count
differs and tshark walks every FlowSet of the packet. compare_flows.py checks
that tshark's sets are exactly the sets of each datagram.

Classic pcap (as tcpdump -w writes it), Ethernet (the Linux loopback),
IPv4/IPv6, UDP to PORT; other packets are copied unchanged.
"""
import struct
import sys


def main():
    src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data = open(src, "rb").read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit("%s: not a classic pcap" % src)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    if linktype != 1:
        raise SystemExit("%s: link type %d, only Ethernet (1) is handled" % (src, linktype))
    out = bytearray(data[:24])
    off, patched = 24, 0
    while off + 16 <= len(data):
        rec = data[off:off + 16]
        incl = struct.unpack(e + "IIII", rec)[2]
        frame = bytearray(data[off + 16:off + 16 + incl])
        off += 16 + incl
        l3, et = 14, frame[12:14]
        if et == b"\x81\x00":
            l3, et = 18, frame[16:18]
        udp = None
        if et == b"\x08\x00" and len(frame) > l3 + 20 and frame[l3 + 9] == 17:
            udp = l3 + (frame[l3] & 15) * 4
        elif et == b"\x86\xdd" and len(frame) > l3 + 40 and frame[l3 + 6] == 17:
            udp = l3 + 40
        if udp is not None and len(frame) >= udp + 12:
            p = udp + 8
            if struct.unpack("!H", frame[udp + 2:udp + 4])[0] == port and frame[p:p + 2] == b"\x00\x09":
                frame[p + 2:p + 4] = b"\xff\xff"  # the UDP checksum is not verified by tshark
                patched += 1
        out += rec + frame
    open(dst, "wb").write(out)
    print("%d v9 headers uncounted" % patched)


if __name__ == "__main__":
    main()
