# Shared helpers of the integration tests (sourced by tests/integration/*.sh).
# Each test runs in its own network namespace with only a loopback, so ports
# never clash and counters see no other traffic.

: "${NFC_BUILDDIR:?run through make check}"
: "${NFC_SRCDIR:?run through make check}"
NFC_BIN="$NFC_BUILDDIR/netflow-concentrator"
# python3 tests build NetFlow v5 with tests/integration/v5.py, v9 and IPFIX
# with tests/integration/v9ipfix.py
PYTHONPATH="$NFC_SRCDIR/tests/integration${PYTHONPATH:+:$PYTHONPATH}"; export PYTHONPATH

# skip: exit 77 (automake's SKIP), except in CI (CI=true), where a test that
# cannot run is a failure: a missing tool must not pass for a passing test.
skip() {
	[ "${CI:-}" = true ] && fail "skipped in CI: $*"
	echo "SKIP: $*"; exit 77
}
fail() { echo "FAIL: $*"; exit 1; }
need_cmd() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip "$c not installed (Debian package; .ci/run installs it)"; done; }

# Re-run the calling script in a private network namespace (root only).
private_net() {
	if [ -z "${NFC_IN_NETNS:-}" ]; then
		if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
			skip "needs root and unshare for a private network namespace"
		fi
		rm -rf "$TMP"; trap - EXIT # the re-executed script makes its own
		NFC_IN_NETNS=1 exec unshare -n -- "$SHELL" "$0" "$@"
	fi
	ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null || fail "cannot bring loopback up"
}

# A scratch directory removed at exit, with the daemon and helpers killed.
TMP=$(mktemp -d "${TMPDIR:-/tmp}/nfc-test.XXXXXX")
NFC_PIDS=""
cleanup() {
	for p in $NFC_PIDS; do kill "$p" 2>/dev/null; done
	for p in $NFC_PIDS; do wait "$p" 2>/dev/null; done
	if [ -n "${NFC_KEEP_TMP:-}" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# start_daemon CONFIG LOGFILE: start the daemon in the background.
start_daemon() {
	"$NFC_BIN" -c "$1" >"$2.out" 2>"$2" &
	NFC_PID=$!
	NFC_PIDS="$NFC_PIDS $NFC_PID"
}

# wait_for PATTERN FILE [SECONDS]: wait until FILE has a line matching PATTERN.
wait_for() {
	n=$(( ${3:-10} * 10 ))
	while [ "$n" -gt 0 ]; do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1; n=$((n - 1))
	done
	echo "--- $2:"; cat "$2" 2>/dev/null
	fail "timed out waiting for '$1' in $2"
}

# stop_daemon: SIGTERM, and check it exits 0.
stop_daemon() {
	kill -TERM "$NFC_PID"
	wait "$NFC_PID"; rc=$?
	[ "$rc" = 0 ] || fail "daemon exited $rc after SIGTERM"
}

# wait_udp_port PORT: until something is bound to the UDP port (up to 10 s).
wait_udp_port() {
	hex=$(printf ':%04X ' "$1")
	n=100
	while [ "$n" -gt 0 ]; do
		grep -q "$hex" /proc/net/udp /proc/net/udp6 2>/dev/null && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# wait_lines FILE N [SECONDS]: until FILE has at least N lines.
wait_lines() {
	n=$(( ${3:-20} * 10 ))
	while [ "$n" -gt 0 ]; do
		[ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ] && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}

# wait_stable FILE: until FILE has lines and stopped growing for a second
# (up to 20 s).
wait_stable() {
	last=-1; same=0; n=200
	while [ "$n" -gt 0 ]; do
		cur=$(wc -l <"$1" 2>/dev/null || echo 0)
		if [ "$cur" = "$last" ] && [ "$cur" != 0 ]; then
			same=$((same + 1))
			[ "$same" -ge 10 ] && return 0
		else
			same=0
		fi
		last=$cur; sleep 0.1; n=$((n - 1))
	done
	return 1
}

# capture_start PORT: record the UDP datagrams sent to PORT on the loopback
# into $TMP/cap.pcap (immediate mode and a small snap length, so a burst at an
# exporter's shutdown fits in the capture ring).
capture_start() {
	CAPTURE_PORT=$1
	tcpdump -i lo --immediate-mode -s 2048 -B 8192 -U -n -w "$TMP/cap.pcap" udp port "$1" \
		2>"$TMP/tcpdump.log" &
	CAPTURE_PID=$!
	NFC_PIDS="$NFC_PIDS $CAPTURE_PID"
	wait_for "listening on" "$TMP/tcpdump.log" 10
}

# capture_stop: stop the capture, fail if it dropped anything, and write
# tshark's decode of it to $TMP/tshark.json (the reference the tests compare
# the daemon's records with). Sets CAPTURED to the number of flow records
# the capture holds.
capture_stop() {
	sleep 1 # tcpdump writes out what is still in its ring
	kill -INT "$CAPTURE_PID"; wait "$CAPTURE_PID" 2>/dev/null
	grep -q "^0 packets dropped by kernel" "$TMP/tcpdump.log" ||
		fail "tcpdump dropped datagrams: $(cat "$TMP/tcpdump.log")"
	# tshark stops at the v9 header's count of FlowSets, which softflowd
	# miscounts: decode a copy with the counts raised (v9_uncount.py)
	python3 "$NFC_SRCDIR/tests/integration/v9_uncount.py" "$TMP/cap.pcap" "$TMP/cap-ref.pcap" \
		"$CAPTURE_PORT" >/dev/null || fail "cannot copy the capture for tshark"
	TZ=UTC tshark -r "$TMP/cap-ref.pcap" -d "udp.port==$CAPTURE_PORT,cflow" -T json -J "ip ipv6 udp cflow" \
		--no-duplicate-keys >"$TMP/tshark.json" 2>"$TMP/tshark.log" ||
		fail "tshark failed: $(cat "$TMP/tshark.log")"
	CAPTURED=$(tshark -r "$TMP/cap.pcap" -d "udp.port==$CAPTURE_PORT,cflow" -T fields -e cflow.count \
		2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
}

# compare_v5 OUT [--complete]: every record of OUT (JSON lines) equals
# tshark's decode of the same datagram, in order.
compare_v5() {
	python3 "$NFC_SRCDIR/tests/integration/compare_v5.py" $2 "$TMP/tshark.json" "$1" || {
		NFC_KEEP_TMP=1
		fail "daemon output differs from tshark (files kept in $TMP)"
	}
}

# compare_flows OUT [OPTIONS...]: every v9/IPFIX data record of the capture
# (tshark's decode) matches exactly one record of OUT (JSON lines), and the
# counts are equal; OPTIONS go to compare_flows.py (--ordered, --sessions N,
# --expect-keys K,...).
compare_flows() {
	out=$1; shift
	python3 "$NFC_SRCDIR/tests/integration/compare_flows.py" "$@" "$TMP/tshark.json" "$out" || {
		NFC_KEEP_TMP=1
		fail "daemon output differs from tshark (files kept in $TMP)"
	}
}

# start_json_daemon PORT OUT [BIND]: the daemon listening on BIND:PORT
# (127.0.0.1 unless given; :: is dual-stack) and writing every record as a
# JSON line to OUT; returns once the port is bound.
start_json_daemon() {
	printf '[core]\nstats_interval=0\n[listener]\nbind=%s\nport=%s\n[output json]\nplugin=file\npath=%s\n' \
		"${3:-127.0.0.1}" "$1" "$2" >"$TMP/configuration.ini"
	start_daemon "$TMP/configuration.ini" "$TMP/daemon.log"
	wait_udp_port "$1" || { cat "$TMP/daemon.log"; fail "daemon did not bind UDP $1"; }
}
