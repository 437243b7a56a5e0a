#!/bin/sh
# The sekoia output refuses intakes it cannot trust, says why in words an
# operator can act on, and delivers once the intake is reachable:
#  1. a server certificate from another CA: nothing sent, "not trusted";
#  2. a name that is not in the certificate: nothing sent, "does not match";
#  3. an address as host without server_name: checked as an address, refused;
#  4. tls_verify=no: delivered anyway, with a warning at start;
#  5. the intake down at start, started later: records queued, then delivered.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd rsyslogd openssl python3
. "$NFC_SRCDIR/tests/integration/sekoia_lib.sh"

make_certs
start_intake rogue 10601 rogue
start_intake main 10602 good

# run_refused PORT TLS-LINE OUT PATTERN: records must not reach OUT and the
# log must say PATTERN.
run_refused() {
	daemon_config "$TMP/run.ini" "host=127.0.0.1
port=$1
intake_key=$KEY
$2
ca_file=$TMP/ca.pem
hostname=nfc-test" "drain_timeout=1"
	: >"$TMP/expected"
	start_daemon "$TMP/run.ini" "$TMP/$3.log"
	wait_for "running" "$TMP/$3.log" 10
	wait_udp_port "$UDP_PORT" || fail "daemon did not bind UDP $UDP_PORT"
	send_v5 0 5 10 "$TMP/expected"
	wait_for "$4" "$TMP/$3.log" 15
	sleep 1
	stop_daemon
	[ -s "$TMP/$3.out" ] && fail "$3: the intake received messages over an untrusted connection"
	grep -q "$KEY" "$TMP/$3.log" && fail "$3: the intake key appears in the log"
	grep "$4" "$TMP/$3.log" | head -1
}

# 1. untrusted certificate (rogue CA)
run_refused 10601 server_name=intake.test rogue "the server certificate is not trusted by ca_file"
# 2. certificate valid, but for another name
run_refused 10602 server_name=other.test main "does not match host name other.test"
# 3. an address is checked against the certificate's addresses (it has none)
run_refused 10602 "" main "does not match host name 127.0.0.1"

# 4. tls_verify=no (lab use) talks to the rogue intake, with a warning
daemon_config "$TMP/noverify.ini" "host=127.0.0.1
port=10601
intake_key=$KEY
tls_verify=no
hostname=nfc-test"
: >"$TMP/expected"
start_daemon "$TMP/noverify.ini" "$TMP/noverify.log"
wait_for "running" "$TMP/noverify.log" 10
grep -q "WARN.*tls_verify=no" "$TMP/noverify.log" || fail "tls_verify=no was not warned about"
wait_udp_port "$UDP_PORT" || fail "daemon did not bind UDP $UDP_PORT"
send_v5 0 5 10 "$TMP/expected"
wait_lines "$TMP/rogue.out" 50 15 || { cat "$TMP/noverify.log"; fail "tls_verify=no: nothing delivered"; }
stop_daemon
check_intake "$TMP/rogue.out" "$TMP/expected" || fail "tls_verify=no: records differ"

# 5. intake down at start, started later: queued records delivered
daemon_config "$TMP/late.ini" "host=127.0.0.1
port=10603
intake_key=$KEY
server_name=intake.test
ca_file=$TMP/ca.pem
hostname=nfc-test"
: >"$TMP/expected"
start_daemon "$TMP/late.ini" "$TMP/late.log"
wait_for "running" "$TMP/late.log" 10
wait_udp_port "$UDP_PORT" || fail "daemon did not bind UDP $UDP_PORT"
send_v5 0 50 10 "$TMP/expected"
wait_for "connection refused" "$TMP/late.log" 15
start_intake late 10603 good
wait_lines "$TMP/late.out" 500 30 || { cat "$TMP/late.log"; fail "queued records not delivered after the intake came up"; }
check_intake "$TMP/late.out" "$TMP/expected" || fail "records queued while the intake was down differ"
stop_daemon
echo "PASS: untrusted CA and wrong names refused with a clear reason; tls_verify=no warned; queued records delivered on reconnect"
