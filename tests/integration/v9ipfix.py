"""NetFlow v9 export packets and IPFIX messages for the integration tests.

Each datagram carries one template (id 256: IPV4_SRC_ADDR, IPV4_DST_ADDR,
IN_BYTES, IN_PKTS, PROTOCOL, SRC_TOS, L4_SRC_PORT; 20 bytes, so data sets need
no padding) and then `n` data records of it, as exporters that resend their
templates with the data do. lib.sh puts this directory on PYTHONPATH:
`import v9ipfix`.
"""
import socket
import struct
import time

TEMPLATE_ID = 256
FIELDS = ((8, 4), (12, 4), (1, 4), (2, 4), (4, 1), (5, 1), (7, 2))  # (element id, length)


def _set(set_id, body):
    return struct.pack("!HH", set_id, 4 + len(body)) + body


def _sets(template_set_id, n):
    template = struct.pack("!HH", TEMPLATE_ID, len(FIELDS)) + b"".join(struct.pack("!HH", *f) for f in FIELDS)
    records = b"".join(struct.pack("!4s4sIIBBH", bytes((10, 9, i >> 8 & 255, i & 255)), bytes((10, 8, 0, 1)),
                                   100 + i, 1, 17, 0, 1024 + i) for i in range(n))
    return _set(template_set_id, template) + _set(TEMPLATE_ID, records)


def v9(n, seq, source_id, uptime=1000, secs=None):
    """A v9 export packet; `seq` counts the exporter's export packets."""
    sets = _sets(0, n)
    return struct.pack("!HHIIII", 9, 1 + n, uptime, int(time.time()) if secs is None else secs, seq,
                       source_id) + sets


def ipfix(n, seq, domain, secs=None):
    """An IPFIX message; `seq` counts the data records sent before it in the domain."""
    sets = _sets(2, n)
    return struct.pack("!HHIII", 10, 16 + len(sets), int(time.time()) if secs is None else secs, seq,
                       domain) + sets


def sender(source="127.0.0.1"):
    """A UDP socket sending from `source` (any 127.0.0.0/8 address is a
    different exporter on the loopback)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((source, 0))
    return s
