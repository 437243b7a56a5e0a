#!/bin/sh
# Every record the input decoded is either delivered or counted as lost, by
# cause: with the intake down and a small queue, records overflow the queue
# (counted, logged once) and what is still queued when the drain timeout
# ends is counted as lost at shutdown. Nothing disappears uncounted.
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
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in range(100):
    recs = b"".join(struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([10, 0, d, i]), bytes([192, 168, 0, i]),
                    bytes(4), 1, 2, 1, 100, 0, 0, 1000 + i, 53, 0, 0, 17, 0, 0, 0, 0, 0, 0) for i in range(30))
    s.sendto(struct.pack("!HHIIIIBBH", 5, 30, 1000, 1700000000, 0, d * 30, 0, 0, 0) + recs, ("127.0.0.1", 2055))
    time.sleep(0.002)
X
wait_for "queue full (1024 records): dropping records" "$TMP/daemon.log"
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
oversize=$(counter forwarder oversize)
echo "decoded=$decoded sent=$sent overflow=$overflow lost_at_shutdown=$lost send_errors=$errors oversize=$oversize"
[ "$decoded" = 3000 ] || fail "decoded $decoded records, sent 3000"
[ "$overflow" -gt 0 ] || fail "no queue overflow counted"
[ "$lost" -gt 0 ] || fail "nothing counted as lost at shutdown"
[ $((sent + overflow + lost + errors + oversize)) = "$decoded" ] ||
	fail "records unaccounted for: $decoded decoded, $((sent + overflow + lost + errors + oversize)) accounted"
grep -q "Key0123456789secret" "$TMP/daemon.log" && fail "the intake key was logged"
echo "PASS: every record delivered or counted as lost"
