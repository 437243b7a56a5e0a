#!/bin/sh
# [core] metrics: the Prometheus endpoint, scraped and parsed by a real
# Prometheus text parser (Debian's python3-prometheus-client): the counters
# of the stats line per instance with the values the traffic sent gives,
# the outputs' gauges, build info; 404 elsewhere; a bad address stops
# start-up with the file, line and key.
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
# --status: the same, as a table for a person
"$NFC_BIN" -c "$TMP/nfc.ini" --status >"$TMP/status.out" 2>"$TMP/status.err" || { cat "$TMP/status.out" "$TMP/status.err"; fail "--status failed"; }
grep -q "^netflow-concentrator .* (plugin ABI 1.0), metrics at http://127.0.0.1:9108/metrics" "$TMP/status.out" &&
	grep -Eq "^listener +udp +4 +90 +1 +0$" "$TMP/status.out" &&
	grep -Eq "^json +file +delivering +0 +0 +90 +0$" "$TMP/status.out" &&
	[ "$(grep -Ec "^127\.0\.0\.1:[0-9]+ +netflow_v5 +0 +0 +1 +30 +0 +0 +[0-9]+s ago$" "$TMP/status.out")" = 3 ] ||
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
