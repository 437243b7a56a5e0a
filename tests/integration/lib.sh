# Shared helpers of the integration tests (sourced by tests/integration/*.sh).
# Each test runs in its own network namespace with only a loopback, so ports
# never clash and counters see no other traffic.

: "${NFC_BUILDDIR:?run through make check}"
: "${NFC_SRCDIR:?run through make check}"
NFC_BIN="$NFC_BUILDDIR/netflow-concentrator"

skip() { echo "SKIP: $*"; exit 77; }
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
