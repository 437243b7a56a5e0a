#!/bin/sh
# IPFIX end to end with a real exporter: softflowd (-v 10) exports generated
# IPv4 and IPv6 traffic (TCP, UDP, ICMP, ICMPv6; in b.pcap a MAC pair per
# conversation, half of them in 802.1Q VLANs) to one daemon, run after run
# without restarting it, tcpdump records the datagrams on the wire, and every
# data record of tshark's decode of that capture must match exactly one JSON
# line of the daemon, key by key and value by value, in order, with the keys
# the decoder adds (exporterIPv4Address / exporterIPv6Address,
# samplingInterval from the options data, flowStartSeconds / flowEndSeconds
# from flowStartSysUpTime and the announced systemInitTimeMilliseconds, or
# from the absolute times) computed from tshark's decode (compare_flows.py).
# The runs cover every time format softflowd has (sysUpTime, seconds,
# milliseconds, microseconds, nanoseconds), RFC 5103 reverse elements (-b),
# MACs and VLANs, a sampling interval announced as RFC 5476 packet interval
# and space, and IPv4 and IPv6 exporter addresses on the daemon's dual-stack
# socket; the daemon's configuration only names the listener and the output.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd softflowd tshark python3 tcpdump

PORT=4739
HERE="$NFC_SRCDIR/tests/integration"
OUT="$TMP/out.json"

# export_pcap DEST PCAP OPTIONS...: softflowd reads the capture and exports IPFIX to DEST.
export_pcap() {
	dest=$1 pcap=$2; shift 2
	echo "softflowd -v 10 $* -> $dest" >>"$TMP/softflowd.log"
	softflowd -d -a -r "$pcap" -n "$dest" -v 10 -c none -p "$TMP/softflowd.pid" "$@" \
		>>"$TMP/softflowd.log" 2>&1 || fail "softflowd $* failed on $pcap: $(tail "$TMP/softflowd.log")"
}

python3 "$HERE/gen_traffic_pcap.py" --ipv6 "$TMP/a.pcap" 300 31 || fail "cannot generate a.pcap"
python3 "$HERE/gen_traffic_pcap.py" --ipv6 --l2 "$TMP/b.pcap" 200 32 || fail "cannot generate b.pcap"

start_json_daemon "$PORT" "$OUT" ::
capture_start "$PORT"

# 1. flowStartSysUpTime/flowEndSysUpTime with systemInitTimeMilliseconds
export_pcap "127.0.0.1:$PORT" "$TMP/a.pcap"
# 2. bi-flows with reverse elements, MACs and VLANs, one packet in 4 sampled
export_pcap "127.0.0.1:$PORT" "$TMP/b.pcap" -b -T ether -s 4
# 3.-6. the absolute time formats
export_pcap "127.0.0.1:$PORT" "$TMP/a.pcap" -A milli
export_pcap "127.0.0.1:$PORT" "$TMP/b.pcap" -A micro
export_pcap "127.0.0.1:$PORT" "$TMP/a.pcap" -A nano
export_pcap "127.0.0.1:$PORT" "$TMP/b.pcap" -A sec
# 7. over IPv6: another exporter for the daemon, exporterIPv6Address
export_pcap "[::1]:$PORT" "$TMP/b.pcap"

wait_stable "$OUT" || fail "no records from softflowd: $(tail -20 "$TMP/daemon.log")"
kill -0 "$NFC_PID" 2>/dev/null || fail "daemon died: $(tail -20 "$TMP/daemon.log")"
capture_stop
stop_daemon

compare_flows "$OUT" --ordered --sessions 7 --expect-keys \
sourceIPv4Address,destinationIPv4Address,sourceIPv6Address,destinationIPv6Address,sourceTransportPort,\
destinationTransportPort,protocolIdentifier=58,protocolIdentifier=1,icmpTypeCodeIPv4,icmpTypeCodeIPv6,\
tcpControlBits,ipClassOfService,flowStartSysUpTime,flowEndSysUpTime,flowStartMilliseconds,\
flowEndMilliseconds,flowStartMicroseconds,flowEndMicroseconds,flowStartNanoseconds,flowEndNanoseconds,\
flowStartSeconds,flowEndSeconds,reverseOctetDeltaCount,reversePacketDeltaCount,reverseTcpControlBits,\
sourceMacAddress,postDestinationMacAddress,vlanId,postVlanId,samplingInterval=1,samplingInterval=4,\
exporterIPv4Address=\"127.0.0.1\",exporterIPv6Address=\"::1\"
echo "PASS: $(wc -l <"$OUT") records from softflowd (IPFIX) match tshark"
