#!/bin/sh
# The sekoia_http output against a local HTTPS intake stand-in
# (https_intake.py: TLS with a test CA, the documented batch contract):
# 1. faults: answers 500, 429, a stalled request (past timeout=), 401 (the
#    key refused: logged once, in plain words), 503, then 200: every record
#    arrives exactly once, bodies are gzip'd, delivered counts only 2xx;
# 2. throughput shape: slow answers make several requests run at once over
#    at most max_inflight persistent connections, every record once;
# 3. the loss invariant: decoded = delivered, nothing counted lost;
# 4. --test-connection: connects and verifies without sending anything,
#    --send-test-event delivers one event, a refused key and a certificate
#    from another CA (TLS interception) FAIL with the fix, exit status 1.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3 openssl

KEY=Http0123456789Key
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout "$TMP/ca.key" \
	-out "$TMP/ca.pem" -subj "/CN=Test HTTPS CA" -addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign >"$TMP/openssl.log" 2>&1 &&
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$TMP/srv.ext" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$TMP/srv.key" -out "$TMP/srv.csr" >>"$TMP/openssl.log" 2>&1 &&
	openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial -days 2 \
		-extfile "$TMP/srv.ext" -out "$TMP/srv.pem" >>"$TMP/openssl.log" 2>&1 ||
	fail "openssl: $(cat "$TMP/openssl.log")"

# start_server NAME: the stand-in in $TMP/NAME on port 8443
start_server() {
	mkdir -p "$TMP/$1"
	python3 "$NFC_SRCDIR/tests/integration/https_intake.py" "$TMP/$1" 8443 "$TMP/srv.pem" "$TMP/srv.key" "$KEY" \
		>"$TMP/$1/server.log" 2>&1 &
	SRV_PID=$!
	NFC_PIDS="$NFC_PIDS $SRV_PID"
	n=100
	until [ -e "$TMP/$1/ready" ]; do
		n=$((n - 1)); [ "$n" -gt 0 ] || fail "the HTTPS stand-in did not start: $(cat "$TMP/$1/server.log")"
		sleep 0.1
	done
}
stop_server() { kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; }
# config NAME EXTRA...: a daemon with one sekoia_http output
config() {
	f="$TMP/$1.ini"; shift
	cat >"$f" <<X
[core]
stats_interval=0
drain_timeout=5
[listener]
bind=127.0.0.1
port=2055
[output https]
plugin=sekoia_http
url=https://127.0.0.1:8443/batch
intake_key=$KEY
ca_file=$TMP/ca.pem
timeout=2
X
	for kv in "$@"; do echo "$kv" >>"$f"; done
}
# send N_DATAGRAMS FIRST: v5 datagrams of 30 records, record ids FIRST.. in
# SRC_PORT/DST_PORT
send() {
	python3 - "$1" "$2" <<'X'
import sys, time, v5
n, first = int(sys.argv[1]), int(sys.argv[2])
for d in range(n):
    recs = []
    for i in range(30):
        k = first + 30 * d + i
        recs.append(v5.record(IPV4_SRC_ADDR=(10, 1, (k >> 8) & 255, k & 255), IPV4_DST_ADDR=(192, 0, 2, 1),
                              SRC_PORT=k >> 16, DST_PORT=k & 0xffff, IN_PACKETS=1, IN_OCTETS=60, PROTO=17))
    v5.send(v5.datagram(recs, seq=first + 30 * d))
    time.sleep(0.002)
X
}
# wait_events DIR N: until DIR/events has N lines (30 s)
wait_events() {
	wait_lines "$1/events" "$2" 30 || { cat "$1/stats"; fail "$(wc -l <"$1/events" 2>/dev/null || echo 0) events of $2 arrived"; }
}
# check_events DIR FIRST N: each record id FIRST..FIRST+N-1 exactly once
check_events() {
	python3 - "$1/events" "$2" "$3" <<'X' || fail "the intake did not get every record exactly once"
import collections, json, sys
first, n = int(sys.argv[2]), int(sys.argv[3])
ids = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    ids[(e["SRC_PORT"] << 16) | e["DST_PORT"]] += 1
dup = [k for k, c in ids.items() if c > 1]
missing = [k for k in range(first, first + n) if ids[k] == 0]
extra = [k for k in ids if not first <= k < first + n]
assert not dup and not missing and not extra, "dup %s missing %s extra %s" % (dup[:5], missing[:5], extra[:5])
print("%d records, each once" % n)
X
}
counter() { sed -n "s/.*\[$1\] stats:.* $2=\([0-9]*\).*/\1/p" "$TMP/daemon.log" | tail -n 1; }

# 1. faults, in this order, then 200s
start_server faults
printf '500\n429\nstall\n503\n' >"$TMP/faults/plan"
config faults
start_daemon "$TMP/faults.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
send 100 0
wait_events "$TMP/faults" 3000
stop_daemon
check_events "$TMP/faults" 0 3000
python3 - "$TMP/faults/stats" <<'X' || fail "the faults were not all answered"
import json, sys
s = json.load(open(sys.argv[1]))
a = s["answers"]
assert a.get("500") == 1 and a.get("429") == 1 and a.get("503") == 1, a
assert s["gzip"] == s["requests"], "a request without gzip: %s" % s
X
[ "$(counter https records)" = 3000 ] || fail "delivered $(counter https records), not 3000"
[ "$(counter listener records)" = 3000 ] || fail "decoded $(counter listener records), not 3000"
grep -q "timed out\|Timeout" "$TMP/daemon.log" || fail "the stalled request was not reported"
stop_server

# 2. the key refused (401) for a while: logged once, records kept, then
#    delivered once the intake accepts the key (the stand-in restarted with it)
start_server refused
config refused
sed -i "s/^intake_key=.*/intake_key=Wrong0123456789Key/" "$TMP/refused.ini"
start_daemon "$TMP/refused.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
send 20 100000
wait_for "refused the intake key (HTTP 401)" "$TMP/daemon.log" 10
sleep 3
[ "$(grep -c 'refused the intake key' "$TMP/daemon.log")" = 1 ] || fail "the refused key was not logged exactly once"
grep -q "Wrong0123456789Key" "$TMP/daemon.log" && fail "the intake key was logged"
[ ! -s "$TMP/refused/events" ] || fail "events accepted with a wrong key"
stop_server
KEY=Wrong0123456789Key
start_server refused2
KEY=Http0123456789Key
wait_events "$TMP/refused2" 600
stop_daemon
check_events "$TMP/refused2" 100000 600
stop_server

# 3. several requests in flight on persistent connections
start_server conc
yes slow | head -n 400 >"$TMP/conc/plan"
config conc max_inflight=4
start_daemon "$TMP/conc.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
python3 - <<'X'
import v5
for d in range(1000):
    v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 2, d >> 8, d & 255), SRC_PORT=(200000 + 30 * d + i) >> 16,
                                   DST_PORT=(200000 + 30 * d + i) & 0xffff, IN_PACKETS=1, IN_OCTETS=60, PROTO=17)
                         for i in range(30)], seq=30 * d))
X
wait_events "$TMP/conc" 30000
stop_daemon
check_events "$TMP/conc" 200000 30000
python3 - "$TMP/conc/stats" <<'X' || fail "requests were not run several at a time on persistent connections"
import json, sys
s = json.load(open(sys.argv[1]))
print(s)
assert s["max_concurrent"] >= 2, s
assert s["connections"] <= 4, s
assert s["requests"] >= 4, s
X
[ "$(counter https lost_at_shutdown)" = 0 ] || fail "records lost at shutdown"
stop_server

# 4. --test-connection
start_server diag
config diag
tc() { NETFLOW_CONCENTRATOR_PLUGIN_DIR="$NFC_BUILDDIR/build-plugins" "$NFC_BIN" -c "$@" 2>"$TMP/tc.err"; }
tc "$TMP/diag.ini" --test-connection >"$TMP/tc1.out" || { cat "$TMP/tc1.out" "$TMP/tc.err"; fail "--test-connection failed against a working intake"; }
grep -q "OK  *connect and TLS handshake *127.0.0.1 port 8443, certificate and host name verified" "$TMP/tc1.out" ||
	{ cat "$TMP/tc1.out"; fail "no verified TLS step"; }
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$TMP/diag/stats")" = 0 ] ||
	fail "--test-connection sent a request without --send-test-event"
tc "$TMP/diag.ini" --test-connection --send-test-event >"$TMP/tc2.out" || { cat "$TMP/tc2.out"; fail "--send-test-event failed"; }
grep -q "OK  *test event *accepted by the intake (HTTP 200)" "$TMP/tc2.out" || { cat "$TMP/tc2.out"; fail "no accepted test event"; }
[ "$(wc -l <"$TMP/diag/events")" = 1 ] && grep -q "test-connection test event" "$TMP/diag/events" ||
	fail "the intake did not get exactly one test event"
sed "s/^intake_key=.*/intake_key=Wrong0123456789Key/" "$TMP/diag.ini" >"$TMP/diag-key.ini"
if tc "$TMP/diag-key.ini" --test-connection --send-test-event >"$TMP/tc3.out"; then fail "a refused key passed"; fi
grep -q "FAIL  *test event *the intake refused the intake key (HTTP 401); fix: copy the intake key again" "$TMP/tc3.out" ||
	{ cat "$TMP/tc3.out"; fail "the refused key is not explained"; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -keyout "$TMP/other.key" \
	-out "$TMP/other.pem" -subj "/CN=Other CA" >/dev/null 2>&1 || fail "openssl"
sed "s|^ca_file=.*|ca_file=$TMP/other.pem|" "$TMP/diag.ini" >"$TMP/diag-ca.ini"
if tc "$TMP/diag-ca.ini" --test-connection >"$TMP/tc4.out"; then fail "an untrusted certificate passed"; fi
grep -q "FAIL  *connect and TLS handshake .*fix: the server's certificate is not trusted: TLS interception" "$TMP/tc4.out" ||
	{ cat "$TMP/tc4.out"; fail "the untrusted certificate is not explained"; }
grep -q "$KEY\|Wrong0123456789Key" "$TMP"/tc*.out "$TMP/tc.err" && fail "the intake key was printed"
stop_server
echo "PASS: sekoia_http: faults, a refused key and concurrency, every record exactly once; --test-connection"
