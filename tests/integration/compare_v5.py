#!/usr/bin/env python3
"""Compare the daemon's NetFlow v5 JSON lines with tshark's decode of the same datagrams.

Usage: compare_v5.py [--complete] TSHARK.json DAEMON.jsonl

TSHARK.json comes from
  tshark -r CAP -d udp.port==PORT,cflow -T json -J "ip udp cflow" --no-duplicate-keys
Frames whose UDP payload is not a well-formed v5 datagram (version 5, count
1..30, length exactly 24 + 48 * count) are expected to be refused by the
daemon and are skipped; every record of every other frame must appear in
DAEMON.jsonl, in capture order, with exactly the v5 keys in record order and
the values tshark shows, then the keys the decoder adds (exporter, sampling
interval, absolute times) computed from tshark's header fields. Exit status 0 when everything matches.

--complete: the capture must hold an exporter's whole export (the reference
is then known to be complete): for each exporter (source address and port,
engine type and id) the first well-formed datagram has flow_sequence 0 and
each next one the previous flow_sequence plus the previous count. Only for
captures of real exporters, not of hand-made datagrams.
"""
import json
import sys

# (JSON key, tshark field) in v5 record order.
FIELDS = [
    ("IPV4_SRC_ADDR", "cflow.srcaddr"),
    ("IPV4_DST_ADDR", "cflow.dstaddr"),
    ("NEXT_HOP", "cflow.nexthop"),
    ("INPUT", "cflow.inputint"),
    ("OUTPUT", "cflow.outputint"),
    ("IN_PACKETS", "cflow.packets"),
    ("IN_OCTETS", "cflow.octets"),
    ("FIRST_SWITCHED", "cflow.timestart"),
    ("LAST_SWITCHED", "cflow.timeend"),
    ("SRC_PORT", "cflow.srcport"),
    ("DST_PORT", "cflow.dstport"),
    ("TCP_FLAGS", "cflow.tcpflags"),
    ("PROTO", "cflow.protocol"),
    ("TOS", "cflow.tos"),
    ("SRC_AS", "cflow.srcas"),
    ("DST_AS", "cflow.dstas"),
    ("SRC_MASK", "cflow.srcmask"),
    ("DST_MASK", "cflow.dstmask"),
]
ADDRS = {"IPV4_SRC_ADDR", "IPV4_DST_ADDR", "NEXT_HOP"}
TIMES = {"FIRST_SWITCHED", "LAST_SWITCHED"}


def find(d, key):
    """First value of `key` anywhere under d (tshark nests some fields in *_tree)."""
    if isinstance(d, dict):
        if key in d:
            return d[key]
        for v in d.values():
            r = find(v, key)
            if r is not None:
                return r
    return None


def number(s):
    return int(s, 16) if s.startswith("0x") else int(s)


def millis(s):
    """tshark shows sysUptime offsets as seconds with 9 decimals: back to ms."""
    whole, frac = s.split(".")
    if frac[3:].strip("0"):
        raise ValueError("sub-millisecond time %r" % s)
    return int(whole) * 1000 + int(frac[:3])


def added_keys(layers, cflow, rec):
    """The keys the decoder adds (docs/flow-fields.md), from tshark's header
    fields: the exporter is the datagram's IP source; the absolute times are
    CurrentSecs.CurrentNSecs - (SysUptime - FIRST/LAST_SWITCHED), floored to
    seconds; SAMPLING_INTERVAL is the header's SampleRate when not 0."""
    d = dict(rec)
    export_ms = int(find(cflow, "cflow.unix_secs")) * 1000 + int(find(cflow, "cflow.unix_nsecs")) // 1000000
    uptime = millis(find(cflow, "cflow.sysuptime"))
    out = [("exporterIPv4Address", find(layers.get("ip", {}), "ip.src"))]
    rate = find(cflow, "cflow.samplerate")
    if rate is not None and number(rate):
        out.append(("SAMPLING_INTERVAL", number(rate)))

    def secs(t):
        delta = (uptime - t) & 0xFFFFFFFF
        if delta >= 1 << 31:
            delta -= 1 << 32
        return (export_ms - delta) // 1000
    out.append(("flowStartSeconds", secs(d["FIRST_SWITCHED"])))
    out.append(("flowEndSeconds", secs(d["LAST_SWITCHED"])))
    return out


def valid_v5(payload):
    if len(payload) < 24:
        return False
    version = payload[0] << 8 | payload[1]
    count = payload[2] << 8 | payload[3]
    return version == 5 and 1 <= count <= 30 and len(payload) == 24 + 48 * count


def check_sequences(seqs):
    """seqs: {exporter: [(frame number, flow_sequence, count)]} in capture order."""
    errors = []
    for exporter, dgrams in seqs.items():
        want = 0
        for fno, seq, count in dgrams:
            if seq != want:
                errors.append("exporter %s frame %d: flow_sequence %d, expected %d (%s)"
                              % (exporter, fno, seq, want,
                                 "datagrams missing from the capture" if seq > want
                                 else "sequence went back"))
            want = (seq + count) & 0xFFFFFFFF
        print("exporter %s: %d datagrams, flow_sequence 0..%d" % (exporter, len(dgrams), want))
    return errors


def expected_records(tshark_json, seqs=None):
    frames = json.load(open(tshark_json))
    out, refused = [], 0
    for fno, fr in enumerate(frames, 1):
        layers = fr["_source"]["layers"]
        hexpay = find(layers.get("udp", {}), "udp.payload") or ""
        payload = bytes.fromhex(hexpay.replace(":", ""))
        if not valid_v5(payload):
            refused += 1
            continue
        cflow = layers.get("cflow")
        count = payload[2] << 8 | payload[3]
        if seqs is not None:
            exporter = "%s:%s engine %d/%d" % (find(layers.get("ip", {}), "ip.src"),
                                               find(layers.get("udp", {}), "udp.srcport"),
                                               payload[20], payload[21])
            seq = int.from_bytes(payload[16:20], "big")
            seqs.setdefault(exporter, []).append((fno, seq, count))
        pdus = [cflow["pdu %d/%d" % (i, count)] for i in range(1, count + 1)]
        for i, pdu in enumerate(pdus, 1):
            rec = []
            for key, tf in FIELDS:
                v = find(pdu, tf)
                if v is None:
                    raise SystemExit("frame %d pdu %d: tshark has no %s" % (fno, i, tf))
                if key in ADDRS:
                    rec.append((key, v))
                elif key in TIMES:
                    rec.append((key, millis(v)))
                else:
                    rec.append((key, number(v)))
            rec += added_keys(layers, cflow, rec)
            out.append(("frame %d pdu %d/%d" % (fno, i, count), rec))
    return out, refused, len(frames)


def main():
    args = sys.argv[1:]
    complete = "--complete" in args
    args = [a for a in args if a != "--complete"]
    if len(args) != 2:
        raise SystemExit("usage: compare_v5.py [--complete] TSHARK.json DAEMON.jsonl")
    seqs = {} if complete else None
    exp, refused, nframes = expected_records(args[0], seqs)
    seq_errors = check_sequences(seqs) if complete else []
    for e in seq_errors[:10]:
        print("INCOMPLETE CAPTURE: " + e)
    got = []
    for n, line in enumerate(open(args[1]), 1):
        line = line.strip()
        if line:
            got.append((n, json.loads(line, object_pairs_hook=list)))
    print("tshark: %d frames, %d refused as not well-formed v5, %d records; daemon: %d records"
          % (nframes, refused, len(exp), len(got)))
    bad = 0
    for (where, e), (lineno, g) in zip(exp, got):
        if e != g:
            bad += 1
            if bad <= 10:
                print("MISMATCH %s vs daemon line %d" % (where, lineno))
                ed, gd = dict(e), dict(g)
                if [k for k, _ in e] != [k for k, _ in g]:
                    print("  keys: expected %s" % [k for k, _ in e])
                    print("        got      %s" % [k for k, _ in g])
                for k in ed:
                    if ed.get(k) != gd.get(k):
                        print("  %s: tshark %r daemon %r" % (k, ed.get(k), gd.get(k)))
    if len(exp) != len(got):
        print("COUNT MISMATCH: tshark %d records, daemon %d" % (len(exp), len(got)))
        return 1
    if bad:
        print("%d records differ" % bad)
        return 1
    if seq_errors:
        print("%d flow_sequence gaps: the capture is not the whole export" % len(seq_errors))
        return 1
    print("all %d records match field by field" % len(exp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
