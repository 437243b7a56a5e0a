"""Captures for the corpus replay (corpus_check.py): pcap and pcapng reading,
the UDP datagram of a frame, and the corpus's wrapping of bare payloads."""
import ipaddress
import struct

PCAP_MAGIC = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
              b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}


def read_pcap(path):
    """[(linktype, ts_ns, frame bytes)] of a classic pcap or a pcapng file."""
    data = open(path, "rb").read()
    if data[:4] in PCAP_MAGIC:
        e, mult = PCAP_MAGIC[data[:4]]
        linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0FFFFFFF
        off, out = 24, []
        while off + 16 <= len(data):
            sec, sub, caplen, _ = struct.unpack_from(e + "IIII", data, off)
            off += 16
            out.append((linktype, sec * 10**9 + sub * mult, data[off:off + caplen]))
            off += caplen
        return out
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return read_pcapng(data)
    raise ValueError("%s: not a pcap or pcapng file" % path)


def read_pcapng(data):
    out, ifaces, e, off = [], [], "<", 0
    while off + 12 <= len(data):
        btype = struct.unpack_from(e + "I", data, off)[0]
        if btype == 0x0A0D0D0A:
            e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack_from(e + "I", data, off + 4)[0]
        body = data[off + 8:off + blen - 4]
        if btype == 1:  # interface description (ts resolution: microseconds assumed)
            ifaces.append(struct.unpack_from(e + "H", body, 0)[0])
        elif btype == 6:
            iface, hi, lo, caplen, _ = struct.unpack_from(e + "IIIII", body, 0)
            out.append((ifaces[iface], ((hi << 32) | lo) * 1000, body[20:20 + caplen]))
        elif btype == 3:
            out.append((ifaces[0], 0, body[4:]))
        off += blen
    return out


def udp_of(linktype, frame):
    """(src address, src port, dst port, payload offset, payload) of a UDP frame, else None.
    IP fragments are left out (nothing in the corpus is fragmented)."""
    off, ethertype = 0, None
    if linktype == 1:  # Ethernet, with VLAN tags
        off, ethertype = 14, frame[12:14]
        while ethertype in (b"\x81\x00", b"\x88\xa8") and len(frame) >= off + 4:
            ethertype, off = frame[off + 2:off + 4], off + 4
    elif linktype == 113:  # Linux cooked capture
        off, ethertype = 16, frame[14:16]
    elif linktype == 276:  # Linux cooked capture v2
        off, ethertype = 20, frame[0:2]
    elif linktype in (0, 108):  # BSD loopback
        fam = struct.unpack_from("<I" if linktype == 0 else ">I", frame, 0)[0]
        off, ethertype = 4, b"\x08\x00" if fam == 2 else b"\x86\xdd"
    elif linktype in (12, 14, 101):  # raw IP
        ethertype = b"\x08\x00" if frame[0] >> 4 == 4 else b"\x86\xdd"
    else:
        return None
    if ethertype == b"\x08\x00" and len(frame) >= off + 20:
        ihl = (frame[off] & 15) * 4
        if frame[off + 9] != 17 or struct.unpack_from("!H", frame, off + 6)[0] & 0x3FFF:
            return None
        src = str(ipaddress.IPv4Address(frame[off + 12:off + 16]))
        off += ihl
    elif ethertype == b"\x86\xdd" and len(frame) >= off + 40:
        nh, src, o = frame[off + 6], str(ipaddress.IPv6Address(frame[off + 8:off + 24])), off + 40
        while nh in (0, 43, 60) and len(frame) >= o + 8:
            nh, o = frame[o], o + 8 + frame[o + 1] * 8
        if nh != 17:
            return None
        off = o
    else:
        return None
    if len(frame) < off + 8:
        return None
    sport, dport, ulen = struct.unpack_from("!HHH", frame, off)
    end = min(len(frame), off + ulen) if ulen >= 8 else len(frame)
    return src, sport, dport, off + 8, frame[off + 8:end]


def ip_checksum(hdr):
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def wrap_pcap(payloads, dport=2055):
    """The corpus's verify/ wrapping of bare payloads: Ethernet 00:53:00:00:00:01 ->
    :02, IPv4 192.0.2.1 -> 192.0.2.2 (id = frame index), UDP 40000 -> dport with
    no checksum, one frame a second from 1600000001."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1)]
    for i, p in enumerate(payloads):
        ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(p), i & 0xFFFF, 0, 64, 17, 0,
                                   bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])))
        struct.pack_into("!H", ip, 10, ip_checksum(bytes(ip)))
        frame = (bytes.fromhex("005300000002005300000001") + b"\x08\x00" + bytes(ip) +
                 struct.pack("!HHHH", 40000, dport, 8 + len(p), 0) + p)
        out.append(struct.pack("<IIII", 1600000001 + i, 0, len(frame), len(frame)) + frame)
    return b"".join(out)


def split_payloads(data, n):
    """A bare-payload file holding n datagrams back to back (v5: by the record
    count, IPFIX: by the message length)."""
    if n <= 1:
        return [data]
    out, off = [], 0
    while off < len(data):
        version = struct.unpack_from("!H", data, off)[0]
        if version == 5:
            ln = 24 + 48 * struct.unpack_from("!H", data, off + 2)[0]
        elif version == 10:
            ln = struct.unpack_from("!H", data, off + 2)[0]
        else:
            raise ValueError("cannot split a version %d payload" % version)
        out.append(data[off:off + ln])
        off += ln
    if len(out) != n:
        raise ValueError("split into %d datagrams, not %d" % (len(out), n))
    return out


