#!/bin/sh
# contrib/netflow-concentrator.logrotate: logrotate accepts it (-d), and a
# forced rotation of a copy pointed at a scratch directory renames every
# matching file, creates none (the daemon reopens its path on SIGHUP) and runs
# the postrotate command once for all of them, which is the SIGHUP to the
# service.
. "$NFC_SRCDIR/tests/integration/lib.sh"
need_cmd logrotate
PATH=$PATH:/usr/sbin:/sbin

snippet="$NFC_SRCDIR/contrib/netflow-concentrator.logrotate"
grep -q '^/var/log/netflow-concentrator/\*\.json {' "$snippet" || fail "the snippet does not rotate /var/log/netflow-concentrator/*.json"
grep -q '^		systemctl kill -s HUP netflow-concentrator.service' "$snippet" ||
	fail "the snippet's postrotate does not send SIGHUP to netflow-concentrator.service"
grep -v '^#' "$snippet" | grep -q copytruncate && fail "the snippet uses copytruncate (records could be lost or cut)"

logrotate -d -s "$TMP/state" "$snippet" >"$TMP/debug.log" 2>&1 || { cat "$TMP/debug.log"; fail "logrotate -d refused the snippet"; }
grep -qi '^error' "$TMP/debug.log" && { cat "$TMP/debug.log"; fail "logrotate -d reported an error"; }

# The same rules on a scratch directory, the SIGHUP replaced by a marker.
mkdir "$TMP/log"
sed -e "s|^/var/log/netflow-concentrator/|$TMP/log/|" \
    -e "s|systemctl kill -s HUP netflow-concentrator.service.*|echo hup >>$TMP/hup|" \
	"$snippet" >"$TMP/rotate.conf"
chmod 644 "$TMP/rotate.conf"
printf '{"a":1}\n' >"$TMP/log/flows.json"
printf '{"b":2}\n' >"$TMP/log/archive.json"
: >"$TMP/log/empty.json"
printf 'x\n' >"$TMP/log/other.log"
logrotate -f -s "$TMP/state" "$TMP/rotate.conf" >"$TMP/rotate.log" 2>&1 || { cat "$TMP/rotate.log"; fail "logrotate -f failed"; }
[ -f "$TMP/log/flows.json.1" ] && [ -f "$TMP/log/archive.json.1" ] || { ls -l "$TMP/log"; fail "the .json files were not rotated"; }
[ -e "$TMP/log/flows.json" ] && fail "logrotate created a new flows.json (nocreate: the daemon does)"
grep -q '{"a":1}' "$TMP/log/flows.json.1" || fail "flows.json.1 lost its content (delaycompress: not compressed yet)"
[ -f "$TMP/log/empty.json" ] && [ ! -e "$TMP/log/empty.json.1" ] || fail "an empty file was rotated (notifempty)"
[ -f "$TMP/log/other.log" ] && [ ! -e "$TMP/log/other.log.1" ] || fail "a file that is not *.json was rotated"
[ "$(cat "$TMP/hup" 2>/dev/null)" = hup ] || fail "postrotate did not run exactly once (sharedscripts)"

# The next rotation compresses the previous file.
printf '{"a":3}\n' >"$TMP/log/flows.json"
logrotate -f -s "$TMP/state" "$TMP/rotate.conf" >"$TMP/rotate.log" 2>&1 || { cat "$TMP/rotate.log"; fail "second logrotate -f failed"; }
[ -f "$TMP/log/flows.json.2.gz" ] && [ -f "$TMP/log/flows.json.1" ] || { ls -l "$TMP/log"; fail "the previous file was not compressed one rotation later"; }
echo "PASS: the logrotate snippet"
