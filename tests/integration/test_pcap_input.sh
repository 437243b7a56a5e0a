#!/bin/sh
# The pcap input: capture files built byte by byte (tests/integration/
# pcapgen.py) around the NetFlow v5 datagrams of tests/data are replayed,
# and the daemon ends by itself (exit 0) once every record is written.
# Checked: the record count the v5 decoder must take from the bytes; each
# record's receive time (the syslog timestamp of the sekoia output, over
# plain TCP to a local sink) is its frame's capture time; the exporter
# address, when the records carry it, is the frame's source; every link
# type, VLAN tags, IPv4 options, IPv6 extension headers; malformed frames,
# fragments, snapped frames and other traffic counted and skipped; a file
# cut mid-frame read up to the cut; pcapng; start-up refusals; 200k records
# through a 1024-record queue with no loss (throttling); SIGTERM while the
# input is held back by a stuck output; the shared corpus.
. "$NFC_SRCDIR/tests/integration/lib.sh"
need_cmd python3 editcap timeout

KEY=Key0123456789secret
NFC_DATA="$TMP" python3 - "$NFC_SRCDIR" <<'X' || fail "cannot build the captures"
import json, os, struct, sys
import pcapgen as g
import v5

src = sys.argv[1]
tmp = os.environ["NFC_DATA"]
payloads = g.v5_payloads(src)
T0 = 1700000000


class Capture:
    """Frames and what the daemon must make of them."""

    def __init__(self):
        self.frames, self.dgs = [], []
        self.counters = dict(frames=0, non_udp=0, other_port=0, fragments=0, snapped=0, malformed_frames=0)
        self.nbytes = 0

    def add(self, data, kind=None, payload=None, src=None, wire=None, nano=False):
        i = len(self.frames)
        sec, frac = T0 + 7 * i, ((i * 104729 + 13) % 1000000000 if nano else (i * 7919 + 3) % 1000000)
        self.frames.append((sec, frac, data) + ((wire,) if wire else ()))
        self.counters["frames"] += 1
        if kind:
            self.counters[kind] += 1
        if payload is not None:
            self.dgs.append(dict(records=g.v5_records(payload), sec=sec,
                                 usec=frac // 1000 if nano else frac, src=src))
            self.nbytes += len(payload)

    def save(self, name, linktype, nano=False):
        g.write_pcap(os.path.join(tmp, name + ".pcap"), linktype, self.frames, nano=nano)
        json.dump(dict(datagrams=self.dgs, counters=self.counters, bytes=self.nbytes),
                  open(os.path.join(tmp, name + ".expect"), "w"))


D4, D6 = "192.0.2.1", "2001:db8::1"

# --- Ethernet: every encapsulation, with all sorts of other frames between.
c = Capture()
encaps = [
    ("192.0.2.10", 40001, lambda ip: g.ether(ip, g.ETH_IPV4)),
    ("192.0.2.11", 40002, lambda ip: g.ether(ip, g.ETH_IPV4, vlans=[(g.ETH_VLAN, 100)])),
    ("192.0.2.12", 40003, lambda ip: g.ether(ip, g.ETH_IPV4, vlans=[(g.ETH_QINQ, 10), (g.ETH_VLAN, 20)])),
    ("192.0.2.13", 40004, "options"),
    ("2001:db8::10", 40005, ()),
    ("2001:db8::11", 40006, ((0, b"\x01\x02\x00\x00"), (60, b""))),
    ("2001:db8::12", 40007, ((44, g.frag6(0, False)),)),  # an atomic fragment is a whole packet
    ("2001:db8::13", 40008, ((43, b"\x00\x00\x00\x00\x00\x00"), (51, bytes(12)))),
    ("::ffff:192.0.2.14", 40009, ()),  # given as IPv4
]
junk = [
    (g.ether(bytes(28), g.ETH_ARP), "non_udp", None),
    (g.ether(g.ipv4("192.0.2.20", D4, bytes(20), proto=6), g.ETH_IPV4), "non_udp", None),
    (g.ether(g.ipv6("2001:db8::20", D6, bytes(8), proto=58), g.ETH_IPV6), "non_udp", None),
    (g.ether(g.ipv4("192.0.2.20", D4, bytes(40), proto=6, mf=True), g.ETH_IPV4), "non_udp", None),
    (g.ether(g.ipv6("2001:db8::20", D6, bytes(40), proto=6, ext=((44, g.frag6(9, False)),)), g.ETH_IPV6),
     "non_udp", None),
    (g.ether(g.ipv4("192.0.2.21", D4, g.udp(40010, 9995, payloads[0])), g.ETH_IPV4), "other_port", None),
    (g.ether(g.ipv6("2001:db8::21", D6, g.udp(40011, 9995, payloads[1])), g.ETH_IPV6), "other_port", None),
    (g.ether(g.ipv4("192.0.2.22", D4, g.udp(40012, 2055, payloads[2])[:64], mf=True), g.ETH_IPV4),
     "fragments", None),
    (g.ether(g.ipv4("192.0.2.22", D4, payloads[2][56:], frag=8), g.ETH_IPV4), "fragments", None),
    (g.ether(g.ipv6("2001:db8::22", D6, g.udp(40013, 2055, payloads[3])[:64], ext=((44, g.frag6(0, True)),)),
             g.ETH_IPV6), "fragments", None),
    (g.ether(g.ipv6("2001:db8::22", D6, payloads[3][56:], ext=((44, g.frag6(8, False)),)), g.ETH_IPV6),
     "fragments", None),
    (bytes.fromhex("02000000000202000000"), "malformed_frames", None),  # 10 bytes: no Ethernet header
    (g.ether(g.ipv4("192.0.2.23", D4, g.udp(40014, 2055, payloads[4]), total=2000), g.ETH_IPV4),
     "malformed_frames", None),
    (g.ether(g.ipv4("192.0.2.23", D4, g.udp(40014, 2055, payloads[4], length=3000)), g.ETH_IPV4),
     "malformed_frames", None),
    (g.ether(g.ipv4("192.0.2.23", D4, g.udp(40014, 2055, payloads[4], length=4)), g.ETH_IPV4),
     "malformed_frames", None),
    (g.ether(g.ipv4("192.0.2.23", D4, g.udp(40014, 2055, payloads[4]), ihl=4), g.ETH_IPV4),
     "malformed_frames", None),
    (g.ether(g.ipv6("2001:db8::23", D6, g.udp(40015, 2055, payloads[4]), plen=1500), g.ETH_IPV6),
     "malformed_frames", None),
    (g.ether(g.ipv6("2001:db8::23", D6, g.udp(40015, 2055, payloads[4]), ext=[(60, b"")] * 17), g.ETH_IPV6),
     "malformed_frames", None),
    (g.ether(b"", g.ETH_VLAN, pad=False), "malformed_frames", None),  # the tag is missing
    # a destination options header claiming 48 bytes of an 8-byte payload
    (g.ether(g.ipv6("2001:db8::23", D6, b"\x11\x05" + bytes(6), proto=60), g.ETH_IPV6), "malformed_frames", None),
]
snapped_frame = g.ether(g.ipv4("192.0.2.24", D4, g.udp(40016, 2055, payloads[5])), g.ETH_IPV4)
short = b"\x00\x05" + bytes(8)  # 52 bytes of frame, padded to 60: the padding is not payload
for i, p in enumerate(payloads + [short]):
    ip, port, how = encaps[i % len(encaps)]
    udp = g.udp(port, 2055, p)
    if how == "options":
        frame = g.ether(g.ipv4(ip, D4, udp, options=b"\x94\x04\x00\x00\x07\x07\x04"), g.ETH_IPV4)
    elif callable(how):
        frame = how(g.ipv4(ip, D4, udp))
    else:
        frame = g.ether(g.ipv6(ip, D6, udp, ext=how), g.ETH_IPV6)
    c.add(frame, payload=p, src=ip.replace("::ffff:", ""))
    if i < len(junk):
        c.add(junk[i][0], junk[i][1])
for j in junk[len(payloads) + 1:]:
    c.add(j[0], j[1])
c.add(snapped_frame[:100], "snapped", wire=len(snapped_frame))
c.add(snapped_frame[:8], "snapped", wire=len(snapped_frame))
c.add(g.ether(g.ipv4("192.0.2.25", D4, g.udp(40017, 2055, payloads[6])), g.ETH_IPV4), payload=payloads[6],
      src="192.0.2.25")
c.save("ether", g.LINKTYPE_ETHERNET)

# The same file cut in the middle of its frame 20: frames 0..19 are read.
frames = c.frames
cut_dgs = [d for d in c.dgs if d["sec"] < frames[20][0]]
g.write_pcap(os.path.join(tmp, "cut.pcap"), g.LINKTYPE_ETHERNET, frames)
size = 24 + sum(16 + len(f[2]) for f in frames[:20]) + 16 + 10
with open(os.path.join(tmp, "cut.pcap"), "r+b") as f:
    f.truncate(size)
json.dump(dict(datagrams=cut_dgs, counters=None, bytes=None), open(os.path.join(tmp, "cut.expect"), "w"))

# --- Linux cooked v1 and v2, raw IP, BSD loopback (host order, and network
# order with another system's AF_INET6): IPv4, IPv6, a VLAN in the cooked header, ARP.
def null(ip, et):
    return struct.pack("<I", 2 if et == g.ETH_IPV4 else 30) + ip


def loop(ip, et):
    return struct.pack(">I", 2 if et == g.ETH_IPV4 else 24) + ip


for name, lt, wrap in (("sll", g.LINKTYPE_LINUX_SLL, g.sll), ("sll2", g.LINKTYPE_LINUX_SLL2, g.sll2),
                       ("raw", g.LINKTYPE_RAW, None), ("null", 0, null), ("loop", 108, loop)):
    c = Capture()
    for i, p in enumerate(payloads):
        if i % 2:
            ip, ipp, et = "2001:db8::30", g.ipv6("2001:db8::30", D6, g.udp(40020 + i, 2055, p)), g.ETH_IPV6
        else:
            ip, ipp, et = "198.51.100.%d" % i, g.ipv4("198.51.100.%d" % i, D4, g.udp(40020 + i, 2055, p)), g.ETH_IPV4
        if name.startswith("sll") and i % 3 == 0:
            frame = wrap(struct.pack("!HH", 5, et) + ipp, g.ETH_VLAN)
        else:
            frame = wrap(ipp, et) if wrap else ipp
        c.add(frame, payload=p, src=ip)
    if name.startswith("sll"):
        c.add(wrap(bytes(28), g.ETH_ARP), "non_udp")
    c.add(bytes.fromhex("5f00"), "malformed_frames")  # neither IPv4 nor IPv6
    c.save(name, lt)

# --- Nanosecond timestamps (pcapng is made from it with editcap).
c = Capture()
for i, p in enumerate(payloads):
    ip = "203.0.113.%d" % (i + 1)
    c.add(g.ether(g.ipv4(ip, D4, g.udp(2055, 2055, p)), g.ETH_IPV4), payload=p, src=ip, nano=True)
c.save("nano", g.LINKTYPE_ETHERNET, nano=True)

# --- A read error that is not a cut: a frame header claiming more than the snap length.
c = Capture()
for i, p in enumerate(payloads[:2]):
    c.add(g.ether(g.ipv4("192.0.2.40", D4, g.udp(40040, 2055, p)), g.ETH_IPV4), payload=p, src="192.0.2.40")
c.save("corrupt", g.LINKTYPE_ETHERNET)
with open(os.path.join(tmp, "corrupt.pcap"), "ab") as f:
    f.write(struct.pack("<IIII", T0, 0, 0x7FFFFFF0, 0x7FFFFFF0) + bytes(64))

# --- An 802.11 capture: a link type the input does not read.
g.write_pcap(os.path.join(tmp, "wifi.pcap"), 105, [(T0, 0, bytes(40))])

# --- 200,010 records in 6,667 datagrams, 100 us apart.
frames, n = [], 0
for d in range(6667):
    recs = [v5.record(IPV4_SRC_ADDR=(10, d >> 8 & 255, d & 255, i), IPV4_DST_ADDR=(10, 9, 9, i),
                      IN_PACKETS=1, IN_OCTETS=64, SRC_PORT=d % 60000 + 1, DST_PORT=i + 1, PROTO=17)
            for i in range(30)]
    frames.append((T0 + d // 10000, (d % 10000) * 100,
                   g.ether(g.ipv4("192.0.2.50", D4, g.udp(40050, 2055, v5.datagram(recs, seq=d * 30))),
                           g.ETH_IPV4)))
g.write_pcap(os.path.join(tmp, "large.pcap"), g.LINKTYPE_ETHERNET, frames)
X
editcap -F pcapng "$TMP/nano.pcap" "$TMP/nano.pcapng" || fail "editcap cannot write pcapng"
cp "$TMP/nano.expect" "$TMP/nano.pcapng.expect"
# A pcapng cut inside its third block from the end: everything before it is read.
python3 - "$TMP/nano.pcapng" "$TMP/nano.expect" "$TMP/cutng.pcapng" "$TMP/cutng.expect" <<'X' || fail "cannot cut the pcapng"
import json, struct, sys
data = open(sys.argv[1], "rb").read()
off, blocks = 0, []
while off < len(data):
    btype, blen = struct.unpack("<II", data[off:off + 8])
    blocks.append((off, btype, blen))
    off += blen
cut = [b for b in blocks if b[1] == 6][-3]  # enhanced packet blocks
open(sys.argv[3], "wb").write(data[:cut[0] + cut[2] // 2])
e = json.load(open(sys.argv[2]))
e["datagrams"] = e["datagrams"][:-3]
assert sum(d["records"] for d in e["datagrams"]) < sum(d["records"] for d in json.load(open(sys.argv[2]))["datagrams"])
e["counters"] = e["bytes"] = None
json.dump(e, open(sys.argv[4], "w"))
X

# check NAME OUT SINK LOG: the records of the JSON lines and the sink's frames
# against NAME.expect: count, receive time, exporter; the stats line's counters.
check() {
	python3 - "$NFC_SRCDIR" "$TMP/$1.expect" "$2" "$3" "$4" <<'X' || { NFC_KEEP_TMP=1; fail "$1: see above (files kept in $TMP)"; }
import datetime, json, os, re, sys
src, expect, out, sink, log = sys.argv[1:6]
e = json.load(open(expect))
want = []  # (time, exporter) per record, in order
for d in e["datagrams"]:
    t = datetime.datetime.fromtimestamp(d["sec"], datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    want += [("%s.%06dZ" % (t, d["usec"]), d["src"])] * d["records"]
recs = [json.loads(l) for l in open(out)]
assert len(recs) == len(want), "%s: %d records written, %d expected" % (out, len(recs), len(want))
# Once the v9 decoder lands, every record names its exporter.
need_exporter = os.path.isdir(os.path.join(src, "plugins", "decoders", "netflow_v9"))


def exporter(r):
    a = r.get("exporterIPv4Address", r.get("exporterIPv6Address"))
    assert a is not None or not need_exporter, "no exporterIPv4Address/exporterIPv6Address in %s" % r
    return a


for i, (r, (_, ip)) in enumerate(zip(recs, want)):
    a = exporter(r)
    assert a is None or a == ip, "record %d: exporter %s, the frame came from %s" % (i, a, ip)
if sink != "-":
    frames = json.load(open(sink))
    assert len(frames) == len(want), "sink: %d frames, %d expected" % (len(frames), len(want))
    for i, ((ts, js), (wts, ip)) in enumerate(zip(frames, want)):
        assert ts == wts, "frame %d: receive time %s, captured at %s" % (i, ts, wts)
        a = exporter(json.loads(js))
        assert a is None or a == ip, "frame %d: exporter %s, the frame came from %s" % (i, a, ip)
text = open(log).read()
stats = re.findall(r"\[listener\] stats: (.*)", text)
assert stats, "no stats line of [listener]"
got = dict(kv.split("=") for kv in stats[-1].split())
if e["counters"]:
    for k, v in e["counters"].items():
        assert int(got[k]) == v, "counter %s=%s, expected %d" % (k, got[k], v)
    assert int(got["datagrams"]) == len(e["datagrams"]), "datagrams=%s, expected %d" % (got["datagrams"], len(e["datagrams"]))
if e["bytes"] is not None:
    assert int(got["bytes"]) == e["bytes"], "bytes=%s, expected %d (padding taken as payload?)" % (got["bytes"], e["bytes"])
assert int(got["records"]) == len(want), "records=%s, expected %d" % (got["records"], len(want))
print("%s: %d records, times and exporters as captured (exporter %s)" %
      (os.path.basename(expect), len(want), "checked" if any(exporter(r) for r in recs) else "not in the records yet"))
X
}

# sink_start: a TCP server on a free loopback port ($SINK_PORT) that writes
# the [timestamp, JSON] of every RFC 5424 frame it received to $TMP/sink.json
# when the connection closes.
sink_start() {
	rm -f "$TMP/sink.json" "$TMP/sink.port" "$TMP/sink.conn"
	python3 - "$TMP/sink.port" "$TMP/sink.json" "$TMP/sink.conn" <<'X' &
import json, os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.settimeout(120)
frames = []
while True:
    c, _ = s.accept()
    open(sys.argv[3], "w").close()
    chunks = []
    while True:
        d = c.recv(1 << 20)
        if not d:
            break
        chunks.append(d)
    c.close()
    buf, off = b"".join(chunks), 0
    while off < len(buf):
        sp = buf.index(b" ", off)
        n = int(buf[off:sp])
        msg = buf[sp + 1:sp + 1 + n].decode()
        off = sp + 1 + n
        frames.append([msg.split(" ")[1], msg[msg.index("] {") + 2:].rstrip("\n")])
    json.dump(frames, open(sys.argv[2] + ".tmp", "w"))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
X
	SINK_PID=$!
	NFC_PIDS="$NFC_PIDS $SINK_PID"
	n=100
	while [ ! -f "$TMP/sink.port" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	SINK_PORT=$(cat "$TMP/sink.port") || fail "the sink did not start"
}

# replay NAME FILE [LISTENER-LINES [CORE-LINES]]: run the daemon on FILE with a
# JSON-lines output and the sekoia output to the sink, until it exits by
# itself (30 s at most); sets RC, and $TMP/NAME.{json,log,sink}.
replay() {
	sink_start
	rm -f "$TMP/$1.json"
	printf '[core]\nstats_interval=0\n%b\n[listener]\nplugin=pcap\npath=%s\n%b\n[output json]\nplugin=file\npath=%s\n[forwarder]\nhost=127.0.0.1\nport=%s\ntls=no\nintake_key=%s\n' \
		"${4:-}" "$2" "${3:-}" "$TMP/$1.json" "$SINK_PORT" "$KEY" >"$TMP/$1.ini"
	RC=0
	timeout 30 "$NFC_BIN" -c "$TMP/$1.ini" >"$TMP/$1.out" 2>"$TMP/$1.log" || RC=$?
	[ "$RC" = 124 ] && { cat "$TMP/$1.log"; fail "$1: the daemon did not end by itself"; }
	# the daemon has closed its connection, if it made one: the sink has seen the end
	n=100
	while [ -f "$TMP/sink.conn" ] && [ ! -f "$TMP/sink.json" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null
	[ -f "$TMP/sink.json" ] || echo '[]' >"$TMP/sink.json"
	mv "$TMP/sink.json" "$TMP/$1.sink"
}

# replay_ok NAME FILE [LISTENER-LINES]: replay, exit 0, records as expected.
replay_ok() {
	replay "$@"
	[ "$RC" = 0 ] || { cat "$TMP/$1.log"; fail "$1: the daemon exited $RC"; }
	grep -q "all inputs ended: delivering what is queued" "$TMP/$1.log" ||
		{ cat "$TMP/$1.log"; fail "$1: no end-of-data line"; }
	grep -q "$KEY" "$TMP/$1.log" && fail "the intake key was logged"
	check "$1" "$TMP/$1.json" "$TMP/$1.sink" "$TMP/$1.log"
}

replay_ok ether "$TMP/ether.pcap" "port=2055"
grep -q "capture file $TMP/ether.pcap (Ethernet, UDP to port 2055)" "$TMP/ether.log" ||
	fail "the start-up line does not describe the file and the filter"
grep -q "frame [0-9]*: malformed (.*): skipped" "$TMP/ether.log" || fail "no log line about a malformed frame"
for t in sll sll2 raw null loop nano; do replay_ok "$t" "$TMP/$t.pcap"; done
replay_ok nano.pcapng "$TMP/nano.pcapng"

# A file cut mid-frame: read up to the cut, then the normal end (exit 0).
replay_ok cut "$TMP/cut.pcap" "port=2055"
grep -q "ends in the middle of a frame" "$TMP/cut.log" || fail "the cut is not reported"
replay_ok cutng "$TMP/cutng.pcapng"
grep -q "ends in the middle of a frame" "$TMP/cutng.log" || fail "the pcapng cut is not reported"

# A read error: what came before is delivered, the daemon still ends, exit 1.
replay corrupt "$TMP/corrupt.pcap"
[ "$RC" = 1 ] || { cat "$TMP/corrupt.log"; fail "a read error gave exit status $RC, not 1"; }
grep -q "corrupt.pcap: read error after frame 2" "$TMP/corrupt.log" || { cat "$TMP/corrupt.log"; fail "no read error line"; }
check corrupt "$TMP/corrupt.json" "$TMP/corrupt.sink" "$TMP/corrupt.log"

# Refused at start, naming the file: missing (also by --check-config), not a
# capture, a link type not supported, no path at all.
refused() { # NAME PATTERN [LISTENER-LINES]
	printf '[listener]\nplugin=pcap\n%b\n[output json]\nplugin=file\npath=%s\n' "$3" "$TMP/$1.json" >"$TMP/$1.ini"
	timeout 10 "$NFC_BIN" -c "$TMP/$1.ini" >"$TMP/$1.log" 2>&1 && fail "$1: started"
	grep -q -- "$2" "$TMP/$1.log" || { cat "$TMP/$1.log"; fail "$1: no line matching '$2'"; }
}
refused missing "$TMP/missing.ini:3: \[listener\] path: cannot read the capture file $TMP/nope.pcap: No such file or directory" \
	"path=$TMP/nope.pcap"
"$NFC_BIN" -c "$TMP/missing.ini" -t >/dev/null 2>&1 && fail "--check-config accepts a missing capture file"
refused notpcap "$NFC_SRCDIR/tests/data/logstash-codec-netflow/netflow5.dat is not a capture file libpcap can read" \
	"path=$NFC_SRCDIR/tests/data/logstash-codec-netflow/netflow5.dat"
refused wifi "$TMP/wifi.pcap: link type .* is not supported" "path=$TMP/wifi.pcap"
refused nopath "\[listener\] path: missing"

# 200,010 records through 1024-record queues: the input waits, nothing is lost.
replay large "$TMP/large.pcap" "" "queue_records=1024"
[ "$RC" = 0 ] || { cat "$TMP/large.log"; fail "large: the daemon exited $RC"; }
[ "$(wc -l <"$TMP/large.json")" = 200010 ] || { cat "$TMP/large.log"; fail "large: $(wc -l <"$TMP/large.json") of 200010 records written"; }
python3 - "$TMP/large.sink" <<'X' || fail "large: the sekoia output did not get every record"
import json, sys
n = len(json.load(open(sys.argv[1])))
assert n == 200010, "%d frames" % n
X
grep -q "\[json\] stats: records=200010 .*queue_overflow=0 " "$TMP/large.log" || { grep stats "$TMP/large.log"; fail "large: loss in [json]"; }
grep -q "\[forwarder\] stats: records=200010 .*queue_overflow=0 " "$TMP/large.log" || { grep stats "$TMP/large.log"; fail "large: loss in [forwarder]"; }

# An output that never takes anything holds the input back; SIGTERM still
# stops the daemon promptly (the throttle returns when the daemon stops).
python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$TMP/closed.port"
printf '[core]\nstats_interval=0\nqueue_records=1024\ndrain_timeout=1\n[listener]\nplugin=pcap\npath=%s\n[output json]\nplugin=file\npath=%s\n[forwarder]\nhost=127.0.0.1\nport=%s\ntls=no\nintake_key=%s\n' \
	"$TMP/large.pcap" "$TMP/stuck.json" "$(cat "$TMP/closed.port")" "$KEY" >"$TMP/stuck.ini"
start_daemon "$TMP/stuck.ini" "$TMP/stuck.log"
wait_for "running" "$TMP/stuck.log"
sleep 2
kill -0 "$NFC_PID" 2>/dev/null || { cat "$TMP/stuck.log"; fail "stuck: the daemon ended with an output that takes nothing"; }
grep -q "all inputs ended" "$TMP/stuck.log" && fail "stuck: the input was not held back"
t0=$(date +%s)
stop_daemon
[ $(($(date +%s) - t0)) -le 6 ] || fail "stuck: SIGTERM took more than 6 s"
grep -q "stopped before the end of $TMP/large.pcap" "$TMP/stuck.log" || { cat "$TMP/stuck.log"; fail "stuck: no early-stop line"; }

# The shared corpus: v5 captures as published, and a Linux cooked IPv6 one.
if [ -d "$NFC_CORPUS/verify" ]; then
	for f in logstash_Netflow_5_valid_01_27 akvorado_nfv5; do
		python3 - "$NFC_CORPUS/verify/$f.pcap" "$TMP/$f.expect" <<'X' || fail "cannot read $f with tshark"
import json, subprocess, sys
out = subprocess.run(["tshark", "-r", sys.argv[1], "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src",
                      "-e", "udp.length"], capture_output=True, text=True, check=True).stdout
import pcapgen as g
from pcapgen import v5_records
# the records of each datagram, counted from its bytes (tshark -x gives them)
raw = subprocess.run(["tshark", "-r", sys.argv[1], "-T", "fields", "-e", "udp.payload"], capture_output=True,
                     text=True, check=True).stdout.split()
dgs = []
for line, hexp in zip(out.splitlines(), raw):
    t, ip, _ = line.split("\t")
    sec, frac = t.split(".")
    dgs.append(dict(records=v5_records(bytes.fromhex(hexp.replace(":", ""))), sec=int(sec),
                    usec=int((frac + "000000")[:6]), src=ip))
json.dump(dict(datagrams=dgs, counters=None, bytes=None), open(sys.argv[2], "w"))
X
		replay_ok "$f" "$NFC_CORPUS/verify/$f.pcap"
	done
	f=pmacct_112-IPFIXv10-CISCO-options-map-reassignment_traffic-00.pcap.pcap
	replay cooked "$NFC_CORPUS/verify/$f"
	[ "$RC" = 0 ] || { cat "$TMP/cooked.log"; fail "cooked: the daemon exited $RC"; }
	grep -q "\[listener\] stats: datagrams=21 .* frames=21 non_udp=0 " "$TMP/cooked.log" ||
		{ grep stats "$TMP/cooked.log"; fail "cooked: not 21 datagrams from 21 frames"; }
else
	echo "no corpus at $NFC_CORPUS: its captures are not replayed"
fi
echo "PASS: capture files replayed with their times and sources, everything else counted"
