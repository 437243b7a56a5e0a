#!/bin/sh
# --test-connection against a real TLS syslog intake (rsyslog, sekoia_lib.sh),
# one case per failure of the guide's troubleshooting list; every case checks
# the verdict word, the fix and the exit status:
#  1. all OK: exit 0, and nothing reaches the intake;
#  2. --send-test-event: exactly one event, in the intake's format;
#  3. a host that does not resolve;        4. a closed port (refused);
#  5. a filtered port (dropped: bounded);  6. a certificate from another CA;
#  7. the placeholder intake key;          8. a file output on an unwritable path;
#  9. the stats line shows dest= and state= (connected, then disconnected).
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd rsyslogd openssl python3 nft
. "$NFC_SRCDIR/tests/integration/sekoia_lib.sh"

make_certs
start_intake main 10602 good
start_intake rogue 10601 rogue

# forwarder PORT [EXTRA-LINES]: the [forwarder] lines of a test intake.
forwarder() {
	printf 'host=127.0.0.1\nport=%s\nintake_key=%s\nserver_name=intake.test\nca_file=%s\nhostname=nfc-test\n%s' \
		"$1" "$KEY" "$TMP/ca.pem" "${2:-}"
}

# tc NAME EXPECTED-RC [OPTIONS]: --test-connection on $TMP/NAME.ini; its
# report in $TMP/NAME.out, its log in $TMP/NAME.err, its duration in SECS.
tc() {
	name=$1; want=$2; shift 2
	t0=$(date +%s)
	"$NFC_BIN" --test-connection -c "$TMP/$name.ini" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	rc=$?
	SECS=$(( $(date +%s) - t0 ))
	[ "$rc" = "$want" ] || { cat "$TMP/$name.out" "$TMP/$name.err"; fail "$name: exit $rc, expected $want"; }
	grep -q "$KEY" "$TMP/$name.out" "$TMP/$name.err" && fail "$name: the intake key was printed"
	return 0
}

# line NAME VERDICT STEP TEXT: the report has a VERDICT line for STEP
# (a grep pattern) containing TEXT (a fixed string).
line() {
	grep -E "^\[[a-z]+\] +$2 +$3 " "$TMP/$1.out" | grep -qF -- "$4" ||
		{ cat "$TMP/$1.out"; fail "$1: no $2 line for '$3' saying '$4'"; }
}

# 1. everything reachable: exit 0, every step OK, nothing sent
daemon_config "$TMP/ok.ini" "$(forwarder 10602)"
tc ok 0
line ok OK "intake key" "17 characters"
line ok OK "resolve 127.0.0.1" "1 address: 127.0.0.1:10602"
line ok OK "connect 127.0.0.1:10602" "TCP connected"
line ok OK "TLS handshake" "certificate chain and name verified"
line ok OK "server certificate" "subject CN=intake.test, issuer CN=Test ca"
line ok OK "TLS protocol" "TLSv1."
line ok INFO "test event" "none sent"
grep -q "^summary: OK: 1 output can deliver" "$TMP/ok.out" || { cat "$TMP/ok.out"; fail "ok: summary"; }
grep -q "FAIL\|WARN" "$TMP/ok.out" && { cat "$TMP/ok.out"; fail "ok: a step did not pass"; }
sleep 1
[ -s "$TMP/main.out" ] && fail "ok: the intake received something without --send-test-event"

# 2. --send-test-event: one event, framed like every record
tc ok 0 --send-test-event
mv "$TMP/ok.out" "$TMP/event.out"
line event OK "test event" "sent 1 event"
line event OK "close" "closed cleanly"
wait_lines "$TMP/main.out" 1 10 || fail "event: the intake received nothing"
sleep 1
python3 - "$TMP/main.out" "$KEY" <<'EOF' || fail "event: not exactly one well-formed event"
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, "%d events received" % len(lines)
m = json.loads(lines[0])
assert m["sd"] == '[SEKOIA@53288 intake_key="%s"]' % sys.argv[2], m["sd"]
assert (m["app"], m["msgid"], m["pri"], m["host"]) == ("netflow-concentrator", "LOG", "14", "nfc-test"), m
assert re.fullmatch(r"\d+", m["procid"]), m["procid"]
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|\+00:00)", m["ts"]), m["ts"]
rec = json.loads(m["msg"])
assert rec["message"] == "netflow-concentrator --test-connection test event", rec
assert rec["IPV4_SRC_ADDR"] == "192.0.2.1", rec
EOF

# 3. a host that does not resolve
daemon_config "$TMP/dns.ini" "$(forwarder 10602 | sed 's/^host=.*/host=nosuch.invalid/')"
tc dns 1
line dns FAIL "resolve nosuch.invalid" "does not resolve"
line dns FAIL "resolve nosuch.invalid" "fix: check the region's host name"
grep -q "^summary: FAIL: 1 of 1 output cannot deliver" "$TMP/dns.out" || fail "dns: summary"
[ "$SECS" -le 8 ] || fail "dns: took $SECS s"

# 4. nothing listens: refused
daemon_config "$TMP/closed.ini" "$(forwarder 10699)"
tc closed 1
line closed FAIL "connect 127.0.0.1:10699" "connection refused"
line closed FAIL "connect 127.0.0.1:10699" "fix: check port= (the intake is TLS port 10514)"

# 5. the SYN is dropped (as by a firewall): the step times out, bounded
nft -f - <<EOF || fail "nft: cannot add the drop rule"
table inet nfctest {
	chain out {
		type filter hook output priority 0;
		tcp dport 10698 drop
	}
}
EOF
daemon_config "$TMP/filtered.ini" "$(forwarder 10698)"
tc filtered 1
line filtered FAIL "connect 127.0.0.1:10698" "no answer within 5 s"
line filtered FAIL "connect 127.0.0.1:10698" "fix: outbound TCP 10514 blocked by a firewall?"
[ "$SECS" -le 15 ] || fail "filtered: took $SECS s (must be bounded)"
[ "$SECS" -ge 4 ] || fail "filtered: answered in $SECS s: the port was not filtered"

# 6. a certificate from another CA (what a TLS-intercepting proxy shows)
daemon_config "$TMP/foreign.ini" "$(forwarder 10601)"
tc foreign 1
line foreign FAIL "TLS handshake" "not trusted by ca_file"
line foreign FAIL "server certificate" "issuer CN=Test ca2: the issuer is not the expected CA"
line foreign FAIL "server certificate" "fix: TLS interception (a proxy presenting its own certificate)? allow this host through, or set the CA file"
sleep 1
[ -s "$TMP/rogue.out" ] && fail "foreign: the untrusted intake received something"

# 7. the placeholder key of configuration.ini: called out, nothing tested
daemon_config "$TMP/placeholder.ini" "$(forwarder 10602 | sed 's/^intake_key=.*/intake_key=<intake_key>/')"
tc placeholder 1
line placeholder FAIL "configuration" "intake_key: is still the placeholder <intake_key>: replace it with the intake key shown in Sekoia.io"
line placeholder FAIL "configuration" "fix: correct it in the configuration file"
grep -q "^summary: FAIL: .* 1 configuration error" "$TMP/placeholder.out" || fail "placeholder: summary"
grep -q "ERROR.*is still the placeholder" "$TMP/placeholder.err" || fail "placeholder: not logged as at start"
grep -q "resolve\|connect" "$TMP/placeholder.out" && fail "placeholder: tested the connection anyway"

# 8. a file output whose directory does not exist, beside a good forwarder
daemon_config "$TMP/file.ini" "$(forwarder 10602)

[output archive]
plugin=file
path=$TMP/missing/flows.json

[output copy]
plugin=file
path=$TMP/flows.json"
tc file 1
line file FAIL "directory $TMP/missing" "does not exist"
line file FAIL "directory $TMP/missing" "fix: create the directory (mkdir -p)"
line file OK "directory $TMP" "writable"
line file OK "open $TMP/flows.json" "will be created"
line file OK "TLS handshake" "verified"
grep -q "^summary: FAIL: 1 of 3 outputs cannot deliver" "$TMP/file.out" || { cat "$TMP/file.out"; fail "file: summary"; }
[ -e "$TMP/flows.json" ] && fail "file: the check created the file"

# 9. the stats line: where the output delivers and whether it is connected
daemon_config "$TMP/stats.ini" "$(forwarder 10602)"
sed -i 's/^stats_interval=0$/stats_interval=1/' "$TMP/stats.ini"
start_daemon "$TMP/stats.ini" "$TMP/stats.log"
wait_for "connected to 127.0.0.1:10602 at 127.0.0.1:10602" "$TMP/stats.log" 10
wait_for "\[forwarder\] stats: .* dest=127.0.0.1:10602 state=connected since=20" "$TMP/stats.log" 10
stop_intake main
wait_for "disconnected from 127.0.0.1:10602 at 127.0.0.1:10602" "$TMP/stats.log" 10
wait_for "\[forwarder\] stats: .* dest=127.0.0.1:10602 state=disconnected since=20" "$TMP/stats.log" 10
stop_daemon
echo "PASS: --test-connection: OK, test event, DNS, refused, filtered, foreign CA, placeholder key, file path; stats dest=/state="
