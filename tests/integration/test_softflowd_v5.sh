#!/bin/sh
# NetFlow v5 end to end: softflowd exports a generated capture to the daemon,
# tcpdump records the datagrams on the wire, and tshark's decode of that
# capture is the reference every JSON line of the daemon is compared with,
# field by field, in order. Between two softflowd runs a burst of garbage,
# truncated and inconsistent datagrams (interleaved with valid ones) must be
# refused without losing a valid record or stopping the daemon.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd softflowd tshark python3 tcpdump

PORT=2055
HERE="$NFC_SRCDIR/tests/integration"
OUT="$TMP/out.json"

# export_pcap PCAP: softflowd reads the capture and exports v5 to the daemon.
export_pcap() {
	softflowd -d -a -r "$1" -n "127.0.0.1:$PORT" -v 5 -c none -p "$TMP/softflowd.pid" \
		>>"$TMP/softflowd.log" 2>&1 || fail "softflowd failed on $1: $(cat "$TMP/softflowd.log")"
}

python3 "$HERE/gen_traffic_pcap.py" "$TMP/a.pcap" 300 1 || fail "cannot generate a.pcap"
python3 "$HERE/gen_traffic_pcap.py" "$TMP/b.pcap" 200 2 || fail "cannot generate b.pcap"


start_json_daemon "$PORT" "$OUT"

capture_start "$PORT"

# 1. a first softflowd export
export_pcap "$TMP/a.pcap"
wait_stable "$OUT" || fail "no records from the first softflowd export"
n1=$(wc -l <"$OUT")

# 2. garbage, truncated and inconsistent datagrams around valid ones
python3 - "$PORT" <<'EOF' || fail "cannot send the garbage burst"
import os, socket, sys, time
import v5
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

def dg(count, seq, nrec=None, version=5):
    nrec = count if nrec is None else nrec
    recs = [v5.record(IPV4_SRC_ADDR=(198, 51, 100, i % 256), IPV4_DST_ADDR=(203, 0, 113, (seq + i) % 256),
                      NEXT_HOP=(192, 0, 2, 1), INPUT=3, OUTPUT=4, IN_PACKETS=10 + i, IN_OCTETS=1000 + i,
                      FIRST_SWITCHED=5000 + i, LAST_SWITCHED=6000 + i, SRC_PORT=1024 + i, DST_PORT=80,
                      TCP_FLAGS=0x1b, PROTO=6, TOS=0x28, SRC_AS=64500, DST_AS=64501, SRC_MASK=24,
                      DST_MASK=16) for i in range(nrec)]
    return v5.datagram(recs, seq=seq, uptime=123456, engine_type=1, engine_id=2, count=count,
                       version=version)

seq = 0
def valid(n):
    global seq
    d = dg(n, seq); seq += n
    return d

bad = [
    os.urandom(21), b"\xff" * 21, b"", b"\x00\x05", dg(2, 0)[:23],      # short / empty
    dg(0, 0, 0), dg(31, 0, 31), dg(65535, 0, 30),                      # count out of range
    dg(2, 0)[:-1], dg(2, 0) + b"\x00", dg(3, 0, 2), dg(1, 0, 2),        # length != 24+48n
    dg(2, 0, version=1), dg(2, 0, version=9)[:60], os.urandom(1400),    # other versions
]
for rnd in range(20):
    s.sendto(valid(1 + rnd % 30), ("127.0.0.1", port))
    for b in bad:
        s.sendto(b, ("127.0.0.1", port))
    s.sendto(os.urandom(24 + 48 * (rnd % 31)), ("127.0.0.1", port))
    time.sleep(0.01)
s.sendto(valid(30), ("127.0.0.1", port))
EOF
wait_stable "$OUT" || fail "no records after the garbage burst"
kill -0 "$NFC_PID" 2>/dev/null || fail "daemon died during the garbage burst: $(tail -20 "$TMP/daemon.log")"
n2=$(wc -l <"$OUT")
[ "$n2" -gt "$n1" ] || fail "valid datagrams among the garbage produced no records"

# 3. a second softflowd export after the garbage
export_pcap "$TMP/b.pcap"
n=0
while [ "$(wc -l <"$OUT")" = "$n2" ] && [ "$n" -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
wait_stable "$OUT" || fail "no records from the second softflowd export"
kill -0 "$NFC_PID" 2>/dev/null || fail "daemon died: $(tail -20 "$TMP/daemon.log")"

capture_stop

stop_daemon
compare_v5 "$OUT"
echo "PASS: $(wc -l <"$OUT") records match tshark"
