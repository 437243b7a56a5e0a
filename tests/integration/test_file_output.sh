#!/bin/sh
# The file output when writing fails midway (a full disk, a size limit):
# records are held and retried, and once writing works again the file holds
# every record exactly once, each a whole JSON line.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3 prlimit

cat > "$TMP/nfc.ini" <<X
[core]
stats_interval=0
[listener]
bind=127.0.0.1
port=2055
[output json]
plugin=file
path=$TMP/out.json
X
# A 5 KiB soft file size limit (with SIGXFSZ ignored, writes past it fail with
# EFBIG) makes the first write stop partway through a line.
(trap '' XFSZ; exec prlimit --fsize=5120:unlimited -- "$NFC_BIN" -c "$TMP/nfc.ini") >"$TMP/daemon.out" 2>"$TMP/daemon.log" &
NFC_PID=$!
NFC_PIDS="$NFC_PIDS $NFC_PID"
wait_for "running" "$TMP/daemon.log"
python3 - <<'X'
import socket, struct
recs = b"".join(struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([10, 0, 0, i]), bytes([10, 0, 1, i]), bytes(4),
                1, 2, 3, 300, 10, 20, 5000 + i, 80, 0, 0x12, 6, 0, 0, 0, 8, 16, 0) for i in range(30))
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
    struct.pack("!HHIIIIBBH", 5, 30, 1000, 1700000000, 0, 0, 0, 0, 0) + recs, ("127.0.0.1", 2055))
X
wait_for "cannot write to $TMP/out.json" "$TMP/daemon.log"
size=$(stat -c %s "$TMP/out.json")
[ "$size" -le 5120 ] || fail "the size limit did not apply ($size bytes)"
prlimit --pid "$NFC_PID" --fsize=unlimited || fail "cannot lift the limit"
wait_for "writing to $TMP/out.json again" "$TMP/daemon.log" 20
stop_daemon
python3 - "$TMP/out.json" <<'X' || fail "the file does not hold each record once, whole"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "no newline at the end"
recs = [json.loads(l) for l in lines[:-1]]
srcs = sorted(r["IPV4_SRC_ADDR"] for r in recs)
assert srcs == sorted("10.0.0.%d" % i for i in range(30)), "records: %d, %s" % (len(recs), srcs[:5])
X
echo "PASS: a failed write is resumed without duplicates or cut lines"
