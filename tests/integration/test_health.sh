#!/bin/sh
# netflow-concentrator --health (the container's HEALTHCHECK): healthy while
# the daemon receives and delivers; unhealthy once an output has failed to
# deliver for longer than [core] health_fail_after, healthy again when it
# delivers; unhealthy when the daemon is gone (clean stop, or killed: the
# file it writes every second goes stale) or cannot write its state_dir.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3

mkdir "$TMP/state"
cat >"$TMP/nfc.ini" <<X
[core]
stats_interval=0
state_dir=$TMP/state
health_fail_after=3
drain_timeout=1
[listener]
bind=127.0.0.1
port=2055
[forwarder]
host=127.0.0.1
port=10515
tls=no
intake_key=Key0123456789secret
X
health() { "$NFC_BIN" -c "$TMP/nfc.ini" --health >"$TMP/health.out" 2>"$TMP/health.err"; }
expect() { # expect 0|1 PATTERN: --health's exit status and line
	health; rc=$?
	[ "$rc" = "$1" ] && grep -q "$2" "$TMP/health.out" ||
		{ cat "$TMP/health.out" "$TMP/health.err"; fail "--health exited $rc, expected $1 with '$2'"; }
}
expect 1 "unhealthy: .*health: No such file"
start_daemon "$TMP/nfc.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
sleep 1.5
expect 0 "^healthy: 1 input worker receiving, every output delivering"
# records while nothing listens on the intake's port: failing, then past 3 s
python3 -c 'import v5; v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 0, 0, i), PROTO=17) for i in range(30)]))'
sleep 1.5
expect 0 "^healthy: .*retrying, within health_fail_after"
sleep 3
expect 1 "unhealthy: output \[forwarder\] has failed to deliver for [0-9]* s (health_fail_after=3)"
# an intake appears (a plain TCP sink): delivering again, healthy
python3 - "$TMP/sink" <<'X' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 10515)); s.listen(1); s.settimeout(60)
c, _ = s.accept(); data = b""
while b"10.0.0.29" not in data:
    data += c.recv(65536)
open(sys.argv[1], "wb").write(data)
c.recv(1)
X
SINK=$!
NFC_PIDS="$NFC_PIDS $SINK"
n=200
until [ -s "$TMP/sink" ] || [ "$n" = 0 ]; do sleep 0.1; n=$((n - 1)); done
[ -s "$TMP/sink" ] || fail "the records did not reach the sink"
sleep 1.5
expect 0 "^healthy"
# a daemon that is killed leaves a file that goes stale
kill -KILL "$NFC_PID"; wait "$NFC_PID" 2>/dev/null
expect 0 "^healthy"  # still fresh
sleep 11
expect 1 "unhealthy: .* was last written [0-9]* s ago (the daemon stopped or hangs)"
# a clean stop removes it
start_daemon "$TMP/nfc.ini" "$TMP/daemon2.log"
wait_for "running" "$TMP/daemon2.log"
sleep 1.5
expect 0 "^healthy"
stop_daemon
expect 1 "unhealthy: .*No such file"
echo "PASS: --health follows delivery failures, recovery, a killed daemon and a clean stop"
