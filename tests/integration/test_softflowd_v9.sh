#!/bin/sh
# NetFlow v9 end to end with a real exporter: softflowd (-v 9) exports
# generated IPv4 and IPv6 traffic (TCP, UDP, ICMP, ICMPv6; in b.pcap a MAC
# pair per conversation, half of them in 802.1Q VLANs) to one daemon, run
# after run without restarting it, tcpdump records the datagrams on the wire,
# and every data record of tshark's decode of that capture must match exactly
# one JSON line of the daemon, key by key and value by value, in order, with
# the keys the decoder adds (exporterIPv4Address / exporterIPv6Address,
# SAMPLING_INTERVAL from the options data, flowStartSeconds / flowEndSeconds
# from the header) computed from tshark's header fields (compare_flows.py).
# The runs change the templates (softflowd's ids 1024/1025/2048/2049 with new
# layouts from the same exporter), the announced sampling interval and the
# transport (IPv4 and IPv6 exporter addresses on the daemon's dual-stack
# socket); the daemon's configuration only names the listener and the output.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd softflowd tshark python3 tcpdump

PORT=2055
HERE="$NFC_SRCDIR/tests/integration"
OUT="$TMP/out.json"

# export_pcap DEST PCAP OPTIONS...: softflowd reads the capture and exports v9 to DEST.
export_pcap() {
	dest=$1 pcap=$2; shift 2
	echo "softflowd -v 9 $* -> $dest" >>"$TMP/softflowd.log"
	softflowd -d -a -r "$pcap" -n "$dest" -v 9 -c none -p "$TMP/softflowd.pid" "$@" \
		>>"$TMP/softflowd.log" 2>&1 || fail "softflowd $* failed on $pcap: $(tail "$TMP/softflowd.log")"
}

python3 "$HERE/gen_traffic_pcap.py" --ipv6 "$TMP/a.pcap" 300 21 || fail "cannot generate a.pcap"
python3 "$HERE/gen_traffic_pcap.py" --ipv6 --l2 "$TMP/b.pcap" 200 22 || fail "cannot generate b.pcap"

start_json_daemon "$PORT" "$OUT" ::
capture_start "$PORT"

# 1. the default flow tracking: FIRST_SWITCHED/LAST_SWITCHED, sampling 1
export_pcap "127.0.0.1:$PORT" "$TMP/a.pcap"
# 2. MAC addresses and VLANs (-T ether), one packet in 4 sampled (announced 4)
export_pcap "127.0.0.1:$PORT" "$TMP/b.pcap" -T ether -s 4
# 3. absolute times in milliseconds (ids 152/153), sampling back to 1
export_pcap "127.0.0.1:$PORT" "$TMP/a.pcap" -A milli
# 4. over IPv6: another exporter for the daemon, exporterIPv6Address
export_pcap "[::1]:$PORT" "$TMP/b.pcap"

wait_stable "$OUT" || fail "no records from softflowd: $(tail -20 "$TMP/daemon.log")"
kill -0 "$NFC_PID" 2>/dev/null || fail "daemon died: $(tail -20 "$TMP/daemon.log")"
capture_stop
stop_daemon

compare_flows "$OUT" --ordered --sessions 4 --expect-keys \
IPV4_SRC_ADDR,IPV4_DST_ADDR,IPV6_SRC_ADDR,IPV6_DST_ADDR,L4_SRC_PORT,L4_DST_PORT,PROTOCOL=58,PROTOCOL=1,\
ICMP_TYPE,icmpTypeCodeIPv6,TCP_FLAGS,SRC_TOS,FIRST_SWITCHED,LAST_SWITCHED,NF_F_FLOW_CREATE_TIME_MSEC,\
flowEndMilliseconds,IN_SRC_MAC,OUT_DST_MAC,SRC_VLAN,DST_VLAN,SAMPLING_INTERVAL=1,SAMPLING_INTERVAL=4,\
exporterIPv4Address=\"127.0.0.1\",exporterIPv6Address=\"::1\",flowStartSeconds,flowEndSeconds
echo "PASS: $(wc -l <"$OUT") records from softflowd (v9) match tshark"
