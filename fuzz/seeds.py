#!/usr/bin/env python3
"""Seed corpora for the decoder fuzz targets, from the capture corpus.

    fuzz/seeds.py datagrams OUTDIR CORPUS    one file per datagram (fuzz_decode)
    fuzz/seeds.py sequences OUTDIR CORPUS    one file per decode group (fuzz_decode_seq)

CORPUS is ../shared/corpus (files/, groups.json). Datagrams come from the
bare payload files (*.dat, *.bin, *.ipfix) and from the UDP payloads of the
pcaps (files/**/*.pcap and verify/*.pcap). A bare file can hold several
messages back to back: IPFIX ones are split by the message length field,
v5 ones by the record count (ipfix.dat holds 3 IPFIX messages,
netflow5.dat 12 v5 datagrams, example_flows.ipfix 68 IPFIX messages).

A sequence is what fuzz_decode_seq reads: datagrams one after the other,
each preceded by its length (2 bytes, big-endian). One is written per
group of groups.json, its files' datagrams in the group's order, so that
templates come before the data that needs them.

Standard library only; classic pcap (either byte order, µs or ns),
Ethernet (802.1Q/QinQ skipped) and Linux cooked v1/v2, IPv4 and IPv6.
"""
import hashlib
import json
import os
import struct
import sys

SFLOW_PORT = 6343


def udp_payload(pkt):
    """The UDP payload of an IPv4/IPv6 packet, or None."""
    if not pkt:
        return None
    ver = pkt[0] >> 4
    if ver == 4:
        ihl = (pkt[0] & 15) * 4
        if len(pkt) < 20 or ihl < 20 or len(pkt) < ihl:
            return None
        if struct.unpack(">H", pkt[6:8])[0] & 0x3FFF:  # a fragment
            return None
        total = struct.unpack(">H", pkt[2:4])[0]
        pkt = pkt[:total] if total <= len(pkt) else pkt
        proto, off = pkt[9], ihl
    elif ver == 6:
        if len(pkt) < 40:
            return None
        proto, off = pkt[6], 40
        plen = struct.unpack(">H", pkt[4:6])[0]
        pkt = pkt[: 40 + plen] if 40 + plen <= len(pkt) else pkt
        while proto in (0, 43, 60):
            if off + 8 > len(pkt):
                return None
            proto, off = pkt[off], off + (pkt[off + 1] + 1) * 8
    else:
        return None
    if proto != 17 or off + 8 > len(pkt):
        return None
    sport, dport, ulen = struct.unpack(">HHH", pkt[off : off + 6])
    if SFLOW_PORT in (sport, dport):
        return None
    if ulen < 8 or off + ulen > len(pkt):
        return None  # cut by the snap length
    return pkt[off + 8 : off + ulen]


def pcap_datagrams(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return []  # pcapng is not read
    link = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    out, pos = [], 24
    while pos + 16 <= len(data):
        caplen = struct.unpack(e + "I", data[pos + 8 : pos + 12])[0]
        frame = data[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen
        if len(frame) < caplen:
            break
        if link == 1:  # Ethernet
            et, off = struct.unpack(">H", frame[12:14])[0] if len(frame) >= 14 else 0, 14
            while et in (0x8100, 0x88A8) and off + 4 <= len(frame):
                et, off = struct.unpack(">H", frame[off + 2 : off + 4])[0], off + 4
            if et not in (0x0800, 0x86DD):
                continue
        elif link == 113:  # Linux cooked v1
            off = 16
        elif link == 276:  # Linux cooked v2
            off = 20
        elif link in (12, 14, 101):  # raw IP
            off = 0
        elif link == 0:  # BSD loopback
            off = 4
        else:
            continue
        p = udp_payload(frame[off:])
        if p:
            out.append(p)
    return out


def split_bare(data):
    """Messages back to back in a bare payload file."""
    out, pos = [], 0
    while pos < len(data):
        rest = data[pos:]
        n = 0
        if len(rest) >= 16 and rest[:2] == b"\x00\x0a":
            n = struct.unpack(">H", rest[2:4])[0]
            n = n if 16 <= n <= len(rest) else 0
        elif len(rest) >= 24 and rest[:2] == b"\x00\x05":
            n = 24 + 48 * struct.unpack(">H", rest[2:4])[0]
            n = n if n <= len(rest) else 0
        if n == 0 or (pos == 0 and n == len(data)):
            out.append(rest)
            break
        out.append(rest[:n])
        pos += n
    return out


def datagrams_of(path):
    if path.endswith(".pcap"):
        return pcap_datagrams(path)
    with open(path, "rb") as f:
        data = f.read()
    return split_bare(data) if data else []


def write(outdir, name, data):
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:120]
    with open(os.path.join(outdir, safe), "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("datagrams", "sequences"):
        sys.stderr.write(__doc__)
        return 2
    mode, outdir, corpus = sys.argv[1:]
    os.makedirs(outdir, exist_ok=True)
    files = os.path.join(corpus, "files")
    n = 0
    if mode == "datagrams":
        seen = set()
        paths = []
        for root, _, names in os.walk(files):
            paths += [os.path.join(root, x) for x in names if x.endswith((".dat", ".bin", ".ipfix", ".pcap"))]
        vdir = os.path.join(corpus, "verify")
        if os.path.isdir(vdir):
            paths += [os.path.join(vdir, x) for x in os.listdir(vdir) if x.endswith(".pcap")]
        for path in sorted(paths):
            for i, d in enumerate(datagrams_of(path)):
                h = hashlib.sha1(d).hexdigest()
                if h in seen or len(d) > 65535:
                    continue
                seen.add(h)
                write(outdir, "c-%s-%d" % (os.path.relpath(path, corpus), i), d)
                n += 1
    else:
        with open(os.path.join(corpus, "groups.json")) as f:
            groups = json.load(f)
        for gname, members in groups.items():
            seq = bytearray()
            for m in members:
                for d in datagrams_of(os.path.join(files, m)):
                    if len(d) <= 65535:
                        seq += struct.pack(">H", len(d)) + d
            if seq:
                write(outdir, "g-" + gname, bytes(seq))
                n += 1
    print("fuzz/seeds.py: %d %s in %s" % (n, mode, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
