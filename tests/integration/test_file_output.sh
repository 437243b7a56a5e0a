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

# A pipe nobody reads (a FIFO whose reader never reads): the records are
# held, the daemon says so, and SIGTERM still ends it within drain_timeout,
# with what could not be written counted as lost at shutdown.
mkfifo "$TMP/fifo" || fail "mkfifo"
sleep 600 <"$TMP/fifo" &
READER=$!
NFC_PIDS="$NFC_PIDS $READER"
sed -e "s|^path=.*|path=$TMP/fifo|" -e 's/^stats_interval=0/stats_interval=0\ndrain_timeout=2/' "$TMP/nfc.ini" >"$TMP/fifo.ini"
start_daemon "$TMP/fifo.ini" "$TMP/fifo.log"
wait_for "running" "$TMP/fifo.log"
python3 - <<'X'
import time, v5
for d in range(200):
    v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 3, d, i), IPV4_DST_ADDR=(10, 4, 0, i), IN_PACKETS=1,
                                   IN_OCTETS=60, PROTO=17, SRC_PORT=d, DST_PORT=i) for i in range(30)], seq=30 * d))
    time.sleep(0.001)
X
wait_for "writing to $TMP/fifo blocks" "$TMP/fifo.log" 20
t0=$(date +%s)
stop_daemon
t1=$(date +%s)
[ $((t1 - t0)) -le 6 ] || fail "the daemon took $((t1 - t0)) s to stop with a blocked pipe (drain_timeout=2)"
kill "$READER" 2>/dev/null
lost=$(sed -n 's/.*\[json\] stats:.* lost_at_shutdown=\([0-9]*\).*/\1/p' "$TMP/fifo.log" | tail -n 1)
sent=$(sed -n 's/.*\[json\] stats:.* records=\([0-9]*\).*/\1/p' "$TMP/fifo.log" | tail -n 1)
decoded=$(sed -n 's/.*\[listener\] stats:.* records=\([0-9]*\).*/\1/p' "$TMP/fifo.log" | tail -n 1)
[ "${lost:-0}" -gt 0 ] || fail "nothing counted as lost at shutdown: $(grep stats: "$TMP/fifo.log")"
[ "$decoded" = 6000 ] && [ $((sent + lost)) = 6000 ] || fail "decoded $decoded, written $sent + lost $lost"
echo "PASS: a failed write is resumed without duplicates or cut lines; a blocked pipe does not hold up SIGTERM"
