#!/bin/sh
# What a distribution packages: `make install DESTDIR=...` lays out the
# daemon, the plugins in $(pkglibdir), the default configuration, the SDK;
# the installed daemon (not the build tree's) runs from that layout.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd python3 make

root="$TMP/root"
make -s -C "$NFC_BUILDDIR" install DESTDIR="$root" >"$TMP/install.log" 2>&1 ||
	{ cat "$TMP/install.log"; fail "make install failed"; }
find_one() {
	f=$(find "$root" -path "*$1" | head -n 1)
	[ -n "$f" ] || fail "make install did not install $1"
	echo "$f"
}
bin=$(find_one /bin/netflow-concentrator)
plugindir=$(dirname "$(find_one /netflow-concentrator/in_udp.so)")
for p in in_udp dec_netflow_v5 out_sekoia out_file; do
	[ -f "$plugindir/$p.so" ] || fail "$p.so not in $plugindir"
done
ls "$plugindir" | grep -q "\.la$" && fail "libtool .la files installed beside the plugins"
conf=$(find_one /netflow-concentrator/configuration.ini)
cmp -s "$conf" "$NFC_SRCDIR/configuration.ini" || fail "installed configuration.ini differs from the guide's"
find_one /include/nfc/plugin.h >/dev/null
find_one /pkgconfig/nfc-plugin.pc >/dev/null
find_one /aclocal/nfc-plugin.m4 >/dev/null
# No build-tree path is baked into the installed binary's plugin lookup.
strings "$bin" 2>/dev/null | grep -q "$NFC_BUILDDIR/build-plugins" && fail "the installed daemon refers to the build tree"

# The installed daemon with the installed plugins: the guide's file, a key
# added, plus a JSON-lines copy to check records flow.
export NETFLOW_CONCENTRATOR_PLUGIN_DIR="$plugindir"
sed 's/<intake_key>/Key0123456789secret/; s/^bind=.*/bind=127.0.0.1/' "$conf" > "$TMP/nfc.ini"
printf '[output copy]\nplugin=file\npath=%s\n[core]\nstats_interval=0\n' "$TMP/out.json" >> "$TMP/nfc.ini"
"$bin" -c "$TMP/nfc.ini" --check-config >"$TMP/check.out" 2>&1 || { cat "$TMP/check.out"; fail "--check-config"; }
"$bin" -c "$TMP/nfc.ini" >"$TMP/daemon.out" 2>"$TMP/daemon.log" &
NFC_PID=$!
NFC_PIDS="$NFC_PIDS $NFC_PID"
wait_for "running" "$TMP/daemon.log"
python3 - <<'X'
import v5
v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 1, 1, i), IPV4_DST_ADDR=(10, 2, 2, i), INPUT=1, OUTPUT=2,
                               IN_PACKETS=3, IN_OCTETS=300, FIRST_SWITCHED=10, LAST_SWITCHED=20,
                               SRC_PORT=5000 + i, DST_PORT=80, TCP_FLAGS=0x12, PROTO=6, SRC_MASK=8,
                               DST_MASK=16) for i in range(7)]))
X
wait_lines "$TMP/out.json" 7 10 || { cat "$TMP/daemon.log"; fail "records did not reach the output"; }
stop_daemon
grep -q "input plugin udp .*$plugindir/in_udp.so" "$TMP/daemon.log" || fail "start-up line names the installed plugin"
grep -q '"IPV4_SRC_ADDR":"10.1.1.6"' "$TMP/out.json" || fail "record content"

make -s -C "$NFC_BUILDDIR" uninstall DESTDIR="$root" >/dev/null 2>&1 || fail "make uninstall failed"
left=$(find "$root" -type f | head -n 5)
[ -z "$left" ] || fail "files left after make uninstall: $left"
echo "PASS: the installed daemon and plugins work"
