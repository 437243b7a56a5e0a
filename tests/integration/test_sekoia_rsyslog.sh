#!/bin/sh
# The sekoia output against a real RFC 5424 TLS server: rsyslog's imtcp with
# the openssl stream driver stands in for the intake. Every flow sent as
# NetFlow v5 must arrive as one message rsyslog parses (app-name, msgid,
# SEKOIA@53288 structured data with the key, the record as JSON in MSG),
# nothing lost or duplicated, also across an intake restart; records sent
# just before SIGTERM are drained.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd rsyslogd openssl python3
. "$NFC_SRCDIR/tests/integration/sekoia_lib.sh"

TLS_PORT=10514
make_certs
start_intake main "$TLS_PORT" good

daemon_config "$TMP/configuration.ini" "host=127.0.0.1
port=$TLS_PORT
intake_key=$KEY
server_name=intake.test
ca_file=$TMP/ca.pem
hostname=nfc-test"

# 1. steady traffic: 200 datagrams of 30 records
start_daemon "$TMP/configuration.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log" 10
wait_udp_port "$UDP_PORT" || fail "daemon did not bind UDP $UDP_PORT"
send_v5 0 200 30 "$TMP/expected"
wait_lines "$TMP/main.out" 6000 30 || {
	check_intake "$TMP/main.out" "$TMP/expected"
	cat "$TMP/daemon.log"
	fail "the intake did not receive 6000 messages"
}
grep -q "connected to 127.0.0.1:$TLS_PORT" "$TMP/daemon.log" || fail "no 'connected to' line in the log"
check_intake "$TMP/main.out" "$TMP/expected" || fail "the intake's messages differ from what was sent"

# 2. the intake restarts: the closed connection is noticed, a new one made
stop_intake main
sleep 1.5
start_intake main "$TLS_PORT" good
send_v5 6000 50 30 "$TMP/expected"
wait_lines "$TMP/main.out" 7500 30 || {
	check_intake "$TMP/main.out" "$TMP/expected"
	cat "$TMP/daemon.log"
	fail "records sent after the intake restarted did not arrive"
}

# 3. a burst then SIGTERM at once: the drain delivers everything
send_v5 7500 100 30 "$TMP/expected"
stop_daemon
wait_lines "$TMP/main.out" 10500 10 || true
check_intake "$TMP/main.out" "$TMP/expected" || {
	cat "$TMP/daemon.log"
	fail "records sent just before SIGTERM were lost"
}
if grep -q "$KEY" "$TMP/daemon.log" "$TMP/daemon.log.out"; then
	fail "the intake key appears in the daemon's output"
fi
grep -q "ERROR" "$TMP/daemon.log" && { cat "$TMP/daemon.log"; fail "errors in the daemon log"; }
grep -q "reconnects=1" "$TMP/daemon.log" || { cat "$TMP/daemon.log"; fail "the reconnection was not counted"; }
echo "PASS: $(wc -l <"$TMP/main.out") messages parsed by rsyslog, none lost across an intake restart and at shutdown"
