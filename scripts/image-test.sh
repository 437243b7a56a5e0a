#!/bin/sh
# Build the Docker image without a Docker engine (podman + buildah on vfs
# storage, a bookworm base made with debootstrap) and check it end to end
# the way the deployment guide uses it: no configuration, the guide's file
# with its placeholder, then the guide's file with a key and its host
# pointing at a real TLS intake stand-in on this host (rsyslog, as in
# tests/integration/sekoia_lib.sh, with a test CA the container trusts).
# NetFlow v5, v9 and IPFIX records must reach the intake exactly once; the
# HEALTHCHECK must go unhealthy when the intake goes away, and the records
# sent meanwhile must be spooled on the named volume at stop and delivered
# by the next container once the intake is back.
# Not part of make check: it needs root, podman, debootstrap, rsyslog with
# its openssl driver and the Debian mirror.
# Usage: sudo scripts/image-test.sh (NFC_KEEP_TMP=1 keeps its files)
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
for c in podman debootstrap runc python3 rsyslogd openssl; do
	command -v "$c" >/dev/null ||
		{ echo "needs $c (scripts/deps.sh image installs it)"; exit 2; }
done
P="podman --storage-driver vfs --runtime runc"
IMG=localhost/netflow-concentrator:test
# the names carry our pid: another run on this host keeps its own
C1=nfc-image-$$-a C2=nfc-image-$$-b VOL=nfc-image-$$-state
work=$(mktemp -d "${TMPDIR:-/tmp}/nfc-image.XXXXXX")
NFC_PIDS=""
cleanup() {
	$P rm -f -t 0 "$C1" "$C2" >/dev/null 2>&1 || true
	$P volume rm -f "$VOL" >/dev/null 2>&1 || true
	for p in $NFC_PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $NFC_PIDS; do wait "$p" 2>/dev/null || true; done
	if [ -n "${NFC_KEEP_TMP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'fail interrupted' HUP INT TERM
fail() { echo "FAIL: $*"; exit 1; }
# make_certs, start_intake, stop_intake, check_intake; they work in $TMP
# shellcheck disable=SC2034
TMP=$work
# shellcheck source=tests/integration/sekoia_lib.sh
. "$src/tests/integration/sekoia_lib.sh"
KEY=Ys4kWq9ZbN2xT7rLmE5vHc8JdP3gFa6U
PYTHONPATH="$src/tests/integration"; export PYTHONPATH

tcp_listening() { awk '$4 == "0A"' /proc/net/tcp /proc/net/tcp6 | grep -q "$(printf ':%04X ' "$1")"; }
! grep -q ":080F " /proc/net/udp /proc/net/udp6 || fail "UDP 2055 is already in use on this host"
TLS_PORT=10514
while tcp_listening "$TLS_PORT"; do TLS_PORT=$((TLS_PORT + 1)); done

if ! $P image exists localhost/debian:bookworm-slim; then
	debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
		{ tail "$work/debootstrap.log"; fail "debootstrap"; }
	tar -C "$work/rootfs" -c . | $P import - localhost/debian:bookworm-slim >/dev/null
	rm -rf "$work/rootfs"
fi
mkdir -p "$work/ctx"
git ls-files -z | xargs -0 cp --parents -t "$work/ctx"
# --format docker: the OCI format has no HEALTHCHECK
$P build --format docker --isolation chroot --network host --build-arg BASE=localhost/debian:bookworm-slim \
	-t $IMG "$work/ctx" >"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log"; fail "image build"; }
echo "ok: image built"
$P image inspect $IMG --format '{{json .Config.Healthcheck}} {{json .Config.Volumes}} {{json .Config.Labels}}' \
	>"$work/inspect" || fail "image inspect"
grep -q -- '--health' "$work/inspect" || fail "no HEALTHCHECK running --health: $(cat "$work/inspect")"
grep -q '/var/lib/netflow-concentrator' "$work/inspect" || fail "the state directory is not a volume"
grep -q 'org.opencontainers.image.title' "$work/inspect" || fail "no OCI labels"
echo "ok: HEALTHCHECK, state volume and OCI labels declared"

RUN="$P run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
$RUN $IMG >"$work/none.out" 2>&1 && fail "started without a configuration"
grep -q "/app/configuration.ini: cannot open the configuration file" "$work/none.out" || fail "missing file message"
echo "ok: refuses to start without /app/configuration.ini"

cp "$src/configuration.ini" "$work/guide.ini"; chmod 644 "$work/guide.ini"
$RUN -v "$work/guide.ini:/app/configuration.ini:ro" $IMG >"$work/guide.out" 2>&1 &&
	fail "started with the placeholder key"
grep -q "configuration.ini:13: \[forwarder\] intake_key: is still the placeholder" "$work/guide.out" ||
	fail "placeholder message"
echo "ok: refuses the guide's placeholder key, naming the line"

# The intake stand-in: rsyslog on TLS_PORT with a certificate for
# intake.test from the test CA. The guide's file changes in its host, port
# and key lines only; the CA and a 5 s health_fail_after are added.
make_certs
chmod 644 "$work/ca.pem"
start_intake main "$TLS_PORT" good
for l in host=intake.sekoia.io port=10514 'intake_key=<intake_key>'; do
	grep -qx "$l" "$src/configuration.ini" || fail "configuration.ini no longer has the guide's line $l"
done
sed -e 's/^host=intake\.sekoia\.io$/host=intake.test/' -e "s/^port=10514\$/port=$TLS_PORT/" \
	-e "s/^intake_key=<intake_key>\$/intake_key=$KEY/" "$src/configuration.ini" >"$work/intake.ini"
printf 'ca_file=/app/intake-ca.pem\n\n[core]\nhealth_fail_after=5\n' >>"$work/intake.ini"
chmod 644 "$work/intake.ini"
# the container's host name is the frames' HOSTNAME (check_intake wants
# nfc-test); intake.test is the stand-in's name, on this host's loopback
CRUN="$RUN --hostname nfc-test --add-host intake.test:127.0.0.1 -v $work/intake.ini:/app/configuration.ini:ro
	-v $work/ca.pem:/app/intake-ca.pem:ro -v $VOL:/var/lib/netflow-concentrator"

# send_flows ROUND: 10 NetFlow v5 records (two datagrams), 10 NetFlow v9
# (a template, then data, then template and data in one datagram) and 10
# IPFIX (two templates, IPv4 and IPv6, then data sets of both), from UDP to
# 127.0.0.1:2055; each record's values, in the daemon's key names, are
# appended to $work/expected. Records are numbered from 30 * ROUND.
send_flows() {
	python3 - "$1" "$work/expected" <<'X' || fail "cannot send the flows"
import ipaddress, json, socket, struct, sys, time
import v5
rnd, out = int(sys.argv[1]), open(sys.argv[2], "a")
first, now, uptime = 30 * rnd, int(time.time()), 100000
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
send = lambda d: s.sendto(d, ("127.0.0.1", 2055))
expect = lambda v: out.write(json.dumps(v) + "\n")
a4, a6 = socket.inet_aton, lambda a: socket.inet_pton(socket.AF_INET6, a)

for d in range(2):
    recs = []
    for n in range(first + 5 * d, first + 5 * d + 5):
        v = {"IPV4_SRC_ADDR": "10.5.0.%d" % n, "IPV4_DST_ADDR": "192.0.2.5", "SRC_PORT": 10000 + n,
             "DST_PORT": 443, "PROTO": 6, "IN_PACKETS": 1 + n, "IN_OCTETS": 100 + n}
        recs.append(v5.record(**v))
        expect(v)
    send(v5.datagram(recs, seq=10 * rnd + 5 * d, uptime=uptime, secs=now))

def flowset(fid, body, align):  # a v9 FlowSet or an IPFIX Set
    pad = -len(body) % align
    return struct.pack("!HH", fid, 4 + len(body) + pad) + body + bytes(pad)
def template(tid, fields):
    return struct.pack("!HH", tid, len(fields)) + b"".join(struct.pack("!HH", t, l) for t, l in fields)

V9 = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4)]
def v9_data(lo, hi):
    body = b""
    for n in range(lo, hi):
        v = {"IPV4_SRC_ADDR": "10.9.0.%d" % n, "IPV4_DST_ADDR": "192.0.2.9", "L4_SRC_PORT": 20000 + n,
             "L4_DST_PORT": 53, "PROTOCOL": 17, "IN_BYTES": 200 + n, "IN_PKTS": 2 + n,
             "FIRST_SWITCHED": 50000 + n, "LAST_SWITCHED": 60000 + n}
        body += struct.pack("!4s4sHHBIIII", a4(v["IPV4_SRC_ADDR"]), a4(v["IPV4_DST_ADDR"]), v["L4_SRC_PORT"],
                            v["L4_DST_PORT"], v["PROTOCOL"], v["IN_BYTES"], v["IN_PKTS"],
                            v["FIRST_SWITCHED"], v["LAST_SWITCHED"])
        expect(v)
    return flowset(256, body, 4)
def v9(seq, count, *sets):
    return struct.pack("!HHIIII", 9, count, uptime, now, seq, 1) + b"".join(sets)
v9_tmpl = flowset(0, template(256, V9), 4)
send(v9(3 * rnd, 1, v9_tmpl))
send(v9(3 * rnd + 1, 6, v9_data(first, first + 6)))
send(v9(3 * rnd + 2, 5, v9_tmpl, v9_data(first + 6, first + 10)))

T4 = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8)]
T6 = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8)]
def ipfix_data(tid, lo, hi):
    body = b""
    for n in range(lo, hi):
        if tid == 300:
            v = {"sourceIPv4Address": "10.10.0.%d" % n, "destinationIPv4Address": "192.0.2.10"}
            body += a4(v["sourceIPv4Address"]) + a4(v["destinationIPv4Address"])
        else:  # RFC 5952 text, as the daemon must write it
            v = {"sourceIPv6Address": str(ipaddress.IPv6Address("2001:db8:0:0:0:0:10:%x" % n)),
                 "destinationIPv6Address": "2001:db8::10"}
            body += a6(v["sourceIPv6Address"]) + a6(v["destinationIPv6Address"])
        v.update({"sourceTransportPort": 30000 + n, "destinationTransportPort": 80, "protocolIdentifier": 6,
                  "octetDeltaCount": 300 + n, "packetDeltaCount": 3 + n})
        body += struct.pack("!HHBQQ", v["sourceTransportPort"], v["destinationTransportPort"],
                            v["protocolIdentifier"], v["octetDeltaCount"], v["packetDeltaCount"])
        expect(v)
    return flowset(tid, body, 1)
def ipfix(seq, *sets):
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), now, seq, 1) + body
send(ipfix(10 * rnd, flowset(2, template(300, T4) + template(301, T6), 1)))
send(ipfix(10 * rnd, ipfix_data(300, first, first + 6), ipfix_data(301, first + 6, first + 10)))
out.close()
X
}
# wait_intake N: until the intake has written N messages (30 s)
wait_intake() {
	n=0
	until [ "$( { wc -l <"$work/main.out"; } 2>/dev/null || echo 0)" -ge "$1" ]; do
		n=$((n + 1))
		[ $n -lt 120 ] || { check_intake "$work/main.out" "$work/expected" || true; fail "$2"; }
		sleep 0.25
	done
	sleep 0.5 # and nothing more
	check_intake "$work/main.out" "$work/expected" >"$work/check" || { cat "$work/check"; fail "$2"; }
}
# started LOG: until the daemon logged "running" (60 s)
started() {
	n=0
	until grep -q " running$" "$1" 2>/dev/null; do
		n=$((n + 1)); [ $n -lt 120 ] || fail "the container did not start: $(cat "$1")"; sleep 0.5
	done
}
# health NAME: run the container's HEALTHCHECK once (its exit status), and
# its command by exec for the line it prints ($work/health): podman's
# health log may miss a check's output
health() {
	$P healthcheck run "$1" >/dev/null 2>&1 && rc=0 || rc=$?
	$P exec "$1" /usr/bin/netflow-concentrator -c /app/configuration.ini --health >"$work/health" 2>&1 || true
	return "$rc"
}
counter() { sed -n "s/.*\[forwarder\] stats:.* $2=\([0-9]*\).*/\1/p" "$1" | tail -n 1; }

# 1. the three protocols, delivered
$P volume rm -f "$VOL" >/dev/null 2>&1 || true
$CRUN --name "$C1" -e NETFLOW_COLLECTOR_DEBUG=true $IMG >"$work/run1.out" 2>"$work/run1.err" &
NFC_PIDS="$NFC_PIDS $!"
started "$work/run1.err"
grep -q "DEBUG" "$work/run1.err" || fail "NETFLOW_COLLECTOR_DEBUG=true did not turn on debug logs"
send_flows 0
wait_intake 30 "the v5, v9 and IPFIX records did not all reach the intake"
grep -q "connected to intake.test:$TLS_PORT" "$work/run1.err" || fail "no 'connected to' line: $(cat "$work/run1.err")"
echo "ok: debug logs on; NetFlow v5, v9 and IPFIX records reach the TLS intake once each, as RFC 5424 frames with the key ($(cat "$work/check"))"
sleep 1.5 # the daemon's health file is rewritten every second
health "$C1" || fail "unhealthy while delivering: $(cat "$work/health")"
grep -q "^healthy: .*every output delivering" "$work/health" || fail "health while delivering: $(cat "$work/health")"

# 2. the intake goes away: unhealthy after health_fail_after (5 s); once
# the image's start period (20 s) is over, three failed checks in a row
# (its retries) make the container's status unhealthy
stop_intake main || true
send_flows 1
sleep 1.5
health "$C1" || fail "unhealthy at once when the intake went away: $(cat "$work/health")"
grep -q "^healthy: .*retrying, within health_fail_after" "$work/health" ||
	fail "health just after the intake went away: $(cat "$work/health")"
sleep 5
health "$C1" && fail "still healthy with the intake down: $(cat "$work/health")"
grep -q "unhealthy: output \[forwarder\] has failed to deliver for [0-9]* s (health_fail_after=5)" "$work/health" ||
	fail "health with the intake down: $(cat "$work/health")"
n=0
until [ "$($P inspect "$C1" --format '{{.State.Health.Status}}')" = unhealthy ]; do
	n=$((n + 1)); [ $n -lt 40 ] || fail "the container's status did not become unhealthy"
	sleep 1; $P healthcheck run "$C1" >/dev/null 2>&1 || true
done
echo "ok: HEALTHCHECK healthy while delivering and just after the intake went away, failing after health_fail_after (5 s), then the container unhealthy"

# 3. stop with the intake down: the 30 undelivered records are spooled on
# the volume; a new container on it delivers them once the intake is back
$P stop -t 15 "$C1" >/dev/null
grep -q "$KEY" "$work/run1.err" "$work/run1.out" && fail "the intake key was logged"
grep -q " stopped$" "$work/run1.err" || fail "no clean stop: $(tail "$work/run1.err")"
{ [ "$(counter "$work/run1.err" records)" = 30 ] && [ "$(counter "$work/run1.err" spooled)" = 30 ]; } ||
	fail "30 records delivered and 30 spooled at stop expected: $(grep stats "$work/run1.err")"
echo "ok: clean stop, key never logged, the 30 undelivered records spooled on the volume"
$CRUN --name "$C2" $IMG >"$work/run2.out" 2>"$work/run2.err" &
NFC_PIDS="$NFC_PIDS $!"
started "$work/run2.err"
grep -q "30 records in the spool from before are delivered first" "$work/run2.err" ||
	fail "the spool was not kept: $(cat "$work/run2.err")"
start_intake main "$TLS_PORT" good
# the output may be in its backoff (at most 30 s) when the intake returns
n=0
until grep -q "the spool is empty: delivering from memory again" "$work/run2.err"; do
	n=$((n + 1)); [ $n -lt 180 ] || fail "the spool was not delivered: $(cat "$work/run2.err")"; sleep 0.25
done
wait_intake 60 "the spooled records did not reach the intake exactly once"
$P stop -t 15 "$C2" >/dev/null
grep -q " stopped$" "$work/run2.err" || fail "no clean stop: $(tail "$work/run2.err")"
grep -q "$KEY" "$work/run2.err" "$work/run2.out" && fail "the intake key was logged"
grep -q "DEBUG" "$work/run2.err" && fail "debug logs without NETFLOW_COLLECTOR_DEBUG=true"
{ [ "$(counter "$work/run2.err" unspooled)" = 30 ] && [ "$(counter "$work/run2.err" spooled)" = 0 ]; } ||
	fail "the new container's stats: $(grep stats "$work/run2.err")"
echo "ok: a new container on the same volume delivers the 30 spooled records, each once ($(cat "$work/check"))"
echo "PASS: image"
