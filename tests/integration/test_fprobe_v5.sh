#!/bin/sh
# NetFlow v5 from a third real exporter: fprobe captures live traffic on the
# namespace's loopback (UDP exchanges, TCP sessions ending in FIN or RST, ICMP
# echoes, with several TOS values, and one long UDP flow cut by the active
# timer) and exports v5 to the daemon; tcpdump records the export datagrams
# and tshark's decode of that capture is the reference every JSON line of the
# daemon is compared with, field by field, in order. fprobe's flow sequence
# numbers must show the capture holds its whole export.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"
private_net "$@"
need_cmd fprobe tshark python3 tcpdump

PORT=2055
OUT="$TMP/out.json"

# traffic.py SEED FLOWS: conversations between 127.0.0.0/24 clients and
# 127.0.1.1-16 servers (UDP responders bound per address, so replies come from
# the address asked), plus a 3 s UDP flow from 127.0.2.1.
cat >"$TMP/traffic.py" <<'EOF'
import random, selectors, socket, struct, sys, threading, time

r = random.Random(int(sys.argv[1]))
nflows = int(sys.argv[2])
TOS = [0, 0, 0x10, 0x28, 0xB8]
SERVERS = ["127.0.1.%d" % i for i in range(1, 17)]
UDP_PORTS = [53, 123, 5060, 9999]
TCP_PORTS = [80, 443, 8080]

sel = selectors.DefaultSelector()
for a in SERVERS:
    for p in UDP_PORTS:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, p))
        sel.register(s, selectors.EVENT_READ)

def udp_responder():
    while True:
        for key, _ in sel.select():
            d, peer = key.fileobj.recvfrom(65535)
            if d[:1] == b"\x01":  # the client asks for a reply
                key.fileobj.sendto(bytes(max(8, len(d) // 3)), peer)

def tcp_conn(c):
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(bytes(len(d) // 2 + 1))
    except OSError:
        pass
    c.close()

def tcp_server(srv):
    while True:
        c, _ = srv.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()

threading.Thread(target=udp_responder, daemon=True).start()
for p in TCP_PORTS:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", p))
    srv.listen(128)
    threading.Thread(target=tcp_server, args=(srv,), daemon=True).start()

def long_flow():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x48)
    s.bind(("127.0.2.1", 40000))
    for i in range(20):
        s.sendto(bytes(100 + i), ("127.0.1.1", 9999))
        time.sleep(0.25)

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF

longf = threading.Thread(target=long_flow)
longf.start()
for n in range(nflows):
    src, dst = "127.0.0.%d" % r.randrange(2, 255), r.choice(SERVERS)
    tos = r.choice(TOS)
    kind = r.choice(["udp", "udp", "tcp", "tcp", "icmp"])
    if kind == "udp":
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        s.bind((src, 0))
        for i in range(r.randrange(1, 6)):
            s.sendto(bytes([r.randrange(2)]) + bytes(r.randrange(0, 1400)), (dst, r.choice(UDP_PORTS)))
        time.sleep(0.005)
        s.close()
    elif kind == "tcp":
        c = socket.socket()
        c.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        c.bind((src, 0))
        c.connect((dst, r.choice(TCP_PORTS)))
        for i in range(r.randrange(0, 4)):
            c.sendall(bytes(r.randrange(1, 3000)))
            c.recv(65536)
        if r.random() < 0.2:  # abort with a RST
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    else:  # ICMP echo requests; the kernel answers them
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        s.bind((src, 0))
        ident = r.randrange(65536)
        for i in range(r.randrange(1, 4)):
            pay = bytes(r.randrange(0, 500))
            h = struct.pack("!BBHHH", 8, 0, 0, ident, i)
            s.sendto(h[:2] + struct.pack("!H", csum(h + pay)) + h[4:] + pay, (dst, 0))
        s.close()
longf.join()
time.sleep(0.2)
EOF


start_json_daemon "$PORT" "$OUT"

capture_start "$PORT"

# fprobe in the foreground (-l 2, logging to stdout; the id names its pid
# file, so concurrent runs do not share one), scanning every second, idle
# timer 1 s, active timer 2 s, interface indexes 3 and 7; a long pending
# queue and kernel buffer, or it drops packets of a burst (default -q 100).
fprobe -i lo -f "ip and not udp port $PORT" -s 1 -d 1 -e 2 -x 3:7 -q 10000 -B 4096 \
	-l "2:nfc-test-$$" "127.0.0.1:$PORT" >"$TMP/fprobe.log" 2>&1 &
FPROBE_PID=$!
NFC_PIDS="$NFC_PIDS $FPROBE_PID"
wait_for "collector #1" "$TMP/fprobe.log" 10
sleep 0.5

python3 "$TMP/traffic.py" 7 120 >"$TMP/traffic.log" 2>&1 || fail "traffic generator failed: $(cat "$TMP/traffic.log")"
sleep 2 # fprobe takes in the last packets and expires idle flows
# SIGTERM: fprobe emits its whole flow cache and the last partial datagram.
kill -TERM "$FPROBE_PID"
wait "$FPROBE_PID"; rc=$?
[ "$rc" = 0 ] || fail "fprobe exited $rc after SIGTERM: $(tail -20 "$TMP/fprobe.log")"
grep -q "Done" "$TMP/fprobe.log" || fail "fprobe did not flush its cache: $(tail -20 "$TMP/fprobe.log")"

capture_stop
n=$CAPTURED
[ "$n" -ge 200 ] || fail "fprobe exported only $n records: $(tail -20 "$TMP/fprobe.log")"
wait_lines "$OUT" "$n" 10 || fail "daemon wrote $(wc -l <"$OUT") of $n records"
kill -0 "$NFC_PID" 2>/dev/null || fail "daemon died: $(tail -20 "$TMP/daemon.log")"
stop_daemon

compare_v5 "$OUT" --complete
echo "PASS: $(wc -l <"$OUT") records from fprobe match tshark"
