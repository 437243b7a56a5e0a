#!/bin/sh
# The UDP input against the real daemon: IPv4, IPv6, dual-stack and host-name
# binds, two SO_REUSEPORT workers, the start-up line naming the address, and a
# port already in use stopping start-up with one clear message.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3

PORT=2055

# send_v5 HOST PORT DATAGRAMS RECORDS SOCKETS: NetFlow v5 datagrams of RECORDS
# records each, spread over SOCKETS source ports (the kernel balances
# SO_REUSEPORT workers by source port), flow_sequence continuous per socket.
cat >"$TMP/send_v5.py" <<'EOF'
import socket, sys, time
import v5
host, port, ndg, nrec, nsock = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
socks = [socket.socket(fam, socket.SOCK_DGRAM) for _ in range(nsock)]
seq = [0] * nsock
now = int(time.time())
for i in range(ndg):
    k = i % nsock
    recs = []
    for r in range(nrec):
        n = i * nrec + r
        recs.append(v5.record(IPV4_SRC_ADDR=(10, (n >> 16) & 255, (n >> 8) & 255, n & 255),
                              IPV4_DST_ADDR=(192, 0, 2, r & 255), INPUT=1, OUTPUT=2, IN_PACKETS=10 + r,
                              IN_OCTETS=1000 + n, FIRST_SWITCHED=90000, LAST_SWITCHED=99000,
                              SRC_PORT=1024 + (n % 60000), DST_PORT=443, TCP_FLAGS=0x1b, PROTO=6,
                              SRC_MASK=24, DST_MASK=24))
    socks[k].sendto(v5.datagram(recs, seq=seq[k], uptime=100000 + i, secs=now, engine_id=k), (host, port))
    seq[k] += nrec
    if i % 50 == 49:
        time.sleep(0.01)
EOF

# write_config BIND [EXTRA]: a listener on BIND:$PORT and a file output.
write_config() {
	cat >"$TMP/nfc.ini" <<EOF
[listener]
bind=$1
port=$PORT
${2:-}

[output json]
plugin=file
path=$TMP/out.json
EOF
}

# expect_lines N FILE: wait until FILE has exactly N lines (fail on more, or timeout).
expect_lines() {
	n=100
	while [ "$n" -gt 0 ]; do
		got=$(wc -l <"$2" 2>/dev/null || echo 0)
		[ "$got" -eq "$1" ] && return 0
		[ "$got" -gt "$1" ] && fail "$2: $got lines, expected $1"
		sleep 0.1; n=$((n - 1))
	done
	fail "$2: $got lines after 10 s, expected $1"
}

# run_case NAME BIND ADDR_IN_LOG SEND_TO... : start, check the start-up line
# names the address, send 20 datagrams of 10 records to every SEND_TO
# address, check every record is written, stop.
run_case() {
	name=$1; bind=$2; shown=$3; shift 3
	rm -f "$TMP/out.json"
	write_config "$bind"
	start_daemon "$TMP/nfc.ini" "$TMP/$name.log"
	wait_for "udp $shown" "$TMP/$name.log"
	want=0
	for to in "$@"; do
		python3 "$TMP/send_v5.py" "$to" "$PORT" 20 10 1 || fail "$name: cannot send to $to"
		want=$((want + 200))
	done
	expect_lines "$want" "$TMP/out.json"
	stop_daemon
	echo "ok: $name"
}

run_case ipv4 127.0.0.1 "127.0.0.1:$PORT" 127.0.0.1
run_case any4 0.0.0.0 "0.0.0.0:$PORT" 127.0.0.1

if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	run_case ipv6 ::1 "\[::1\]:$PORT" ::1
	# "::" is dual stack: IPv4 senders arrive too.
	run_case dualstack :: "\[::\]:$PORT" ::1 127.0.0.1
else
	echo "note: no IPv6 on loopback, IPv6 cases skipped"
fi

# A host name: the address it resolved to is named in the start-up line.
rm -f "$TMP/out.json"
write_config localhost
start_daemon "$TMP/nfc.ini" "$TMP/name.log"
wait_for "udp .*:$PORT" "$TMP/name.log"
addr=$(sed -n "s/.*udp \[\{0,1\}\([0-9a-f.:]*[0-9a-f]\)\]\{0,1\}:$PORT.*/\1/p" "$TMP/name.log" | head -1)
case "$addr" in
127.0.0.1|::1) ;;
*) fail "localhost resolved to '$addr'" ;;
esac
python3 "$TMP/send_v5.py" "$addr" "$PORT" 20 10 1
expect_lines 200 "$TMP/out.json"
stop_daemon
echo "ok: localhost ($addr)"

# Two workers: 8 source ports spread over both sockets; every record arrives.
rm -f "$TMP/out.json"
write_config 127.0.0.1 "workers=2"
start_daemon "$TMP/nfc.ini" "$TMP/workers.log"
wait_for "udp 127.0.0.1:$PORT.*2 workers" "$TMP/workers.log"
python3 "$TMP/send_v5.py" 127.0.0.1 "$PORT" 400 25 8
expect_lines 10000 "$TMP/out.json"
stop_daemon
echo "ok: workers=2"

# wait_file FILE: the port holder below creates FILE once it has bound.
wait_file() {
	n=100
	while [ ! -e "$1" ] && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
	[ -e "$1" ] || fail "the port holder did not start"
}

# A port already in use: the daemon stops at start with one clear line.
python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $PORT))
open('$TMP/held1', 'w').close()
time.sleep(60)" &
HOLDER=$!
NFC_PIDS="$NFC_PIDS $HOLDER"
wait_file "$TMP/held1"
write_config 127.0.0.1
"$NFC_BIN" -c "$TMP/nfc.ini" >"$TMP/busy.out" 2>"$TMP/busy.log" &
busy=$!
n=100
while kill -0 "$busy" 2>/dev/null && [ "$n" -gt 0 ]; do sleep 0.1; n=$((n - 1)); done
kill -0 "$busy" 2>/dev/null && { kill "$busy"; fail "daemon still running with its port in use"; }
wait "$busy"; rc=$?
[ "$rc" != 0 ] || fail "daemon exited 0 with its port in use"
grep -q "cannot bind 127.0.0.1:$PORT: Address already in use - another collector is running" "$TMP/busy.log" ||
	{ cat "$TMP/busy.log"; fail "no clear 'port in use' message"; }
[ "$(grep -c 'cannot bind' "$TMP/busy.log")" = 1 ] || { cat "$TMP/busy.log"; fail "more than one bind error line"; }
echo "ok: port in use (exit $rc)"

# workers=2 must not join a port held by another process through SO_REUSEPORT.
python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(('127.0.0.1', $((PORT + 1))))
open('$TMP/held2', 'w').close()
time.sleep(60)" &
NFC_PIDS="$NFC_PIDS $!"
wait_file "$TMP/held2"
PORT=$((PORT + 1))
write_config 127.0.0.1 "workers=2"
timeout 10 "$NFC_BIN" -c "$TMP/nfc.ini" >"$TMP/busy2.out" 2>"$TMP/busy2.log"
rc=$?
[ "$rc" != 0 ] || fail "workers=2 joined a port another process holds with SO_REUSEPORT"
grep -q "Address already in use" "$TMP/busy2.log" || { cat "$TMP/busy2.log"; fail "no clear message (reuseport)"; }
echo "ok: no silent SO_REUSEPORT sharing"
exit 0
