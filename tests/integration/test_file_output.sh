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
import v5
v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 0, 0, i), IPV4_DST_ADDR=(10, 0, 1, i), INPUT=1, OUTPUT=2,
                               IN_PACKETS=3, IN_OCTETS=300, FIRST_SWITCHED=10, LAST_SWITCHED=20,
                               SRC_PORT=5000 + i, DST_PORT=80, TCP_FLAGS=0x12, PROTO=6, SRC_MASK=8,
                               DST_MASK=16) for i in range(30)]))
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
