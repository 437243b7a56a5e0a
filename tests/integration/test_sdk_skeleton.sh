#!/bin/sh
# A third-party output plugin, built with its own autotools project against
# the installed SDK only (header, nfc-plugin.pc, nfc-plugin.m4), is loaded by
# the daemon and receives every record.
. "$NFC_SRCDIR/tests/integration/lib.sh"
private_net "$@"
need_cmd autoreconf pkg-config python3 make

prefix="$TMP/prefix"
make -s -C "$NFC_BUILDDIR" prefix="$prefix" \
	install-nfcincludeHEADERS install-pkgconfigDATA install-dist_aclocalDATA >"$TMP/install.log" 2>&1 ||
	{ cat "$TMP/install.log"; fail "cannot install the SDK"; }
[ -f "$prefix/include/nfc/plugin.h" ] || fail "SDK header not installed"

# pkg-config reads the installed .pc, relocated to the scratch prefix.
mkdir -p "$TMP/pc" "$TMP/plugins"
sed "s|^prefix=.*|prefix=$prefix|" "$prefix/lib/pkgconfig/nfc-plugin.pc" > "$TMP/pc/nfc-plugin.pc"
cp -r "$NFC_SRCDIR/examples/out_skeleton" "$TMP/skel"
chmod -R u+w "$TMP/skel"
(
	cd "$TMP/skel" &&
	ACLOCAL_PATH="$prefix/share/aclocal" ./autogen.sh &&
	PKG_CONFIG_PATH="$TMP/pc" ./configure --quiet --with-nfc-plugindir="$TMP/plugins" &&
	make -s && make -s install
) >"$TMP/skel.log" 2>&1 || { cat "$TMP/skel.log"; fail "the skeleton plugin does not build against the installed SDK"; }
[ -f "$TMP/plugins/out_skeleton.so" ] || fail "out_skeleton.so not installed"
# Only the descriptor is exported.
if command -v nm >/dev/null; then
	syms=$(nm -D --defined-only "$TMP/plugins/out_skeleton.so" | awk '$2 ~ /[TDRB]/ {print $3}' | grep -v '^_' | tr '\n' ' ')
	[ "$syms" = "nfc_plugin_v1 " ] || fail "out_skeleton.so exports more than nfc_plugin_v1: $syms"
fi
for so in "$NETFLOW_CONCENTRATOR_PLUGIN_DIR"/*.so; do ln -s "$(readlink -f "$so")" "$TMP/plugins/"; done

cat > "$TMP/nfc.ini" <<X
[core]
plugin_dir=$TMP/plugins
[listener]
bind=127.0.0.1
port=2055
[output tagged]
plugin=skeleton
path=$TMP/tagged.txt
tag=flowrec
X
start_daemon "$TMP/nfc.ini" "$TMP/daemon.log"
wait_for "running" "$TMP/daemon.log"
python3 - <<'X'
import v5
v5.send(v5.datagram([v5.record(IPV4_SRC_ADDR=(10, 0, 0, i), IPV4_DST_ADDR=(192, 168, 1, i), INPUT=1, OUTPUT=2,
                               IN_PACKETS=10 + i, IN_OCTETS=1000 + i, FIRST_SWITCHED=5000,
                               LAST_SWITCHED=6000, SRC_PORT=1024 + i, DST_PORT=443, TCP_FLAGS=0x1b,
                               PROTO=6, SRC_MASK=24, DST_MASK=24) for i in range(1, 6)], uptime=100000))
X
n=0
while [ "$(grep -c '^flowrec {' "$TMP/tagged.txt" 2>/dev/null)" != 5 ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
stop_daemon
[ "$(grep -c '^flowrec {' "$TMP/tagged.txt")" = 5 ] || { cat "$TMP/daemon.log"; fail "expected 5 tagged records"; }
grep -q '"IPV4_SRC_ADDR":"10.0.0.3"' "$TMP/tagged.txt" || fail "record content"
echo "PASS: third-party plugin built against the installed SDK"
