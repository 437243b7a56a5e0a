#!/bin/sh
# Every record the input decoded is either delivered or counted as lost, by
# cause: with the intake down and a small queue, records fill the output's
# delivery window (8 MiB of encoded frames, about 21,000 of these records),
# then overflow the queue (counted, logged once), and what is still held
# when the drain timeout ends is counted as lost at shutdown. Nothing
# disappears uncounted.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3

cat > "$TMP/nfc.ini" <<X
[core]
queue_records=1024
drain_timeout=1
stats_interval=0
[listener]
bind=127.0.0.1
port=2055
[forwarder]
host=127.0.0.1
port=10514
tls=no
intake_key=Key0123456789secret
X
start_daemon "$TMP/nfc.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
python3 - <<'X'
import time
import v5
for d in range(1000):
    v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, d >> 8, d & 255, i), IPV4_DST_ADDR=(192, 168, 0, i), INPUT=1,
                                   OUTPUT=2, IN_PACKETS=1, IN_OCTETS=100, SRC_PORT=1000 + i, DST_PORT=53,
                                   PROTO=17) for i in range(30)], seq=d * 30))
    time.sleep(0.002)
X
wait_for "queue full (1024 records or 512 MiB)" "$TMP/daemon.log"
stop_daemon
grep -q "records could not be delivered before the drain timeout and were lost" "$TMP/daemon.log" ||
	{ cat "$TMP/daemon.log"; fail "no line about records lost at shutdown"; }
[ "$(grep -c 'queue full' "$TMP/daemon.log")" = 1 ] || fail "the overflow warning is not logged once per episode"

# The final stats lines: decoded = delivered + every counted loss.
counter() {
	v=$(sed -n "s/.*\[$1\] stats:.* $2=\([0-9]*\).*/\1/p" "$TMP/daemon.log" | tail -n 1)
	[ -n "$v" ] || fail "no $2 counter in the stats line of [$1]"
	echo "$v"
}
decoded=$(counter listener records)
sent=$(counter forwarder records)
overflow=$(counter forwarder queue_overflow)
lost=$(counter forwarder lost_at_shutdown)
errors=$(counter forwarder send_errors)
refused=$(counter forwarder refused)
echo "decoded=$decoded sent=$sent overflow=$overflow lost_at_shutdown=$lost send_errors=$errors refused=$refused"
[ "$decoded" = 30000 ] || fail "decoded $decoded records, sent 30000"
[ "$overflow" -gt 0 ] || fail "no queue overflow counted"
[ "$lost" -gt 0 ] || fail "nothing counted as lost at shutdown"
[ $((sent + overflow + lost + errors + refused)) = "$decoded" ] ||
	fail "records unaccounted for: $decoded decoded, $((sent + overflow + lost + errors + refused)) accounted"
grep -q "Key0123456789secret" "$TMP/daemon.log" && fail "the intake key was logged"

# Records the output refuses (over max_event_size) are counted as refused,
# not as delivered: a plain TCP sink counts the frames that really arrive.
# Frames of the small records are ~386 bytes, of the large ones ~477.
python3 - "$TMP/sink.count" <<'X' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 10515)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); data = b""
while True:
    d = c.recv(65536)
    if not d: break
    data += d
open(sys.argv[1], "w").write(str(data.count(b" <14>1 ")))
X
SINK=$!
NFC_PIDS="$NFC_PIDS $SINK"
wait_tcp() { n=50; while [ $n -gt 0 ]; do grep -qi ":$(printf %04X "$1") .* 0A " /proc/net/tcp && return 0; sleep 0.1; n=$((n-1)); done; return 1; }
wait_tcp 10515 || fail "the sink did not start"
sed -e 's/^port=10514/port=10515/' -e 's/^queue_records=1024/queue_records=100000/' "$TMP/nfc.ini" > "$TMP/refuse.ini"
printf 'max_event_size=430\nhostname=h\n' >> "$TMP/refuse.ini"
# the sizes above are those of the bare v5 keys: no added keys in this phase
printf '[decoder netflow_v5]\nadd_exporter=no\nadd_sampling=no\nadd_times=no\n' >> "$TMP/refuse.ini"
start_daemon "$TMP/refuse.ini" "$TMP/refuse.log"
wait_for "running" "$TMP/refuse.log"
python3 - <<'X'
import v5
# short addresses and numbers make small frames, long ones large frames
small = lambda i: v5.record(IPV4_SRC_ADDR=(1, 1, 1, i), IPV4_DST_ADDR=(2, 2, 2, 2), INPUT=1, OUTPUT=2,
                            IN_PACKETS=1, IN_OCTETS=1, FIRST_SWITCHED=1, LAST_SWITCHED=1, SRC_PORT=1,
                            DST_PORT=2, PROTO=17)
large = lambda i: v5.record(IPV4_SRC_ADDR=(192, 168, 100, 200 + i), IPV4_DST_ADDR=(192, 168, 200, 200),
                            NEXT_HOP=(255, 255, 255, 255), INPUT=65535, OUTPUT=65535, IN_PACKETS=4000000000,
                            IN_OCTETS=4000000000, FIRST_SWITCHED=4000000000, LAST_SWITCHED=4000000000,
                            SRC_PORT=65535, DST_PORT=65535, TCP_FLAGS=255, PROTO=255, TOS=255, SRC_AS=65535,
                            DST_AS=65535, SRC_MASK=32, DST_MASK=32)
v5.send(v5.datagram([small(i) if i % 2 else large(i) for i in range(30)]))
X
wait_for "connected to 127.0.0.1:10515" "$TMP/refuse.log"
sleep 1
stop_daemon
wait "$SINK"
cp "$TMP/refuse.log" "$TMP/daemon.log"
arrived=$(cat "$TMP/sink.count")
sent=$(counter forwarder records)
refused=$(counter forwarder refused)
oversize=$(counter forwarder oversize)
echo "refusal phase: sent=$sent arrived=$arrived refused=$refused oversize=$oversize"
[ "$refused" -gt 0 ] && [ "$sent" -gt 0 ] || fail "expected some records refused and some sent"
[ "$arrived" = "$sent" ] || fail "the output counted $sent records sent, $arrived arrived"
[ $((sent + refused)) = 30 ] || fail "30 records: $sent sent + $refused refused"
[ "$oversize" = "$refused" ] || fail "oversize $oversize, refused $refused"
# An intake that accepts the connection but never reads: the daemon still
# exits within drain_timeout (1 s here), counting what it could not send.
python3 -c "
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind(('127.0.0.1', 10516)); s.listen(1)
c, _ = s.accept(); time.sleep(60)" &
NFC_PIDS="$NFC_PIDS $!"
wait_tcp 10516 || fail "the stalled sink did not start"
sed -e 's/^port=10514/port=10516/' -e 's/^queue_records=1024/queue_records=1M/' "$TMP/nfc.ini" > "$TMP/stall.ini"
start_daemon "$TMP/stall.ini" "$TMP/stall.log"
wait_for "running" "$TMP/stall.log"
python3 - <<'X'
import v5
r = [v5.record(IPV4_SRC_ADDR=(10, 0, 0, i), IN_PACKETS=1, IN_OCTETS=1, PROTO=6) for i in range(30)]
for k in range(2000):
    v5.send(v5.datagram(r, seq=k * 30, uptime=1, secs=1))
X
wait_for "connected to 127.0.0.1:10516" "$TMP/stall.log"
sleep 1
t0=$(date +%s)
stop_daemon
[ $(( $(date +%s) - t0 )) -le 4 ] || fail "the daemon took $(( $(date +%s) - t0 )) s to stop with drain_timeout=1"
cp "$TMP/stall.log" "$TMP/daemon.log"
[ "$(counter forwarder lost_at_shutdown)" -gt 0 ] || fail "nothing counted as lost with a stalled intake"
echo "PASS: every record delivered or counted as lost"
