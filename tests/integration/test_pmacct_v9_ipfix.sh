#!/bin/sh
# NetFlow v9 and IPFIX from a second real exporter: pmacctd's nfprobe plugin
# reads a generated capture of IPv4 and IPv6 traffic (TCP, UDP, ICMP, ICMPv6;
# a MAC pair per conversation, half of them in 802.1Q VLANs)
# and exports it to one daemon, run after run without restarting it:
# nfprobe_version 9 and 10, the default record layout and a rich one (MACs,
# VLAN, masks, AS numbers, BGP next hops, interfaces, direction, 64-bit
# counters, absolute millisecond times), unsampled and 1-in-4 sampled (the
# interval announced in options data), over IPv4 and IPv6 (one exporter
# address of each family on the daemon's dual-stack socket, several source
# ids). tcpdump records the datagrams on the wire, and every data record of
# tshark's decode of that capture must match exactly one JSON line of the
# daemon, key by key and value by value, in order, with the keys the decoder
# adds (exporterIPv4Address / exporterIPv6Address, SAMPLING_INTERVAL /
# samplingInterval, flowStartSeconds / flowEndSeconds) computed from tshark's
# decode (compare_flows.py). Each unsampled run must export one record per
# flow direction of the capture, so the reference is pmacctd's whole export.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd pmacctd tshark python3 tcpdump

PORT=2055
HERE="$NFC_SRCDIR/tests/integration"
OUT="$TMP/out.json"
RICH="aggregate: src_host, dst_host, src_port, dst_port, proto, tos, src_mac, dst_mac, vlan, tcpflags, \
in_iface, out_iface, src_mask, dst_mask, src_as, dst_as, peer_dst_ip"

python3 "$HERE/gen_traffic_pcap.py" --ipv6 --l2 "$TMP/traffic.pcap" 300 41 || fail "cannot generate the capture"
# The flows pmacctd must export: one per direction of each conversation
# (addresses, protocol, ports; ICMP and ICMPv6 type and code instead of ports;
# each conversation has one VLAN and one pair of MACs).
flows=$(python3 - "$TMP/traffic.pcap" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb")
f.read(24)
keys = set()
while True:
    h = f.read(16)
    if len(h) < 16:
        break
    fr = f.read(struct.unpack("<IIII", h)[2])
    if fr[12:14] == b"\x81\x00":  # 802.1Q
        fr = fr[:12] + fr[16:]
    ip = fr[14:]
    if fr[12:14] == b"\x86\xdd":
        proto, addrs, l4 = ip[6], ip[8:40], ip[40:]
    else:
        proto, addrs, l4 = ip[9], ip[12:20], ip[(ip[0] & 15) * 4:]
    keys.add((addrs, proto, l4[:2] if proto in (1, 58) else l4[:4]))
print(len(keys))
PY
) || fail "cannot count the flows of the capture"

# pmacct_run NAME VERSION RECEIVER [CONFIG LINE...]: pmacctd reads the
# capture once (then waits, pcap_savefile_wait) and SIGINT makes the nfprobe
# plugin expire its whole cache, exporting every flow.
pmacct_run() {
	name=$1 version=$2 receiver=$3; shift 3
	{
		printf 'daemonize: false\npcap_savefile: %s\npcap_savefile_wait: true\n' "$TMP/traffic.pcap"
		printf 'plugins: nfprobe[p]\nnfprobe_receiver: %s\nnfprobe_version: %s\n' "$receiver" "$version"
		for line in "$@"; do echo "$line"; done
	} >"$TMP/$name.conf"
	pmacctd -f "$TMP/$name.conf" >"$TMP/$name.log" 2>&1 &
	PMACCTD_PID=$!
	NFC_PIDS="$NFC_PIDS $PMACCTD_PID"
	wait_for "finished reading PCAP capture file" "$TMP/$name.log" 20
	sleep 1 # the core hands its last packets to the nfprobe plugin
	kill -INT "$PMACCTD_PID"
	# Its exit status is not checked: now and then the core sees the plugin
	# end first and exits 1 after a complete export (see test_pmacct_v5.sh);
	# the record counts checked below check the export instead.
	wait "$PMACCTD_PID"
	grep -q "Shutting down on user request" "$TMP/$name.log" ||
		fail "pmacctd ($name): the nfprobe plugin did not shut down on SIGINT: $(tail -20 "$TMP/$name.log")"
	# a configuration key pmacctd refuses is only logged ("ERROR: [file] ... Not loaded.")
	! grep -q "^ERROR: \[" "$TMP/$name.log" || fail "pmacctd ($name): $(grep "^ERROR: \[" "$TMP/$name.log")"
}

start_json_daemon "$PORT" "$OUT" ::
capture_start "$PORT"

pmacct_run v9 9 "127.0.0.1:$PORT"
pmacct_run v9-rich-sampled 9 "[::1]:$PORT" "$RICH" "sampling_rate: 4" "nfprobe_engine: 7"
pmacct_run ipfix 10 "127.0.0.1:$PORT"
pmacct_run ipfix-rich-out 10 "127.0.0.1:$PORT" "$RICH" "nfprobe_direction[p]: out" "nfprobe_ifindex[p]: 5" \
	"nfprobe_engine: 9"
pmacct_run ipfix-sampled 10 "[::1]:$PORT" "sampling_rate: 4"

wait_stable "$OUT" || fail "no records from pmacctd: $(tail -20 "$TMP/daemon.log")"
kill -0 "$NFC_PID" 2>/dev/null || fail "daemon died: $(tail -20 "$TMP/daemon.log")"
capture_stop
stop_daemon

compare_flows "$OUT" --ordered --sessions 5 --session-records "$flows,*,$flows,$flows,*" --expect-keys \
IPV4_SRC_ADDR,IPV6_SRC_ADDR,L4_SRC_PORT,PROTOCOL=58,PROTOCOL=1,SRC_TOS,IN_BYTES,IN_PKTS,\
NF_F_FLOW_CREATE_TIME_MSEC,flowEndMilliseconds,IN_SRC_MAC,IN_DST_MAC,SRC_VLAN,SRC_MASK,IPV6_SRC_MASK,\
SRC_AS,BGP_IPV4_NEXT_HOP,BPG_IPV6_NEXT_HOP,TCP_FLAGS,DIRECTION,FLOW_SAMPLER_ID,SAMPLING_INTERVAL=4,\
sourceIPv4Address,sourceIPv6Address,flowStartMilliseconds,postSourceMacAddress,postDestinationMacAddress,\
postVlanId,egressInterface=5,flowDirection=1,bgpNextHopIPv6Address,samplerId,samplingInterval=4,\
exporterIPv4Address=\"127.0.0.1\",exporterIPv6Address=\"::1\",flowStartSeconds,flowEndSeconds
echo "PASS: $(wc -l <"$OUT") records from pmacctd (v9 and IPFIX) match tshark"
