"""NetFlow v5 datagrams for the integration tests.

A 24-byte header and 48-byte records (../../shared/registries/netflow-v5-fields.tsv).
record() takes the fields by the JSON key the daemon writes for them, so a
test states its expectations in the same names. lib.sh puts this directory on
PYTHONPATH: `import v5`.
"""
import socket
import struct

HEADER = struct.Struct("!HHIIIIBBH")
RECORD = struct.Struct("!4s4s4sHHIIIIHHBBBBHHBBH")
ADDRESSES = ("IPV4_SRC_ADDR", "IPV4_DST_ADDR", "NEXT_HOP")
NUMBERS = ("INPUT", "OUTPUT", "IN_PACKETS", "IN_OCTETS", "FIRST_SWITCHED", "LAST_SWITCHED",
           "SRC_PORT", "DST_PORT", "TCP_FLAGS", "PROTO", "TOS", "SRC_AS", "DST_AS", "SRC_MASK",
           "DST_MASK")


def _addr(a):
    """A dotted string, or four octets (bytes, list, tuple)."""
    return socket.inet_aton(a) if isinstance(a, str) else bytes(a)


def record(**fields):
    """One 48-byte record; absent fields are 0 (addresses 0.0.0.0)."""
    unknown = set(fields) - set(ADDRESSES) - set(NUMBERS)
    if unknown:
        raise KeyError("not a v5 field: %s" % ", ".join(sorted(unknown)))
    a = [_addr(fields.get(k, bytes(4))) for k in ADDRESSES]
    n = {k: fields.get(k, 0) for k in NUMBERS}
    return RECORD.pack(a[0], a[1], a[2], n["INPUT"], n["OUTPUT"], n["IN_PACKETS"], n["IN_OCTETS"],
                       n["FIRST_SWITCHED"], n["LAST_SWITCHED"], n["SRC_PORT"], n["DST_PORT"], 0,
                       n["TCP_FLAGS"], n["PROTO"], n["TOS"], n["SRC_AS"], n["DST_AS"], n["SRC_MASK"],
                       n["DST_MASK"], 0)


def datagram(records, seq=0, uptime=1000, secs=1700000000, engine_type=0, engine_id=0, count=None,
             version=5):
    """A header and the records; `count` and `version` may lie, for malformed datagrams."""
    return HEADER.pack(version, len(records) if count is None else count, uptime, secs, 0, seq,
                       engine_type, engine_id, 0) + b"".join(records)


def send(data, port=2055, host="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(data, (host, port))
    s.close()
