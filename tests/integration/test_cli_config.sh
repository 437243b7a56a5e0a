#!/bin/sh
# The daemon's command line and its refusals of bad configuration: each must
# stop start-up with exit 1 and one line naming the file, the line and the key.
. "$NFC_SRCDIR/tests/integration/lib.sh"

# expect_refusal NAME PATTERN: run --check-config on $TMP/NAME.ini.
expect_refusal() {
	if "$NFC_BIN" -c "$TMP/$1.ini" --check-config >"$TMP/$1.out" 2>"$TMP/$1.err"; then
		cat "$TMP/$1.err"; fail "$1: accepted"
	fi
	grep -q -- "$2" "$TMP/$1.err" || { cat "$TMP/$1.err"; fail "$1: no line matching '$2'"; }
	if grep -q "Key0123456789secret" "$TMP/$1.err"; then fail "$1: the intake key was printed"; fi
}

write() { cat > "$TMP/$1.ini"; }

"$NFC_BIN" --version | grep -q "^netflow-concentrator [0-9]" || fail "--version"
"$NFC_BIN" --help | grep -q -- "--check-config" || fail "--help"
"$NFC_BIN" --bogus 2>/dev/null && fail "unknown option accepted"
"$NFC_BIN" --list-plugins > "$TMP/list" || fail "--list-plugins exited non-zero"
for p in "input udp" "decoder netflow_v5" "output sekoia" "output file"; do
	grep -q "^$p " "$TMP/list" || fail "--list-plugins lacks $p"
done
grep -q "intake_key .*(required)" "$TMP/list" || fail "--list-plugins lacks intake_key's doc"
grep -q "port .*10514" "$TMP/list" || fail "--list-plugins lacks the default port"

# Every parameter a plugin declares is documented in docs/configuration.md.
for key in $(awk '/^    [a-z_]+ +(string|integer|yes\/no|size) /{print $1}' "$TMP/list" | sort -u); do
	grep -q "| \`$key\` |" "$NFC_SRCDIR/docs/configuration.md" || fail "docs/configuration.md does not document '$key'"
done

# The guide's file as published: refused because of the placeholder, saying what to do.
cp "$NFC_SRCDIR/configuration.ini" "$TMP/guide.ini"
expect_refusal guide "guide.ini:13: \[forwarder\] intake_key: .*placeholder"

# The guide's file with a key: accepted.
sed 's/<intake_key>/Key0123456789secret/' "$NFC_SRCDIR/configuration.ini" > "$TMP/ok.ini"
"$NFC_BIN" -c "$TMP/ok.ini" -t > "$TMP/ok.out" 2>&1 || { cat "$TMP/ok.out"; fail "guide file with a key refused"; }
grep -q "configuration OK" "$TMP/ok.out" || fail "no OK line"
grep -q "Key0123456789secret" "$TMP/ok.out" && fail "key printed by --check-config"

"$NFC_BIN" -c "$TMP/nonexistent.ini" 2>"$TMP/nx.err" && fail "missing file accepted"
grep -q "nonexistent.ini: cannot open the configuration file: No such file" "$TMP/nx.err" || fail "missing file message"

write nokey <<'X'
[listener]
port=2055
[forwarder]
host=intake.sekoia.io
X
expect_refusal nokey "nokey.ini:3: \[forwarder\] intake_key: missing"

write badport <<'X'
[listener]
port=20555x
[forwarder]
intake_key=Key0123456789secret
X
expect_refusal badport "badport.ini:2: \[listener\] port: invalid value '20555x'; expected an integer from 1 to 65535"

write unknownkey <<'X'
[listener]
port=2055
[forwarder]
intake_key=Key0123456789secret
hots=intake.sekoia.io
X
expect_refusal unknownkey "unknownkey.ini:5: \[forwarder\] hots: unknown key"

write badplugin <<'X'
[listener]
plugin=tcp
[forwarder]
intake_key=Key0123456789secret
X
expect_refusal badplugin "badplugin.ini:2: \[listener\]: input plugin 'tcp' not found: no in_tcp.so in"

write syntax <<'X'
[listener
port=2055
X
expect_refusal syntax "syntax.ini:1:"

write badkey <<'X'
[forwarder]
intake_key=abc def
[listener]
X
expect_refusal badkey "badkey.ini:2: \[forwarder\] intake_key"

write empty <<'X'
# nothing configured
X
expect_refusal empty "no input configured"

write badregion <<'X'
[listener]
[forwarder]
region=MARS1
intake_key=Key0123456789secret
X
expect_refusal badregion "badregion.ini:3: \[forwarder\] region"

write badcore <<'X'
[core]
stats_interval=-5
[listener]
[forwarder]
intake_key=Key0123456789secret
X
expect_refusal badcore "badcore.ini:2: \[core\] stats_interval: invalid value"

# NETFLOW_COLLECTOR_DEBUG with a value that is not a boolean: warned, still runs the check.
NETFLOW_COLLECTOR_DEBUG=maybe "$NFC_BIN" -c "$TMP/ok.ini" -t 2>"$TMP/dbg.err" >/dev/null || fail "debug=maybe stopped start-up"
grep -q "NETFLOW_COLLECTOR_DEBUG='maybe' is not true or false" "$TMP/dbg.err" || fail "debug warning"

echo "PASS: command line and configuration refusals"
