#!/bin/sh
# Log rotation of the file output with the shipped logrotate snippet: while
# NetFlow keeps arriving, logrotate renames the file three times and its
# postrotate sends the daemon SIGHUP, on which the file output reopens its
# path. Afterwards the files (the current one, the rotated ones, the
# compressed ones) hold every record exactly once, each a whole line, and
# every SIGHUP was followed by a reopen. A reopen that fails (a directory
# where the file was) keeps writing to the open file: nothing is lost.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3 logrotate gzip
PATH=$PATH:/usr/sbin:/sbin

mkdir "$TMP/log"
cat >"$TMP/nfc.ini" <<X
[core]
stats_interval=0
[listener]
bind=127.0.0.1
port=2055
[output json]
plugin=file
path=$TMP/log/flows.json
X
start_daemon "$TMP/nfc.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
# The snippet as shipped, pointed at the scratch directory, its SIGHUP sent to
# this daemon instead of the systemd service.
sed -e "s|^/var/log/netflow-concentrator/|$TMP/log/|" \
    -e "s|systemctl kill -s HUP netflow-concentrator.service.*|kill -HUP $NFC_PID|" \
	"$NFC_SRCDIR/contrib/netflow-concentrator.logrotate" >"$TMP/rotate.conf"
grep -q "kill -HUP $NFC_PID" "$TMP/rotate.conf" || fail "cannot adapt the snippet's postrotate"

# 400 datagrams of 30 records, 4 ms apart (1.6 s), each record numbered by
# its source address and port; three rotations while they arrive.
python3 - <<'X' &
import time, v5
for d in range(400):
    v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, d >> 8, d & 255, i), IPV4_DST_ADDR=(192, 0, 2, 1),
                                   SRC_PORT=d, DST_PORT=i, IN_PACKETS=1, IN_OCTETS=64, PROTO=17)
                         for i in range(30)], seq=30 * d))
    time.sleep(0.004)
X
sender=$!
# wait_reopens N: until the daemon logged its Nth reopen (5 s)
wait_reopens() {
	n=50
	while [ "$(grep -c "SIGHUP: reopened" "$TMP/daemon.log")" -lt "$1" ]; do
		n=$((n - 1)); [ "$n" -gt 0 ] || fail "no reopen after rotation $1"; sleep 0.1
	done
}
for r in 1 2 3; do
	sleep 0.4
	logrotate -f -s "$TMP/state" "$TMP/rotate.conf" >"$TMP/rotate.$r.log" 2>&1 ||
		{ cat "$TMP/rotate.$r.log"; fail "logrotate failed (rotation $r)"; }
	wait_reopens "$r"
done
wait "$sender" || fail "the sender failed"
wait_stable "$TMP/log/flows.json" || fail "the output did not settle"

# A reopen that cannot open the file (a directory in its place: root may
# write anywhere): the daemon writes on to the file it has open.
mv "$TMP/log/flows.json" "$TMP/log/flows.json.moved"
mkdir "$TMP/log/flows.json"
kill -HUP "$NFC_PID"
wait_for "cannot reopen $TMP/log/flows.json" "$TMP/daemon.log"
python3 -c 'import v5; v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 9, 9, i), SRC_PORT=9999, DST_PORT=i,
	IN_PACKETS=1, IN_OCTETS=64, PROTO=17) for i in range(30)], seq=12000))'
wait_lines "$TMP/log/flows.json.moved" 30 || fail "records after the failed reopen were not written"
stop_daemon
rmdir "$TMP/log/flows.json"

ls "$TMP/log" >"$TMP/files"
# logrotate's names: flows.json.1, then flows.json.2.gz, .3.gz (delaycompress)
[ -f "$TMP/log/flows.json.1" ] && [ -f "$TMP/log/flows.json.2.gz" ] && [ -f "$TMP/log/flows.json.3.gz" ] ||
	{ cat "$TMP/files"; fail "the three rotations did not leave flows.json.1, .2.gz and .3.gz"; }
for f in "$TMP"/log/flows.json*; do
	case "$f" in
	*.gz) gzip -dc "$f" ;;
	*) cat "$f" ;;
	esac >"$f.txt.part" && mv "$f.txt.part" "$TMP/$(basename "$f").txt"
done
python3 - "$TMP" <<'X' || fail "the rotated files do not hold every record once, whole"
import glob, json, os, sys
seen, per_file = {}, {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "flows.json*.txt"))):
    text = open(path).read()
    assert text == "" or text.endswith("\n"), "%s: the last line is cut" % path
    lines = text.splitlines()
    per_file[os.path.basename(path)] = len(lines)
    for l in lines:
        r = json.loads(l)
        k = (r["SRC_PORT"], r["DST_PORT"])
        assert k not in seen, "record %s twice (%s and %s)" % (k, seen[k], path)
        seen[k] = path
want = {(d, i) for d in range(400) for i in range(30)} | {(9999, i) for i in range(30)}
missing = want - set(seen)
assert not missing, "%d records missing, e.g. %s" % (len(missing), sorted(missing)[:3])
assert len(seen) == len(want), "%d records, %d expected" % (len(seen), len(want))
rotated = [n for f, n in per_file.items() if f not in ("flows.json.moved.txt",)]
assert sum(1 for n in rotated if n > 0) >= 3, "records in fewer than three files: %s" % per_file
print("records per file:", per_file)
X
echo "PASS: three rotations under traffic and a failed reopen: every record once, whole"
