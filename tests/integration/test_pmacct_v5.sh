#!/bin/sh
# NetFlow v5 from a second real exporter: pmacctd's nfprobe plugin reads a
# generated capture and exports v5 to the daemon; tcpdump records the
# datagrams on the wire and tshark's decode of that capture is the reference
# every JSON line of the daemon is compared with, field by field, in order.
# pmacctd must export one record per flow direction of the capture, and its
# flow sequence numbers must show the capture holds its whole export.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd pmacctd tshark python3 tcpdump

PORT=2055
HERE="$NFC_SRCDIR/tests/integration"
OUT="$TMP/out.json"

python3 "$HERE/gen_traffic_pcap.py" "$TMP/traffic.pcap" 300 3 || fail "cannot generate the capture"
# The flows pmacctd must export: one per direction of each conversation
# (addresses, protocol, ports; ICMP type and code instead of ports).
flows=$(python3 - "$TMP/traffic.pcap" <<'EOF'
import struct, sys
f = open(sys.argv[1], "rb")
f.read(24)
keys = set()
while True:
    h = f.read(16)
    if len(h) < 16:
        break
    ip = f.read(struct.unpack("<IIII", h)[2])[14:]
    l4 = ip[(ip[0] & 15) * 4:]
    keys.add((ip[12:20], ip[9], l4[:2] if ip[9] == 1 else l4[:4]))
print(len(keys))
EOF
) || fail "cannot count the flows of the capture"


# pmacctd reads the file once (then waits for a signal, pcap_savefile_wait);
# SIGINT makes the nfprobe plugin expire its whole cache, exporting every flow.
cat >"$TMP/pmacctd.conf" <<EOF
daemonize: false
pcap_savefile: $TMP/traffic.pcap
pcap_savefile_wait: true
plugins: nfprobe
nfprobe_receiver: 127.0.0.1:$PORT
nfprobe_version: 5
EOF

start_json_daemon "$PORT" "$OUT"

capture_start "$PORT"

pmacctd -f "$TMP/pmacctd.conf" >"$TMP/pmacctd.log" 2>&1 &
PMACCTD_PID=$!
NFC_PIDS="$NFC_PIDS $PMACCTD_PID"
wait_for "finished reading PCAP capture file" "$TMP/pmacctd.log" 20
sleep 1 # the core hands its last packets to the nfprobe plugin
kill -INT "$PMACCTD_PID"
# Its exit status is not checked: now and then the core sees the plugin end
# first ("connection lost to 'default_nfprobe-nfprobe'") and exits 1 after a
# complete export. The record count below checks the export instead.
wait "$PMACCTD_PID"
grep -q "Shutting down on user request" "$TMP/pmacctd.log" ||
	fail "the nfprobe plugin did not shut down on SIGINT: $(tail -20 "$TMP/pmacctd.log")"

capture_stop
n=$CAPTURED
[ "$n" = "$flows" ] || fail "pmacctd exported $n records for the $flows flows of the capture: $(tail -20 "$TMP/pmacctd.log")"
wait_lines "$OUT" "$n" 10 || fail "daemon wrote $(wc -l <"$OUT") of $n records"
kill -0 "$NFC_PID" 2>/dev/null || fail "daemon died: $(tail -20 "$TMP/daemon.log")"
stop_daemon

compare_v5 "$OUT" --complete
echo "PASS: $(wc -l <"$OUT") records from pmacctd match tshark"
