"""Capture files for the pcap input's tests, written byte by byte.

Frames are built from the layers up (udp(), ipv4(), ipv6(), then a link
header: ether(), sll(), sll2(), or none for raw IP) and written with
write_pcap(), classic pcap in micro- or nanosecond resolution; editcap
turns one into pcapng. v5_payloads() gives the NetFlow v5 datagrams of
tests/data with the number of records the v5 decoder must take from each,
counted from the bytes. lib.sh puts this directory on PYTHONPATH.
"""
import os
import socket
import struct

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8


def _csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def udp(sport, dport, payload, length=None):
    """A UDP header and payload; `length` may lie (checksum left 0)."""
    return struct.pack("!HHHH", sport, dport, 8 + len(payload) if length is None else length, 0) + payload


def ipv4(src, dst, l4, proto=17, options=b"", frag=0, mf=False, total=None, ihl=None):
    """An IPv4 header before `l4`. `options` are padded to 4 bytes; `frag`
    is the fragment offset in 8-byte units; `total` and `ihl` may lie."""
    options += b"\x01" * (-len(options) % 4)  # NOP padding
    hl = 20 + len(options)
    flags = (0x2000 if mf else 0) | frag
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | (hl // 4 if ihl is None else ihl), 0,
                    hl + len(l4) if total is None else total, 0x1234, flags, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst)) + options
    h = h[:10] + struct.pack("!H", _csum(h)) + h[12:]
    return h + l4


def ipv6(src, dst, l4, proto=17, ext=(), plen=None):
    """An IPv6 header, then extension headers given as (type, body) with
    the body padded to the 8-octet format (fragment: body of 6 bytes)."""
    chain = b""
    types = [t for t, _ in ext] + [proto]
    for i, (t, body) in enumerate(ext):
        nh = types[i + 1]
        if t == 44:  # fragment: fixed 8 bytes
            chain += struct.pack("!BB", nh, 0) + body
        elif t == 51:  # AH: length in 4-octet units minus 2
            body += b"\0" * (-(len(body) + 2) % 4)
            chain += struct.pack("!BB", nh, (len(body) + 2) // 4 - 2) + body
        else:
            body += b"\0" * (-(len(body) + 2) % 8)
            chain += struct.pack("!BB", nh, (len(body) + 2) // 8 - 1) + body
    payload = chain + l4
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload) if plen is None else plen,
                       types[0], 64, socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def frag6(offset, more, ident=7):
    """The 6 bytes after next-header/reserved of an IPv6 fragment header."""
    return struct.pack("!HI", (offset << 3) | (1 if more else 0), ident)


def ether(payload, ethertype, vlans=(), pad=True):
    """Ethernet II, with 802.1Q tags given as (tpid, vid); padded to 60 bytes."""
    f = bytes.fromhex("020000000002") + bytes.fromhex("020000000001")
    for tpid, vid in vlans:
        f += struct.pack("!HH", tpid, vid)
    f += struct.pack("!H", ethertype) + payload
    if pad and len(f) < 60:
        f += b"\0" * (60 - len(f))
    return f


def sll(payload, proto):
    """Linux cooked capture v1: 16 bytes."""
    return struct.pack("!HHH8sH", 0, 1, 6, bytes.fromhex("0200000000010000"), proto) + payload


def sll2(payload, proto):
    """Linux cooked capture v2: 20 bytes."""
    return struct.pack("!HHIHBB8s", proto, 0, 2, 1, 0, 6, bytes.fromhex("0200000000010000")) + payload


def write_pcap(path, linktype, frames, nano=False, snaplen=262144):
    """frames: (seconds, fraction, data[, wire length]) with the fraction
    in micro- or nanoseconds as the file's resolution."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype))
        for fr in frames:
            sec, frac, data = fr[:3]
            wire = fr[3] if len(fr) > 3 else len(data)
            f.write(struct.pack("<IIII", sec, frac, len(data), wire) + data)


def v5_records(d):
    """Records the v5 decoder takes from datagram `d`: all or none."""
    if len(d) < 24:
        return 0
    version, count = struct.unpack("!HH", d[:4])
    if version != 5 or not 1 <= count <= 30 or len(d) != 24 + 48 * count:
        return 0
    return count


def v5_payloads(srcdir):
    """The NetFlow v5 payloads of tests/data (netflow5.dat split into its 12
    datagrams), valid and invalid, in a fixed order."""
    data = os.path.join(srcdir, "tests", "data")
    out = []
    raw = open(os.path.join(data, "logstash-codec-netflow", "netflow5.dat"), "rb").read()
    while raw:
        n = 24 + 48 * struct.unpack("!H", raw[2:4])[0]
        out.append(raw[:n])
        raw = raw[n:]
    for name in ("logstash-codec-netflow/netflow5_test_juniper_mx80.dat",
                 "logstash-codec-netflow/netflow5_test_microtik.dat",
                 "logstash-codec-netflow/netflow5_test_invalid01.dat",
                 "logstash-codec-netflow/netflow5_test_invalid02.dat",
                 "goflow2/nfv5_TestDecodeNetFlowV5_data.bin",
                 "python-netflow-v9-softflowd/PACKET_V5.bin",
                 "python-netflow-v9-softflowd/PACKET_INVALID.bin"):
        out.append(open(os.path.join(data, name), "rb").read())
    return out
