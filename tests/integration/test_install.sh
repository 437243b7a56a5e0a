#!/bin/sh
# What a distribution packages: `make install DESTDIR=...` lays out the
# daemon, the plugins in $(pkglibdir), the default configuration, the SDK,
# both man pages and the systemd unit (with this build's paths, accepted by
# systemd-analyze verify); the installed daemon (not the build tree's) runs
# from that layout.
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
# The man pages and the unit, where ./configure said.
# (a make of its own: under make check -jN the parent's MAKEFLAGS would add
# "Entering directory" lines)
makevar() {
	printf 'nfc-print-var:\n\t@echo $(%s)\n' "$1" |
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$NFC_BUILDDIR" -f Makefile -f - nfc-print-var
}
mandir=$(makevar mandir)
[ -f "$root$mandir/man8/netflow-concentrator.8" ] || fail "netflow-concentrator.8 not installed in $mandir/man8"
[ -f "$root$mandir/man5/netflow-concentrator.ini.5" ] || fail "netflow-concentrator.ini.5 not installed in $mandir/man5"
if [ -n "$(makevar nodist_systemdsystemunit_DATA)" ]; then
	unitdir=$(makevar systemdsystemunitdir)
	unit="$root$unitdir/netflow-concentrator.service"
	[ -f "$unit" ] || fail "the systemd unit is not in $unitdir"
	grep -q '@[a-z]*@' "$unit" && fail "unsubstituted @...@ left in the unit: $(grep '@[a-z]*@' "$unit")"
	grep -qx "ExecStart=${bin#"$root"} -c %d/configuration.ini" "$unit" ||
		fail "the unit's ExecStart does not run the installed ${bin#"$root"}: $(grep ^ExecStart= "$unit")"
	grep -qx "LoadCredential=configuration.ini:${conf#"$root"}" "$unit" ||
		fail "the unit does not read the installed ${conf#"$root"}: $(grep ^LoadCredential= "$unit")"
	# Only [Unit], [Service], [Install] and Key=value lines; the hardening asked
	# for in issue 7 is there.
	awk '/^(#|$)/ { next } /^\[(Unit|Service|Install)\]$/ { next } /^[A-Z][A-Za-z]+=/ { next }
	     { print "bad line " FNR ": " $0; bad = 1 } END { exit bad }' "$unit" || fail "the unit does not parse"
	for d in DynamicUser=yes StateDirectory=netflow-concentrator ProtectSystem=strict ProtectHome=yes \
		PrivateTmp=yes PrivateDevices=yes ProtectKernelTunables=yes ProtectKernelModules=yes \
		ProtectKernelLogs=yes ProtectControlGroups=yes RestrictNamespaces=yes LockPersonality=yes \
		MemoryDenyWriteExecute=yes SystemCallArchitectures=native SystemCallFilter=@system-service \
		'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK' NoNewPrivileges=yes; do
		grep -qx "$d" "$unit" || fail "the unit lacks $d"
	done
	if command -v systemd-analyze >/dev/null 2>&1; then
		# A root with the unit, the binary it names and the host's targets
		# (what the unit is ordered against; symbolic links would be
		# resolved inside the root, so copies).
		v="$TMP/vroot"
		mkdir -p "$v/etc/systemd/system" "$v$(dirname "${bin#"$root"}")" "$v/usr/lib/systemd/system"
		cp "$unit" "$v/etc/systemd/system/"
		cp "$bin" "$v${bin#"$root"}"
		for d in /usr/lib/systemd/system /lib/systemd/system; do
			[ -d "$d" ] && cp "$d"/*.target "$v/usr/lib/systemd/system/" 2>/dev/null
		done
		if systemd-analyze verify --man=no --root="$v" /etc/systemd/system/netflow-concentrator.service \
			>"$TMP/verify.log" 2>&1 && [ ! -s "$TMP/verify.log" ]; then
			echo "systemd-analyze verify: the installed unit is valid"
		elif grep -q "unrecognized option" "$TMP/verify.log"; then
			echo "systemd-analyze is too old for verify --root: unit checked by the parser above only"
		else
			cat "$TMP/verify.log"; fail "systemd-analyze verify refused the installed unit"
		fi
		if systemd-analyze security --offline=yes --root="$v" /etc/systemd/system/netflow-concentrator.service \
			>"$TMP/security.log" 2>&1; then
			score=$(sed -n 's/.*Overall exposure level for netflow-concentrator.service: \([0-9.]*\).*/\1/p' "$TMP/security.log")
			echo "systemd-analyze security: exposure ${score:-?} (docs/decisions.md says 1.5)"
			[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s > 2.0) }' &&
				{ cat "$TMP/security.log"; fail "the unit's exposure rose to $score (was 1.5)"; }
		fi
	else
		echo "systemd-analyze not installed: unit checked by the parser above only"
	fi
else
	find "$root" -name netflow-concentrator.service | grep -q . && fail "unit installed despite --without-systemdsystemunitdir"
fi

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
