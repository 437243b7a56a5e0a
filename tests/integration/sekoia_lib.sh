# Helpers of the sekoia output's integration tests (sourced after lib.sh):
# certificates, rsyslog (imtcp + openssl stream driver) as the intake
# stand-in, a NetFlow v5 sender and the checker of what rsyslog received.

KEY=Test0123456789Key
UDP_PORT=2055

# make_certs: $TMP/ca.pem (trusted), $TMP/ca2.pem (untrusted), and server
# certificates for intake.test from each ($TMP/good.*, $TMP/rogue.*).
make_certs() {
	for ca in ca ca2; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-keyout "$TMP/$ca.key" -out "$TMP/$ca.pem" -subj "/CN=Test $ca" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
			>>"$TMP/openssl.log" 2>&1 || fail "openssl: cannot make $ca: $(cat "$TMP/openssl.log")"
	done
	printf 'subjectAltName=DNS:intake.test\nextendedKeyUsage=serverAuth\n' >"$TMP/srv.ext"
	for pair in good:ca rogue:ca2; do
		name=${pair%%:*}; ca=${pair#*:}
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=intake.test" \
			-keyout "$TMP/$name.key" -out "$TMP/$name.csr" >>"$TMP/openssl.log" 2>&1 &&
		openssl x509 -req -in "$TMP/$name.csr" -CA "$TMP/$ca.pem" -CAkey "$TMP/$ca.key" \
			-CAcreateserial -days 2 -extfile "$TMP/srv.ext" -out "$TMP/$name.pem" \
			>>"$TMP/openssl.log" 2>&1 || fail "openssl: cannot make $name: $(cat "$TMP/openssl.log")"
	done
}

# start_intake NAME PORT CERT: rsyslogd listening on TLS PORT with
# $TMP/CERT.pem, writing one JSON line per message to $TMP/NAME.out.
start_intake() {
	d="$TMP/rs-$1"
	mkdir -p "$d"
	cat >"$d/rsyslog.conf" <<EOF
global(workDirectory="$d" maxMessageSize="256k"
	defaultNetstreamDriver="ossl"
	defaultNetstreamDriverCAFile="$TMP/ca.pem"
	defaultNetstreamDriverCertFile="$TMP/$3.pem"
	defaultNetstreamDriverKeyFile="$TMP/$3.key")
module(load="imtcp" streamDriver.name="ossl" streamDriver.mode="1" streamDriver.authMode="anon")
input(type="imtcp" port="$2" ruleset="intake")
template(name="fields" type="list" option.jsonf="on") {
	property(outname="pri" name="pri" format="jsonf")
	property(outname="host" name="hostname" format="jsonf")
	property(outname="app" name="app-name" format="jsonf")
	property(outname="procid" name="procid" format="jsonf")
	property(outname="msgid" name="msgid" format="jsonf")
	property(outname="ts" name="timereported" dateFormat="rfc3339" format="jsonf")
	property(outname="sd" name="structured-data" format="jsonf")
	property(outname="msg" name="msg" format="jsonf")
}
ruleset(name="intake") {
	action(type="omfile" file="$TMP/$1.out" template="fields")
}
EOF
	rsyslogd -n -f "$d/rsyslog.conf" -i "$d/pid" >"$d/log" 2>&1 &
	eval "RS_PID_$1=\$!"
	NFC_PIDS="$NFC_PIDS $!"
	wait_tcp_port "$2" || fail "rsyslogd did not listen on $2: $(cat "$d/log")"
}

# stop_intake NAME: stop that rsyslogd and wait for it.
stop_intake() {
	eval "p=\$RS_PID_$1"
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}

# wait_tcp_port PORT: until something listens on the TCP port (up to 10 s).
wait_tcp_port() {
	hex=$(printf ':%04X ' "$1")
	n=100
	while [ "$n" -gt 0 ]; do
		awk '$4 == "0A"' /proc/net/tcp /proc/net/tcp6 2>/dev/null | grep -q "$hex" && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# daemon_config FILE FORWARDER-LINES [CORE-LINES]: a configuration with the
# UDP listener.
daemon_config() {
	cat >"$1" <<EOF
[core]
stats_interval=0
${3:-}

[listener]
bind=127.0.0.1
port=$UDP_PORT

[forwarder]
$2
EOF
}

# send_v5 FIRST NDGRAMS NREC EXPECTED: send NDGRAMS NetFlow v5 datagrams of
# NREC records each, records numbered from FIRST so every one is unique, and
# append the values each should produce (JSON lines) to EXPECTED.
send_v5() {
	python3 - "$UDP_PORT" "$1" "$2" "$3" "$4" <<'EOF' || fail "cannot send NetFlow v5"
import json, socket, sys, time
import v5
port, first, ndg, nrec, expected = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
out = open(expected, "a")
n = first
for d in range(ndg):
    recs = []
    for r in range(nrec):
        src = "10.%d.%d.%d" % (n >> 16 & 255, n >> 8 & 255, n & 255)
        dst = "192.0.2.%d" % (n % 250 + 1)
        v = {"IPV4_SRC_ADDR": src, "IPV4_DST_ADDR": dst, "NEXT_HOP": "198.51.100.1",
             "INPUT": 3, "OUTPUT": 4, "IN_PACKETS": 1 + n % 1000, "IN_OCTETS": 40 + n,
             "FIRST_SWITCHED": 1000 + n, "LAST_SWITCHED": 2000 + n, "SRC_PORT": 1024 + n % 60000,
             "DST_PORT": 443, "TCP_FLAGS": 0x1b, "PROTO": 6, "TOS": 0, "SRC_AS": 64500,
             "DST_AS": 64501, "SRC_MASK": 24, "DST_MASK": 16}
        recs.append(v5.record(**v))
        out.write(json.dumps(v) + "\n")
        n += 1
    s.sendto(v5.datagram(recs, seq=n - nrec, uptime=123456, secs=int(time.time())), ("127.0.0.1", port))
    if d % 20 == 19:
        time.sleep(0.002)  # stay under the receive buffer
out.close()
EOF
}

# check_intake OUT EXPECTED: every message rsyslog parsed is a well-formed
# Sekoia frame (intake key $KEY, hostname nfc-test) and the flows are
# exactly the expected ones. EXPECTED may mix record layouts (v5, v9,
# IPFIX keys): a record is compared on the largest layout whose keys it has.
check_intake() {
	python3 - "$1" "$2" "$KEY" <<'EOF'
import collections, json, re, sys
got_file, exp_file, key = sys.argv[1:4]
exp = collections.Counter(open(exp_file).read().splitlines())
layouts = []
for l in exp:
    k = list(json.loads(l))
    if k not in layouts:
        layouts.append(k)
got = collections.Counter()
bad = 0
for line in open(got_file):
    m = json.loads(line)
    ok = (m["app"] == "netflow-concentrator" and m["msgid"] == "LOG" and m["pri"] == "14"
          and m["sd"] == '[SEKOIA@53288 intake_key="%s"]' % key and m["host"] == "nfc-test"
          and re.fullmatch(r"\d+", m["procid"])
          and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|\+00:00)", m["ts"]))
    try:
        rec = json.loads(m["msg"])
    except ValueError:
        ok = False
        rec = None
    if not ok:
        bad += 1
        if bad <= 3:
            print("bad message:", line.strip())
        continue
    keys = max((k for k in layouts if all(x in rec for x in k)), key=len, default=layouts[0] if layouts else [])
    got[json.dumps({k: rec.get(k) for k in keys})] += 1
missing = exp - got
extra = got - exp
print("intake: %d messages, %d expected, %d malformed, %d missing, %d unexpected or duplicated"
      % (sum(got.values()) + bad, sum(exp.values()), bad, sum(missing.values()), sum(extra.values())))
for k in list(missing)[:3]:
    print("missing:", k)
for k in list(extra)[:3]:
    print("unexpected:", k)
sys.exit(1 if bad or missing or extra else 0)
EOF
}
