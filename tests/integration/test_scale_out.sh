#!/bin/sh
# Scale-out behind a source-hashing UDP balancer (docs/scale-out.md): N=3
# concentrators, each in its own network namespace with its own address,
# behind an nftables balancer that DNATs the exporters' datagrams sent to one
# virtual address to a node chosen by a hash of the exporter's source address
# (jhash ip saddr, fixed seed, 12 buckets mapped to the 3 nodes). DNAT keeps
# the source address, so each node sees every exporter's real address, and
# all of an exporter's datagrams (templates, options data, data) reach the
# same node: no template sharing between nodes.
#
# Seven exporters in their own namespaces (7 addresses): softflowd v9 and
# IPFIX in five layouts, pmacctd's nfprobe v9 and IPFIX, replaying generated
# captures to the virtual address (UDP 2055 for v9, 4739 for IPFIX).
#
# Phase A: every exporter runs twice (a restart: new process, new UDP source
# port, new conntrack entry, so the balancer chooses again). tcpdump records
# the datagrams on the balancer's exporter side, and:
#   - every data record of tshark's decode of that capture matches exactly one
#     record of the nodes' outputs taken together, and the counts are equal
#     (compare_flows.py): every record arrived once, none twice, none lost;
#   - 14 exporter sessions (address, source port) sent data: each restart
#     changed the source port;
#   - each exporter's records are all on one node (both runs: the choice
#     survives the restart), with the exporter's own address in them, and
#     as many as softflowd says it exported; at least two nodes are used;
#   - no node counts no_template, held data never replayed, malformed data
#     or kernel drops.
# Phase B: the node with the most exporters dies (SIGTERM); a UDP probe from
# the balancer tells it from the live ones; its buckets are moved to the two
# others in one atomic nft transaction and the dead node's conntrack entries,
# which still point at it, are deleted (the failover of docs/scale-out.md);
# then every exporter runs once more: the exporters of
# the surviving nodes stay where they were, those of the dead node land on
# exactly one survivor each, the new templates are learned there (no
# no_template), and the records again match tshark's decode one for one.
#
# IPVS (ipvsadm, scheduler sh) is documented but not tested here: it needs
# the kernel's ip_vs, which this test cannot assume (it fails when
# `ipvsadm -Ln` does not work; see docs/scale-out.md).
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd nft conntrack softflowd pmacctd tshark tcpdump python3 nsenter unshare ip

HERE="$NFC_SRCDIR/tests/integration"
VIP=192.0.2.55     # the address the exporters send to (on the balancer)
SEED=0x4e464331    # jhash seed: fixed, so a reload keeps every exporter in place
BUCKETS=12         # hash buckets; bucket b goes to node b mod 3
NODES="0 1 2"
# name address exporter version capture options...
EXPORTERS="e1 10.1.0.11 softflowd 9 a
e2 10.1.0.12 softflowd 9 b -T ether -s 4
e3 10.1.0.13 softflowd 10 a
e4 10.1.0.14 softflowd 10 b -b -T ether
e5 10.1.0.15 softflowd 9 a -A milli
e6 10.1.0.16 pmacctd 9 c
e7 10.1.0.17 pmacctd 10 c"

# The balancer is this script's own private namespace; the exporters and the
# nodes get namespaces held by a sleeping process (they vanish with it).
mkns() {
	unshare -n sleep 600 &
	eval "NS_$1=$!"
	NFC_PIDS="$NFC_PIDS $!"
	n=50
	while [ "$(readlink "/proc/$!/ns/net")" = "$(readlink /proc/$$/ns/net)" ]; do
		n=$((n - 1)); [ "$n" -gt 0 ] || fail "namespace $1 not created"; sleep 0.1
	done
}
# run_in NAME CMD...: exec CMD in namespace NAME (in the background its pid is $!)
run_in() { eval "_nsp=\$NS_$1"; shift; exec nsenter -t "$_nsp" -n -- "$@"; }
in_ns() { (run_in "$@"); }
# attach NAME BRIDGE ADDRESS GATEWAY: a veth from the balancer's BRIDGE to eth0 in NAME
attach() {
	eval "_nsp=\$NS_$1"
	ip link add "v$1" type veth peer name eth0 netns "$_nsp" || fail "cannot create a veth for $1"
	ip link set "v$1" master "$2" up
	in_ns "$1" ip link set lo up
	in_ns "$1" ip addr add "$3/24" dev eth0
	in_ns "$1" ip link set eth0 up
	in_ns "$1" ip route add default via "$4" || fail "cannot configure $1"
}

ip link add br-ex type bridge && ip addr add 10.1.0.1/24 dev br-ex && ip link set br-ex up &&
	ip link add br-nodes type bridge && ip addr add 10.2.0.1/24 dev br-nodes && ip link set br-nodes up &&
	ip addr add "$VIP/32" dev lo || fail "cannot create the balancer's bridges"
echo 1 >/proc/sys/net/ipv4/ip_forward || fail "cannot enable forwarding"
# unreplied UDP entries live 30 s after their last datagram; phase B looks
# at those of phase A, which must outlive the checks in between
echo 120 >/proc/sys/net/netfilter/nf_conntrack_udp_timeout || fail "cannot set the UDP conntrack timeout"
# br_netfilter would run the IP hooks (the DNAT) on the bridge already, before
# tcpdump on br-ex sees the datagrams: route between the bridges instead
if [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
	echo 0 >/proc/sys/net/bridge/bridge-nf-call-iptables || fail "cannot turn bridge-nf-call-iptables off"
fi
echo "$EXPORTERS" | while read -r name addr _; do echo "$name $addr"; done >"$TMP/exporters"
while read -r name addr; do mkns "$name"; done <"$TMP/exporters"
for j in $NODES; do mkns "n$j"; done
while read -r name addr; do attach "$name" br-ex "$addr" 10.1.0.1; done <"$TMP/exporters"
for j in $NODES; do attach "n$j" br-nodes "10.2.0.1$j" 10.2.0.1; done

# The balancer: DNAT by source-address hash (only the destination changes).
elements=""
b=0
while [ "$b" -lt "$BUCKETS" ]; do
	elements="$elements${elements:+, }$b : 10.2.0.1$((b % 3))"; b=$((b + 1))
done
nft -f - <<EOF || fail "nft refused the balancer's ruleset"
table inet netflow_balancer {
	map nodes4 {
		typeof numgen inc mod $BUCKETS : ip daddr
		elements = { $elements }
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		ip daddr $VIP udp dport { 2055, 4739 } dnat ip to jhash ip saddr mod $BUCKETS seed $SEED map @nodes4
	}
}
EOF

# The nodes: the same configuration on each (v9 on 2055, IPFIX on 4739).
start_node() {
	d="$TMP/n$1"
	mkdir -p "$d/state"
	printf '[core]\nstats_interval=0\nstate_dir=%s\n[listener]\nbind=0.0.0.0\nport=2055\n' "$d/state" >"$d/nfc.ini"
	printf '[input ipfix_in]\nplugin=udp\nbind=0.0.0.0\nport=4739\n' >>"$d/nfc.ini"
	printf '[output json]\nplugin=file\npath=%s\n' "$d/out.json" >>"$d/nfc.ini"
	run_in "n$1" "$NFC_BIN" -c "$d/nfc.ini" >"$d/daemon.out" 2>"$d/daemon.log" &
	eval "NODE_PID_$1=$!"
	NFC_PIDS="$NFC_PIDS $!"
}
stop_node() {
	eval "_p=\$NODE_PID_$1"
	kill -TERM "$_p"; wait "$_p" || fail "node n$1 exited $? after SIGTERM: $(tail -5 "$TMP/n$1/daemon.log")"
	# the stats line at exit: nothing undecodable, nothing held and dropped
	python3 - "$TMP/n$1/daemon.log" "n$1" <<'PY' || fail "node n$1: counters show a loss (see above)"
import re, sys
bad = 0
for line in open(sys.argv[1]):
    m = re.search(r"\[(\w+)\] stats: (.*)", line)
    if not m:
        continue
    c = dict(kv.split("=") for kv in m.group(2).split())
    for k in ("no_template", "malformed", "kernel_drops", "truncated", "unknown_version", "malformed_templates",
              "templates_refused", "queue_overflow", "send_errors", "lost_at_shutdown"):
        if int(c.get(k, 0)):
            print("%s [%s] %s=%s" % (sys.argv[2], m.group(1), k, c[k])); bad += 1
    if int(c.get("held_sets", 0)) != int(c.get("replayed_sets", 0)):
        print("%s [%s] held_sets=%s replayed_sets=%s: held data never replayed"
              % (sys.argv[2], m.group(1), c["held_sets"], c["replayed_sets"])); bad += 1
sys.exit(1 if bad else 0)
PY
}
for j in $NODES; do start_node "$j"; done
for j in $NODES; do wait_for "running" "$TMP/n$j/daemon.log" 10; done

python3 "$HERE/gen_traffic_pcap.py" --ipv6 "$TMP/a.pcap" 150 61 &&
	python3 "$HERE/gen_traffic_pcap.py" --ipv6 --l2 "$TMP/b.pcap" 120 62 &&
	python3 "$HERE/gen_traffic_pcap.py" --ipv6 --l2 "$TMP/c.pcap" 100 63 || fail "cannot generate the captures"

# export NAME ROUND EXPORTER VERSION CAPTURE OPTIONS...: one run of one exporter
# to the virtual address; softflowd's count of exported records goes to
# $TMP/NAME.ROUND.count.
export_run() {
	name=$1 round=$2 exporter=$3 version=$4 pcap="$TMP/$5.pcap"; shift 5
	port=2055; [ "$version" = 10 ] && port=4739
	log="$TMP/$name.$round.log"
	if [ "$exporter" = softflowd ]; then
		in_ns "$name" softflowd -d -a -r "$pcap" -n "$VIP:$port" -v "$version" -c none -p "$TMP/$name.pid" \
			"$@" >"$log" 2>&1 || { echo "softflowd $name failed: $(tail -3 "$log")"; return 1; }
		sed -n 's/^Flows exported: .* (\([0-9]*\) records) in .* (\([0-9]*\) failures)$/\1 \2/p' "$log" \
			>"$TMP/$name.$round.count"
		read -r recs failures <"$TMP/$name.$round.count" && [ "$failures" = 0 ] && [ "$recs" -gt 0 ] ||
			{ echo "softflowd $name: $(grep '^Flows exported' "$log")"; return 1; }
	else
		# pmacctd reads the capture, waits (pcap_savefile_wait), and SIGINT makes
		# nfprobe export its whole cache (see test_pmacct_v9_ipfix.sh)
		printf 'daemonize: false\npcap_savefile: %s\npcap_savefile_wait: true\nplugins: nfprobe[p]\n' "$pcap" \
			>"$TMP/$name.conf"
		printf 'nfprobe_receiver: %s:%s\nnfprobe_version: %s\n' "$VIP" "$port" "$version" >>"$TMP/$name.conf"
		run_in "$name" pmacctd -f "$TMP/$name.conf" >"$log" 2>&1 &
		pm=$!
		n=200
		until grep -q "finished reading PCAP capture file" "$log"; do
			n=$((n - 1)); [ "$n" -gt 0 ] || { kill "$pm"; echo "pmacctd $name: $(tail -3 "$log")"; return 1; }
			sleep 0.1
		done
		sleep 1 # the core hands its last packets to the nfprobe plugin
		kill -INT "$pm"; wait "$pm"
		grep -q "Shutting down on user request" "$log" || { echo "pmacctd $name: no shutdown: $(tail -3 "$log")"; return 1; }
		! grep -q "^ERROR: \[" "$log" || { echo "pmacctd $name: $(grep "^ERROR: \[" "$log")"; return 1; }
	fi
}
# round ROUND: every exporter once, all at the same time
round() {
	pids=""
	while read -r name addr exporter version pcap opts; do
		# shellcheck disable=SC2086
		export_run "$name" "$1" "$exporter" "$version" "$pcap" $opts &
		pids="$pids $!"
	done <<EOF
$EXPORTERS
EOF
	for p in $pids; do wait "$p" || fail "an exporter failed in round $1"; done
}
# capture on the balancer's exporter side: what the exporters sent
cap_start() {
	tcpdump -i br-ex --immediate-mode -s 2048 -B 8192 -U -n -w "$TMP/$1.pcap" "udp and dst host $VIP" \
		2>"$TMP/$1.tcpdump.log" &
	CAP_PID=$!
	NFC_PIDS="$NFC_PIDS $CAP_PID"
	wait_for "listening on" "$TMP/$1.tcpdump.log" 10
}
# cap_stop NAME: stop it and decode it with tshark into $TMP/NAME.json
cap_stop() {
	sleep 1
	kill -INT "$CAP_PID"; wait "$CAP_PID" 2>/dev/null
	grep -q "^0 packets dropped by kernel" "$TMP/$1.tcpdump.log" ||
		fail "tcpdump dropped datagrams: $(cat "$TMP/$1.tcpdump.log")"
	python3 "$HERE/v9_uncount.py" "$TMP/$1.pcap" "$TMP/$1-ref.pcap" 2055 >/dev/null ||
		fail "cannot copy the capture for tshark"
	TZ=UTC tshark -r "$TMP/$1-ref.pcap" -d udp.port==2055,cflow -d udp.port==4739,cflow -T json \
		-J "ip ipv6 udp cflow" --no-duplicate-keys >"$TMP/$1.json" 2>"$TMP/$1.tshark.log" ||
		fail "tshark failed: $(cat "$TMP/$1.tshark.log")"
}
# settle: until the nodes' outputs stopped growing for a second (up to 20 s)
settle() {
	last=-1 same=0 n=200
	while [ "$n" -gt 0 ]; do
		cur=$(cat "$TMP"/n*/out.json 2>/dev/null | wc -l)
		if [ "$cur" = "$last" ]; then
			same=$((same + 1)); [ "$same" -ge 10 ] && return 0
		else
			same=0
		fi
		last=$cur; sleep 0.1; n=$((n - 1))
	done
	fail "the nodes' outputs did not settle"
}
# placement PHASE FIRST_LINE: which node has each exporter's records (output
# lines from FIRST_LINE on, per node, in $TMP/first.N), checked against
# softflowd's counts of the rounds given in $ROUNDS; writes $TMP/PHASE.place
# ("name address node records") and $TMP/PHASE.jsonl (those lines of all nodes).
placement() {
	python3 - "$TMP" "$1" "$NODES" "$ROUNDS" <<'PY' || { NFC_KEEP_TMP=1; fail "placement check failed ($1)"; }
import collections, json, os, sys
tmp, phase, nodes, rounds = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
exporters = [l.split() for l in open(os.path.join(tmp, "exporters"))]
addr_of = {a: n for n, a in exporters}
seen = collections.defaultdict(collections.Counter)  # address -> node -> records
bad = 0
with open(os.path.join(tmp, phase + ".jsonl"), "w") as allout:
    for j in nodes:
        first = int(open(os.path.join(tmp, "first.%s" % j)).read())
        path = os.path.join(tmp, "n%s" % j, "out.json")
        lines = open(path).read().splitlines() if os.path.exists(path) else []
        for line in lines[first:]:
            allout.write(line + "\n")
            a = json.loads(line).get("exporterIPv4Address")
            if a not in addr_of:
                if bad < 5:
                    print("n%s: a record with exporter address %r (not an exporter's own address)" % (j, a))
                bad += 1
                continue
            seen[a]["n" + j] += 1
with open(os.path.join(tmp, phase + ".place"), "w") as place:
    for name, a in exporters:
        where = seen.get(a, {})
        if len(where) != 1:
            print("%s (%s): records on %d nodes %s, expected exactly one" % (name, a, len(where), dict(where)))
            bad += 1
            continue
        node, n = next(iter(where.items()))
        want = 0
        for r in rounds:
            p = os.path.join(tmp, "%s.%s.count" % (name, r))
            if os.path.exists(p):  # softflowd says how many records it exported
                want += int(open(p).read().split()[0])
            else:
                want = None
                break
        if want is not None and n != want:
            print("%s (%s): %d records on %s, softflowd exported %d" % (name, a, n, node, want))
            bad += 1
        print("  %s %s -> %s: %d records%s" % (name, a, node, n, "" if want is None else " (softflowd: %d)" % want))
        place.write("%s %s %s %d\n" % (name, a, node, n))
sys.exit(1 if bad else 0)
PY
}
expect_keys() {
	keys=""
	while read -r name addr; do keys="$keys,exporterIPv4Address=\"$addr\""; done <"$TMP/exporters"
	echo "${keys#,}"
}

# Phase A: two rounds (the second is every exporter restarted)
for j in $NODES; do echo 0 >"$TMP/first.$j"; done
cap_start capA
round 1
round 2
settle
cap_stop capA
echo "phase A (two runs of each exporter):"
ROUNDS="1 2"
placement A
nodes_used=$(awk '{ print $3 }' "$TMP/A.place" | sort -u | wc -l)
[ "$nodes_used" -ge 2 ] || fail "every exporter hashed to one node: the balancer does not spread them"
python3 "$HERE/compare_flows.py" --sessions 14 --expect-keys "$(expect_keys)" "$TMP/capA.json" "$TMP/A.jsonl" ||
	{ NFC_KEEP_TMP=1; fail "phase A: the nodes' records differ from tshark's decode (files kept in $TMP)"; }

# Phase B: the busiest node dies; its buckets go to the two others, in turn
victim=$(awk '{ print $3 }' "$TMP/A.place" | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 { print substr($2, 2) }')
stop_node "$victim"
# The health probe of docs/scale-out.md: an IPFIX message without sets (no
# records, not malformed) on a connected socket; ICMP port unreachable
# (ECONNREFUSED) means nothing listens there, silence that something does.
probe() {
	python3 - "$1" "$2" <<'PY'
import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], int(sys.argv[2])))
s.settimeout(0.5)
s.send(struct.pack("!HHIII", 10, 16, int(time.time()), 0, 0))
try:
    s.recv(1)
except socket.timeout:
    sys.exit(0)
except ConnectionRefusedError:
    sys.exit(1)
PY
}
for j in $NODES; do
	for port in 2055 4739; do
		if probe "10.2.0.1$j" "$port"; then state=up; else state=down; fi
		want=up; [ "$j" = "$victim" ] && want=down
		[ "$state" = "$want" ] || fail "the probe says n$j:$port is $state, it is $want"
	done
done
survivors=$(for j in $NODES; do [ "$j" = "$victim" ] || printf '%s ' "$j"; done)
set -- $survivors
{
	b=$victim k=0
	while [ "$b" -lt "$BUCKETS" ]; do
		if [ $k = 0 ]; then to=$1; else to=$2; fi
		echo "delete element inet netflow_balancer nodes4 { $b }"
		echo "add element inet netflow_balancer nodes4 { $b : 10.2.0.1$to }"
		b=$((b + 3)) k=$((1 - k))
	done
} >"$TMP/failover.nft"
nft -f "$TMP/failover.nft" || fail "nft refused the failover"
# The DNAT choice is kept in the balancer's conntrack entry of each exporter
# session (address and source port): a map change applies to new sessions
# only. The dead node's sessions of phase A still point at it (an exporter
# that keeps its source port would keep sending there) until deleted.
stale() { conntrack -L -p udp --orig-dst "$VIP" --reply-src "10.2.0.1$victim" 2>/dev/null | grep -c .; }
on_victim=$(awk -v v="n$victim" '$3 == v' "$TMP/A.place" | wc -l)
[ "$(stale)" = $((2 * on_victim)) ] ||
	fail "$(stale) conntrack entries towards the dead node, expected $((2 * on_victim)) (2 sessions of $on_victim exporters)"
conntrack -D -p udp --orig-dst "$VIP" --reply-src "10.2.0.1$victim" >/dev/null 2>&1
[ "$(stale)" = 0 ] || fail "conntrack -D left entries towards the dead node"
for j in $survivors; do wc -l <"$TMP/n$j/out.json" >"$TMP/first.$j"; done
NODES=$survivors
cap_start capB
round 3
settle
cap_stop capB
echo "phase B (n$victim stopped, its buckets moved to n$1 and n$2):"
ROUNDS=3
placement B
# exporters of the survivors stayed; those of the dead node moved to a survivor
while read -r name addr node n; do
	before=$(awk -v e="$name" '$1 == e { print $3 }' "$TMP/A.place")
	if [ "$before" = "n$victim" ]; then
		[ "$node" != "n$victim" ] || fail "$name still placed on the dead node"
	else
		[ "$node" = "$before" ] || fail "$name moved from $before to $node although its node is alive"
	fi
done <"$TMP/B.place"
python3 "$HERE/compare_flows.py" --sessions 7 "$TMP/capB.json" "$TMP/B.jsonl" ||
	{ NFC_KEEP_TMP=1; fail "phase B: the nodes' records differ from tshark's decode (files kept in $TMP)"; }
for j in $survivors; do stop_node "$j"; done
echo "PASS: $(cat "$TMP/A.jsonl" "$TMP/B.jsonl" | wc -l) records from 7 exporters over 3 nodes, each exporter on one node" \
	"across restarts; $on_victim exporters moved off the dead node n$victim, none of the others moved"
