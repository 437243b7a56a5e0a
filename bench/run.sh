#!/bin/sh
# Throughput and loss of netflow-concentrator, side by side with nfcapd
# (nfdump) and nfacctd (pmacct), on the same NetFlow v5, v9 or IPFIX datagrams.
#
#   bench/run.sh [-f v5|v9|ipfix] [-d SECONDS] [-r "RATE..."] [-p POOL] [-P PCAP] [-b RCVBUF] [-o RESULTS] [RECEIVER...]
#
# RECEIVER: nfc-file (file output to /dev/null), nfc-sekoia (Sekoia output
# over TLS to bench/nfc-tls-sink), nfc-spool (the Sekoia output with its
# intake away: every record goes to the disk spool), nfcapd, nfacctd.
# Default: all but nfc-spool.
# FORMAT (-f): v5 (default): POOL synthetic datagrams of 30 records
# (nfc-replay --gen-v5); v9 or ipfix: softflowd's export of generated
# traffic (about POOL datagrams, 26-27 records each), captured with tcpdump
# at the start of the run; nfc-replay sends its templates first and then
# replays the capture, template refreshes included, as softflowd sent it.
# PCAP (-P, v9/ipfix): replay this capture instead of making one; when the
# file does not exist, the capture made is saved there (to rerun on the very
# same datagrams).
# RATE: datagrams per second offered; 0 is full speed.
# RCVBUF: the daemon's [listener] rcvbuf (default 32M, which it gets through
# SO_RCVBUFFORCE). nfcapd and nfacctd ask for 32 MiB too but, without
# SO_RCVBUFFORCE, get twice net.core.rmem_max; -b 4M gives the daemon the
# same 8 MiB when rmem_max is 4 MiB (the default here).
#
# Every trial: the receiver pinned to CPU 1, nfc-replay (and the TLS sink)
# pinned to CPU 0, inside a private network namespace (unshare -n) so
# /proc/net/snmp's RcvbufErrors counts only this run. A trial is lossless when
# the records the receiver decoded (nfc: its output's records counter or the
# sink's frame count; nfcapd: its Flows total; nfacctd: the packet sum of its
# aggregates against the packets sent) equal the records sent.
# A receiver's sweep stops after two lossy rates in a row.
# Needs root (unshare, SO_RCVBUFFORCE); -f v9|ipfix also softflowd, tcpdump
# and python3. See bench/README.md.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
B=${NFC_BUILDDIR:-$(cd "$HERE/.." && pwd)}
DUR=4
RATES="10000 20000 33334 50000 70000 100000 140000 200000 0"
POOL=1000
RCVBUF=32M
RESULTS=""
FMT=v5
PCAP=""
PORT=2055
SINK_PORT=10514

while getopts f:d:r:p:P:b:o: opt; do
	case $opt in
	f) FMT=$OPTARG ;;
	P) PCAP=$OPTARG ;;
	d) DUR=$OPTARG ;;
	r) RATES=$OPTARG ;;
	p) POOL=$OPTARG ;;
	b) RCVBUF=$OPTARG ;;
	o) RESULTS=$OPTARG ;;
	*) sed -n '2,31p' "$0"; exit 2 ;;
	esac
done
case $FMT in
v5|v9|ipfix) ;;
*) echo "bench/run.sh: -f v5, v9 or ipfix"; exit 2 ;;
esac
shift $((OPTIND - 1))
RECEIVERS=${*:-nfc-file nfc-sekoia nfcapd nfacctd}

if [ -z "${NFC_BENCH_NETNS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "bench/run.sh: needs root (unshare -n, SO_RCVBUFFORCE)"; exit 2; }
	[ -z "$PCAP" ] || case $PCAP in /*) ;; *) PCAP=$(pwd)/$PCAP ;; esac
	NFC_BENCH_NETNS=1 exec unshare -n -- /bin/sh "$0" -f "$FMT" ${PCAP:+-P "$PCAP"} -d "$DUR" -r "$RATES" \
		-p "$POOL" -b "$RCVBUF" ${RESULTS:+-o "$RESULTS"} $RECEIVERS
fi
ip link set lo up

REPLAY="$B/bench/nfc-replay"
SINK="$B/bench/nfc-tls-sink"
DAEMON="$B/netflow-concentrator"
export NETFLOW_CONCENTRATOR_PLUGIN_DIR="${NETFLOW_CONCENTRATOR_PLUGIN_DIR:-$B/build-plugins}"
[ -x "$REPLAY" ] || { echo "bench/run.sh: build first (make): $REPLAY missing"; exit 2; }
[ "$(nproc)" -ge 2 ] || echo "warning: one CPU only: sender and receiver share it"

T=$(mktemp -d "${TMPDIR:-/tmp}/nfc-bench.XXXXXX")
RPID=""
SPID=""
cleanup() {
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HZ=$(getconf CLK_TCK)
out() { echo "$*"; [ -n "$RESULTS" ] && echo "$*" >>"$RESULTS"; return 0; }

rcvbuf_errors() { awk '/^Udp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }
# CPU ticks (user + system) of a process and its children (nfacctd runs its
# plugins as child processes), all threads.
cpu_ticks() {
	for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; done |
		awk -v root="$1" '{
			# the command name may hold spaces: count fields from the ")"
			i = index($0, ") "); split(substr($0, i + 2), a, " ")
			pid = $1 + 0; ppid[pid] = a[2]; t[pid] = a[12] + a[13]
		} END {
			for (p in t) { q = p; while (q != "" && q != 0 && q != root) q = ppid[q]; if (q == root) s += t[p] }
			printf "%.0f\n", s
		}'
}
wait_udp_port() {
	n=50
	while [ $n -gt 0 ]; do
		grep -qi ":$(printf %04X "$1") " /proc/net/udp /proc/net/udp6 2>/dev/null && return 0
		sleep 0.1; n=$((n - 1))
	done
	return 1
}
field() { sed -n "s/.*[ ]$1=\([0-9]*\).*/\1/p" | tail -1; }

# ---- receivers: start_X; finish_X drains, stops and sets GOT and CPU1 ----

nfc_config() {
	rm -rf "$T/state"; mkdir -p "$T/state"
	cat >"$T/nfc.ini" <<EOF
[core]
stats_interval=1
state_dir=$T/state

[listener]
bind=127.0.0.1
port=$PORT
rcvbuf=$RCVBUF
EOF
	if [ "$1" = file ]; then
		cat >>"$T/nfc.ini" <<EOF

[output devnull]
plugin=file
path=/dev/null
EOF
	else
		cat >>"$T/nfc.ini" <<EOF

[forwarder]
host=127.0.0.1
port=$SINK_PORT
intake_key=BENCHMARKKEY0123456789
ca_file=$T/cert.pem
server_name=localhost
EOF
	fi
}

start_nfc() {
	nfc_config "$1"
	taskset -c 1 "$DAEMON" -c "$T/nfc.ini" >"$T/nfc.out" 2>"$T/nfc.log" &
	RPID=$!
	wait_udp_port $PORT || { cat "$T/nfc.log"; echo "daemon did not start"; exit 1; }
}

# The output's counter $1 from the last stats line of an output (its
# counters start with records=; an input's start with datagrams=).
nfc_out() { grep 'stats: records=' "$T/nfc.log" | tail -1 | field "$1"; }
nfc_out_records() { nfc_out records; }
# Records the daemon's queue refused (its loss without a socket drop).
nfc_overflow_note() {
	grep 'stats: records=' "$T/nfc.log" | tail -1 | field queue_overflow |
		awk '$1 > 0 { printf "queue_overflow %d", $1 }'
}
sink_frames() { sed -n 's/.*frames=\([0-9]*\).*/\1/p' "$T/sink.stats" 2>/dev/null; }

finish_nfc() {
	# Drain: wait until the delivered (or spooled) count stops moving
	# (stats every 1 s).
	prev=-1; n=30
	while [ $n -gt 0 ]; do
		sleep 1.1
		case $1 in
		sekoia) cur=$(sink_frames) ;;
		spool) cur=$(nfc_out spooled) ;;
		*) cur=$(nfc_out_records) ;;
		esac
		cur=${cur:-0}
		[ "$cur" = "$prev" ] && break
		prev=$cur; n=$((n - 1))
	done
	CPU1=$(cpu_ticks "$RPID")
	# the daemon's peak resident memory over the trial
	RSS_MIB=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$RPID/status" 2>/dev/null)
	kill -TERM "$RPID"; wait "$RPID"; RPID=""
	case $1 in
	sekoia) sleep 1.1; GOT=$(sink_frames) ;;
	spool) GOT=$(nfc_out spooled); SPOOL_BYTES=$(du -sb "$T/state/spool" | cut -f1) ;;
	*) GOT=$(nfc_out_records) ;;
	esac
}

make_cert() {
	[ -f "$T/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
}
start_sink() {
	make_cert
	rm -f "$T/sink.stats"
	taskset -c 0 "$SINK" -c "$T/cert.pem" -k "$T/key.pem" -p $SINK_PORT -s "$T/sink.stats" &
	SPID=$!
	sleep 0.3
}
stop_sink() { kill "$SPID"; wait "$SPID"; SPID=""; }

start_nfcapd() {
	rm -rf "$T/nfcapd"; mkdir -p "$T/nfcapd"
	taskset -c 1 nfcapd -w "$T/nfcapd" -b 127.0.0.1 -p $PORT -B 33554432 -t 3600 \
		>"$T/nfcapd.log" 2>&1 &
	RPID=$!
	wait_udp_port $PORT || { cat "$T/nfcapd.log"; exit 1; }
}
finish_nfcapd() {
	sleep 1
	CPU1=$(cpu_ticks "$RPID")
	# the daemon's peak resident memory over the trial
	RSS_MIB=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$RPID/status" 2>/dev/null)
	kill -TERM "$RPID"; wait "$RPID"; RPID=""
	GOT=$(sed -n 's/.*Flows: \([0-9]*\),.*/\1/p' "$T/nfcapd.log" | tail -1)
}

start_nfacctd() {
	rm -f "$T"/nfacctd-*.csv
	cat >"$T/nfacctd.conf" <<EOF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $PORT
nfacctd_pipe_size: 33554432
plugins: print[p]
aggregate[p]: proto
print_output[p]: csv
print_output_file[p]: $T/nfacctd-%s.csv
print_refresh_time[p]: 3600
plugin_pipe_size[p]: 102400000
plugin_buffer_size[p]: 102400
EOF
	taskset -c 1 nfacctd -f "$T/nfacctd.conf" >"$T/nfacctd.log" 2>&1 &
	RPID=$!
	wait_udp_port $PORT || { cat "$T/nfacctd.log"; exit 1; }
	sleep 0.5
}
# nfacctd only writes aggregates: the records it decoded are estimated from
# its packet sum against the packets sent (exact when nothing is lost).
finish_nfacctd() {
	sleep 1
	CPU1=$(cpu_ticks "$RPID")
	kill -INT "$RPID"; wait "$RPID"; RPID=""
	pk=$(cat "$T"/nfacctd-*.csv 2>/dev/null | awk -F, '$2 ~ /^[0-9]+$/ { s += $2 } END { printf "%.0f", s }')
	if [ "$pk" = "$SENT_PACKETS" ]; then
		GOT=$SENT_RECORDS
	else
		GOT=$(awk -v p="$pk" -v s="$SENT_PACKETS" -v r="$SENT_RECORDS" \
			'BEGIN { printf "%.0f", s ? p / s * r : 0 }')
	fi
}

# ---- one trial ------------------------------------------------------------

# trial RECEIVER RATE: prints one table row; true when lossless.
# CPU is the receiver's CPU time from the start of the replay to the end of
# the drain, divided by the replay's duration: the share of one core the
# offered load costs (over 100 % means it cannot keep up).
trial() {
	rx=$1 rate=$2
	case $rx in
	nfc-file) start_nfc file ;;
	nfc-sekoia) start_sink; start_nfc sekoia ;;
	nfc-spool) make_cert; start_nfc sekoia ;;
	nfcapd) start_nfcapd ;;
	nfacctd) start_nfacctd ;;
	esac
	E0=$(rcvbuf_errors)
	CPU0=$(cpu_ticks "$RPID")
	SINK0=0
	[ -n "$SPID" ] && SINK0=$(cpu_ticks "$SPID")
	# shellcheck disable=SC2086
	line=$(taskset -c 0 "$REPLAY" -q $SOURCE -r "$rate" -t "$DUR" -d 127.0.0.1:$PORT)
	SENT_DG=$(echo "$line" | field datagrams)
	SENT_RECORDS=$(echo "$line" | field records)
	SENT_PACKETS=$(echo "$line" | field packets)
	SECS=$(echo "$line" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
	GOT=0 CPU1=$CPU0
	note=""
	case $rx in
	nfc-file)
		finish_nfc file
		note="rss ${RSS_MIB:-?} MiB $(nfc_overflow_note)" ;;
	nfc-sekoia)
		finish_nfc sekoia
		note=$(awk -v c="$(($(cpu_ticks "$SPID") - SINK0))" -v hz="$HZ" -v s="$SECS" -v rss="${RSS_MIB:-?}" \
			'BEGIN { printf "rss %s MiB, sink %.0f%%", rss, c / hz / s * 100 }')
		stop_sink ;;
	nfc-spool)
		finish_nfc spool
		note=$(awk -v b="${SPOOL_BYTES:-0}" -v g="$GOT" -v rss="${RSS_MIB:-?}" -v o="$(nfc_overflow_note)" \
			'BEGIN { printf "rss %s MiB, spool %.0f MB, %.1f B/record %s", rss, b / 1e6, g ? b / g : 0, o }') ;;
	nfcapd) finish_nfcapd ;;
	nfacctd) finish_nfacctd ;;
	esac
	E1=$(rcvbuf_errors)
	GOT=${GOT:-0}
	lost=$((SENT_RECORDS - GOT))
	drops=$((E1 - E0))
	row=$(awk -v rx="$rx" -v rate="$rate" -v dg="$SENT_DG" -v rec="$SENT_RECORDS" -v s="$SECS" \
		-v got="$GOT" -v lost="$lost" -v drops="$drops" -v c="$((CPU1 - CPU0))" -v hz="$HZ" 'BEGIN {
		printf "| %-10s | %7s | %8.0f | %9.0f | %9.0f | %5.0f%% | %7.0f | %9.0f |",
		       rx, rate == 0 ? "max" : rate, dg / s, rec / s, got / s, c / hz / s * 100, drops, lost }')
	row="$row $note |"
	out "$row"
	[ "$lost" -eq 0 ] && [ "$drops" -eq 0 ]
}

# ---- the datagrams --------------------------------------------------------

# v9/IPFIX: softflowd exports generated traffic and tcpdump captures what it
# sends. Two captures are exported one after the other, IPv4 only and with
# about 40 % IPv6, in a proportion that gives the 26-27 records per datagram
# of the anchors' softflowd exports (../shared/docs/performance-anchors.md).
make_pool() {
	gen=$HERE/../tests/integration/gen_traffic_pcap.py
	for c in softflowd tcpdump python3; do
		command -v $c >/dev/null || { echo "bench/run.sh: -f $FMT needs $c"; exit 2; }
	done
	[ -f "$gen" ] || { echo "bench/run.sh: $gen missing"; exit 2; }
	conv=$((POOL * 15))
	python3 "$gen" "$T/traffic-a.pcap" $((conv * 24 / 100)) 11 &&
		python3 "$gen" --ipv6 "$T/traffic-b.pcap" $((conv - conv * 24 / 100)) 12 ||
		{ echo "bench/run.sh: cannot generate traffic"; exit 2; }
	v=9
	[ "$FMT" = ipfix ] && v=10
	tcpdump -Z root -i lo -B 65536 -s 0 -U -w "$T/pool.pcap" udp dst port 9995 2>"$T/tcpdump.log" &
	tp=$!
	n=50
	while [ $n -gt 0 ] && ! grep -q listening "$T/tcpdump.log"; do sleep 0.1; n=$((n - 1)); done
	for f in "$T/traffic-a.pcap" "$T/traffic-b.pcap"; do
		softflowd -d -a -r "$f" -n 127.0.0.1:9995 -v $v -c none -p "$T/softflowd.pid" \
			>>"$T/softflowd.log" 2>&1 || { cat "$T/softflowd.log"; exit 2; }
	done
	sleep 1
	kill -INT $tp; wait $tp
	rm -f "$T/traffic-a.pcap" "$T/traffic-b.pcap"
	exported=$(sed -n 's/.*Flows exported: [0-9]* (\([0-9]*\) records).*/\1/p' "$T/softflowd.log" |
		awk '{ s += $1 } END { print s + 0 }')
}

if [ "$FMT" = v5 ]; then
	SOURCE="--gen-v5 $POOL"
	POOLDESC="v5 30 records/datagram, pool $POOL datagrams"
else
	if [ -n "$PCAP" ] && [ -f "$PCAP" ]; then
		cp "$PCAP" "$T/pool.pcap"
		exported=$("$REPLAY" --info "$T/pool.pcap" 2>/dev/null | field records)
	else
		make_pool
		[ -z "$PCAP" ] || cp "$T/pool.pcap" "$PCAP"
	fi
	info=$("$REPLAY" --info "$T/pool.pcap" 2>/dev/null)
	npool=$(echo "$info" | field datagrams)
	[ "$(echo "$info" | field records)" = "$exported" ] ||
		echo "warning: softflowd exported $exported records, nfc-replay counts $(echo "$info" | field records) in the capture"
	SOURCE=$T/pool.pcap
	POOLDESC=$(awk -v f="$FMT" -v r="$exported" -v n="$npool" -v v="$(softflowd -h 2>&1 | sed -n 's/.*softflowd version \([0-9][0-9.]*[0-9]\).*/\1/p')" 'BEGIN {
		printf "%s from softflowd %s (%d records in %d datagrams, %.1f records/datagram, template refreshes included)", f, v, r, n, n ? r / n : 0 }')
fi

# Other work on the machine makes every figure wrong: say so in the results.
busy=$(ps -eo pcpu=,comm= --sort=-pcpu | awk '$1 >= 10 { printf "%s%s %s%%", n++ ? ", " : "", $2, $1 }')
[ -n "$busy" ] && out "WARNING: other processes are using CPU ($busy): figures below are not reliable"
out "## $(date -u +%Y-%m-%dT%H:%MZ) kernel $(uname -r), $(nproc) CPUs, ${DUR} s trials, $POOLDESC, daemon rcvbuf $RCVBUF, net.core.rmem_max $(cat /proc/sys/net/core/rmem_max)"
out ""
out "| receiver   | offered | dgrams/s | records/s | decoded/s |  CPU  | rcvbuf  |   lost    | notes |"
out "|------------|---------|----------|-----------|-----------|-------|---------|-----------|-------|"
SUMMARY=""
for rx in $RECEIVERS; do
	case $rx in
	nfcapd|nfacctd) command -v "$rx" >/dev/null || { out "| $rx | not installed |"; continue; } ;;
	nfc-file|nfc-sekoia|nfc-spool) [ -x "$DAEMON" ] || { out "| $rx | $DAEMON missing |"; continue; } ;;
	*) echo "unknown receiver $rx"; exit 2 ;;
	esac
	best="none" bad=0
	for rate in $RATES; do
		if trial "$rx" "$rate"; then
			best=$rate bad=0
		else
			bad=$((bad + 1))
			[ $bad -ge 2 ] && break
		fi
	done
	SUMMARY="$SUMMARY$rx: highest lossless offered rate $best datagrams/s (0 = full speed)
"
done
out ""
printf '%s' "$SUMMARY" | while read -r l; do out "$l"; done
