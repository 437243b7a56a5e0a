#!/bin/sh
# [core] metrics: the Prometheus endpoint, scraped and parsed by a real
# Prometheus text parser (Debian's python3-prometheus-client): the counters
# of the stats line per instance with the values the traffic sent gives,
# the outputs' gauges, build info, per-exporter series; 404 elsewhere; a bad
# address stops start-up with the file, line and key. --status against the
# traffic sent: records/s during a steady send, one row per exporter address
# merging its v9 and IPFIX streams (versions, domains, templates, gaps), the
# inputs' and outputs' rows; without a daemon or an endpoint, what it says.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3
PY=/usr/bin/python3
$PY -c 'import prometheus_client.parser' 2>/dev/null || skip "python3-prometheus-client not installed (Debian package)"

cat >"$TMP/nfc.ini" <<X
[core]
stats_interval=0
metrics=127.0.0.1:9108
[listener]
bind=127.0.0.1
port=2055
[output json]
plugin=file
path=$TMP/out.json
X
start_daemon "$TMP/nfc.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
wait_for "metrics on http://127.0.0.1:9108/metrics" "$TMP/daemon.log"
python3 - <<'X'
import socket, v5
for d in range(3):
    v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 0, d, i), PROTO=17) for i in range(30)], seq=30 * d))
v5.send(b"\x00\x05\x00")  # too short: malformed
X
wait_lines "$TMP/out.json" 90 || fail "the records did not arrive"
$PY - <<'X' || fail "the metrics do not say what the traffic was"
import urllib.request
from prometheus_client.parser import text_string_to_metric_families
r = urllib.request.urlopen("http://127.0.0.1:9108/metrics", timeout=5)
assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
fams = {f.name: f for f in text_string_to_metric_families(r.read().decode())}
def value(name, **labels):
    for s in fams[name].samples:
        if all(s.labels.get(k) == v for k, v in labels.items()) and s.name.endswith(("_total", name)):
            return s.value
    raise AssertionError("no sample of %s %s" % (name, labels))
# the parser names counter families without _total
assert fams["netflow_concentrator_input_records"].type == "counter"
assert value("netflow_concentrator_input_records", instance="listener", plugin="udp") == 90
assert value("netflow_concentrator_input_datagrams", instance="listener") == 4
assert value("netflow_concentrator_input_malformed", instance="listener") == 1
assert value("netflow_concentrator_output_records", instance="json", plugin="file") == 90
assert value("netflow_concentrator_decoder_sequence_resets", instance="netflow_v5") == 0
assert fams["netflow_concentrator_output_queued_records"].type == "gauge"
assert value("netflow_concentrator_output_queued_records", instance="json") == 0
assert value("netflow_concentrator_output_failing_seconds", instance="json") == 0
# per exporter: the three datagrams came from three source ports (v5
# streams are scoped by port), 30 records each
exp = [s for s in fams["netflow_concentrator_exporter_records"].samples
       if s.labels["decoder"] == "netflow_v5" and s.name.endswith("_total")]
assert len(exp) == 3 and all(s.value == 30 and s.labels["exporter"] == "127.0.0.1" for s in exp), exp
assert all(s.labels["version"] == "5" for s in exp), exp
seen = [s for s in fams["netflow_concentrator_exporter_last_seen_seconds"].samples if s.labels["decoder"] == "netflow_v5"]
import time
assert all(abs(s.value - time.time()) < 60 for s in seen), seen
b = fams["netflow_concentrator_build_info"].samples[0]
assert b.value == 1 and b.labels["version"] and b.labels["abi"] == "1.0", b
print("%d metric families parsed" % len(fams))
X
code=$(python3 -c 'import urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:9108/other", timeout=5); print(200)
except urllib.error.HTTPError as e:
    print(e.code)')
[ "$code" = 404 ] || fail "GET /other answered $code, not 404"
# --status: the same, for a person, from two reads a second apart. A second
# exporter, 127.0.0.2, sends v9 (source id 1) and IPFIX (observation domains
# 2 and 3) at a steady 200 records/s (20 datagrams of 10 records a second,
# the three streams in turn) while --status runs; its IPFIX domain 3 skips
# 7 records once (a sequence gap). Its row must merge the three streams and
# show a rate within 30%..300% of 200 (a loaded machine paces unevenly), and
# 127.0.0.1's row, idle with 90 records, a rate of 0; the read after the
# traffic must show rates of 0 beside totals of 90 and 600 (so a total shown
# as a rate fails, and so does a rate of 0).
python3 - >"$TMP/sender.log" <<'X' &
import time, v9ipfix
s = v9ipfix.sender("127.0.0.2")
seq = {1: 0, 2: 0, 3: 0}
t0 = time.monotonic()
for k in range(60):
    dom = 1 + k % 3
    if dom == 1:  # v9 counts export packets
        s.sendto(v9ipfix.v9(10, seq[1], 1, uptime=1000 + 50 * k), ("127.0.0.1", 2055))
        seq[1] += 1
    else:  # IPFIX counts records
        if dom == 3 and k == 5:
            seq[3] += 7
        s.sendto(v9ipfix.ipfix(10, seq[dom], dom), ("127.0.0.1", 2055))
        seq[dom] += 10
    if k == 4:
        print("steady", flush=True)
    time.sleep(max(0, t0 + (k + 1) / 20 - time.monotonic()))
X
SENDER=$!
NFC_PIDS="$NFC_PIDS $SENDER"
wait_for steady "$TMP/sender.log"
"$NFC_BIN" -c "$TMP/nfc.ini" --status >"$TMP/status1.out" 2>"$TMP/status1.err" ||
	{ cat "$TMP/status1.out" "$TMP/status1.err"; fail "--status failed"; }
wait "$SENDER" || fail "the v9/IPFIX sender failed"
wait_lines "$TMP/out.json" 690 || fail "the v9 and IPFIX records did not arrive"
grep -q "^netflow-concentrator .* (plugin ABI 1.0), metrics at http://127.0.0.1:9108/metrics, rates over 1\.[0-9] s$" \
	"$TMP/status1.out" || { cat "$TMP/status1.out"; fail "--status heading"; }
awk '$1 == "127.0.0.2" { r2 = $5 } $1 == "127.0.0.1" { r1 = $5 } $1 == "listener" { ri = $4 }
	END { exit !(r2 >= 60 && r2 <= 600 && ri >= 60 && ri <= 600 && r1 == "0") }' "$TMP/status1.out" ||
	{ cat "$TMP/status1.out"; fail "--status: 127.0.0.2 and the listener not at 60..600 records/s, or 127.0.0.1 not at 0"; }
# Idle now: the totals the traffic gives, one row per exporter address, and
# rates of 0.
"$NFC_BIN" -c "$TMP/nfc.ini" --status >"$TMP/status.out" 2>"$TMP/status.err" ||
	{ cat "$TMP/status.out" "$TMP/status.err"; fail "--status failed"; }
grep -Eq "^listener +udp +0 +0 +64 +690 +1 +0$" "$TMP/status.out" &&
	grep -Eq "^json +file +delivering +0 +0 +690 +0  $TMP/out.json$" "$TMP/status.out" &&
	grep -Eq "^127\.0\.0\.1 +v5 +0 +0 +0 +90 +0 +0  [0-9]+s ago$" "$TMP/status.out" &&
	grep -Eq "^127\.0\.0\.2 +v9,IPFIX +1,2,3 +3 +0 +600 +7 +0  [0-9]+s ago$" "$TMP/status.out" &&
	[ "$(grep -c "^127\.0\.0\." "$TMP/status.out")" = 2 ] ||
	{ cat "$TMP/status.out"; fail "--status table"; }
# bounded cardinality: 300 more exporter streams, at most 256 series per decoder
python3 - <<'X'
import v5
for d in range(300):
    v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 5, d >> 8, d & 255), PROTO=17)]))
X
wait_lines "$TMP/out.json" 390 || fail "the 300 records did not arrive"
$PY - <<'X' || fail "per-exporter series are not bounded"
import urllib.request
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(urllib.request.urlopen("http://127.0.0.1:9108/metrics", timeout=5).read().decode())}
n = sum(1 for s in fams["netflow_concentrator_exporter_records"].samples if s.name.endswith("_total") and s.labels["decoder"] == "netflow_v5")
assert n == 256, n
X
stop_daemon
"$NFC_BIN" -c "$TMP/nfc.ini" --status >"$TMP/status2.out" 2>&1 && fail "--status succeeded with the daemon stopped"
grep -q "cannot reach the daemon's metrics endpoint 127.0.0.1:9108" "$TMP/status2.out" || { cat "$TMP/status2.out"; fail "--status when stopped"; }
sed '/^metrics=/d' "$TMP/nfc.ini" >"$TMP/off.ini"
"$NFC_BIN" -c "$TMP/off.ini" --status >"$TMP/status3.out" 2>&1 && fail "--status succeeded without an endpoint"
grep -q "set \[core\] metrics=127.0.0.1:9108 in .*off.ini and restart it" "$TMP/status3.out" || { cat "$TMP/status3.out"; fail "--status without an endpoint"; }

sed 's/^metrics=.*/metrics=localhost9108/' "$TMP/nfc.ini" >"$TMP/bad.ini"
"$NFC_BIN" -c "$TMP/bad.ini" >"$TMP/bad.out" 2>"$TMP/bad.log" && fail "started with metrics=localhost9108"
grep -q "bad.ini:3: \[core\] metrics: must be ADDRESS:PORT" "$TMP/bad.log" || { cat "$TMP/bad.log"; fail "no clear error for a bad metrics address"; }
echo "PASS: the metrics endpoint, parsed by prometheus_client, and --status"
