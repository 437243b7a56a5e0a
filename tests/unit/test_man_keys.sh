#!/bin/sh
# docs/man/netflow-concentrator.ini.5 against what the code declares:
# - every parameter of every plugin (as `netflow-concentrator --list-plugins`
#   prints them from the built plugins) has an entry in a section of the page
#   whose heading names the plugin, with its default ("Default: X") or
#   "Required."; so has every [core] parameter (read from core/*.c's nfc_param
#   tables) and the plugin= key;
# - every entry of the page is a parameter something declares;
# - the page's first example is the guide's configuration.ini;
# - both man pages format without groff warnings, and each names the other.
: "${NFC_SRCDIR:?run through make check}"
: "${NFC_BUILDDIR:?run through make check}"
man5=$NFC_SRCDIR/docs/man/netflow-concentrator.ini.5
man8=$NFC_SRCDIR/docs/man/netflow-concentrator.8
fail() { echo "FAIL: $*"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/nfc-man.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# What is declared, one "scope key default" line each; scope is a plugin
# name, "core", or "*" (any section). default is "-" when unknown or
# computed, "(none)" or "(required)" as --list-plugins prints them.
"$NFC_BUILDDIR/netflow-concentrator" --list-plugins >"$tmp/list" 2>"$tmp/list.err" ||
	{ cat "$tmp/list.err"; fail "--list-plugins failed"; }
awk '
	function width(s, w) { return length(s) > w ? length(s) : w }
	/^(input|output|decoder) [^ ]+ / { plugin = $2; state = 1; plugins++; next }
	state == 1 { state = 2; next }          # the description line
	/^$/ { state = 0; next }
	state == 2 {
		# "    %-16s %-7s %-22s %s": name, type, default (may be empty), doc
		line = substr($0, 5); name = line; sub(/ .*/, "", name)
		rest = substr(line, width(name, 16) + 2); type = rest; sub(/ .*/, "", type)
		rest = substr(rest, width(type, 7) + 2)
		def = rest; sub(/ .*/, "", def)
		if (def == "" || substr(rest, 1, 1) == " ")
			def = "-"
		print plugin, name, def
		next
	}
	{ print "unexpected line in --list-plugins: " $0 > "/dev/stderr"; bad = 1 }
	END { if (!plugins) { print "no plugin listed" > "/dev/stderr"; bad = 1 }; exit bad }
' "$tmp/list" >"$tmp/declared" || { cat "$tmp/list"; fail "cannot read --list-plugins"; }

# The core's own tables (tls_params is listed above with each TLS output),
# and the plugin= key of input and output sections.
for f in "$NFC_SRCDIR"/core/*.c; do
	awk '
		/struct nfc_param [a-z_]+\[\] = \{/ {
			t = $0; sub(/\[\].*/, "", t); sub(/.* /, "", t)
			intable = (t != "tls_params"); next
		}
		intable && /^};/ { intable = 0 }
		intable && /\{ *"[a-z_0-9]+", *NFC_PARAM_/ {
			s = $0; sub(/^[^"]*"/, "", s)
			name = s; sub(/".*/, "", name)
			def = s; sub(/^[^,]*, *NFC_PARAM_[A-Z]+, */, "", def); sub(/,.*/, "", def)
			if (def == "NULL") def = "(none)"
			else if (def ~ /^"[^" ]+"$/) def = substr(def, 2, length(def) - 2)
			else def = "-"
			print "core", name, def
		}
		/plugin_key\[\] = \{/ {
			s = $0; sub(/^[^{]*\{/, "", s)
			while (match(s, /"[a-z_]+"/)) {
				print "*", substr(s, RSTART + 1, RLENGTH - 2), "-"
				s = substr(s, RSTART + RLENGTH)
			}
		}
	' "$f"
done >>"$tmp/declared"
grep -q '^core ' "$tmp/declared" || fail "no [core] parameter found in core/*.c"
grep -q '^\* plugin ' "$tmp/declared" || fail "the plugin= key was not found in core/*.c"

# The page's entries: "heading<TAB>key<TAB>text" for each .TP whose tag is
# ".BI key= ...", text with font escapes and macro names removed.
awk '
	function plain(s) {
		gsub(/\\f[BIRP]/, "", s); gsub(/\\-/, "-", s); gsub(/\\&/, "", s)
		gsub(/\\\(mu/, "x", s); gsub(/"/, "", s)
		return s
	}
	function flush() { if (key != "") print heading "\t" key "\t" text; key = "" }
	/^\.SH/ { flush(); heading = ""; next }
	/^\.SS/ { flush(); heading = plain(substr($0, 5)); next }
	/^\.(TP|PP|IP)/ { flush(); tag = ($0 ~ /^\.TP/); next }
	tag { tag = 0; if ($0 ~ /^\.BI [a-z_0-9]+= /) { key = $2; sub(/=$/, "", key); text = "" }; next }
	key != "" { s = $0; if (s ~ /^\./) sub(/^\.[A-Z]+ */, "", s); text = text " " plain(s) }
	END { flush() }
' "$man5" >"$tmp/entries"
[ -s "$tmp/entries" ] || fail "no parameter entry found in $man5"

awk -F'\t' '
	function words(h, w,   n, a, i) {
		split("", w); n = split(h, a, /[^A-Za-z0-9_]+/)
		for (i = 1; i <= n; i++) if (a[i] != "") w[a[i]] = 1
	}
	function has_default(t, d,   p, c) {
		p = index(t, "Default: " d)
		if (!p) return 0
		c = substr(t, p + 9 + length(d), 1)
		return c == "" || c !~ /[A-Za-z0-9_]/
	}
	FNR == NR { n++; head[n] = $1; ekey[n] = $2; etext[n] = $3; next }
	{
		split($0, f, " "); scope = f[1]; k = f[2]; d = f[3]; declared[k] = 1
		found = 0; ok = 0
		for (i = 1; i <= n; i++) {
			if (ekey[i] != k) continue
			words(head[i], w)
			if (scope != "*" && !(scope in w)) continue
			found = 1
			if (d == "-" || d == "(none)") ok = 1
			else if (d == "(required)") ok = ok || index(etext[i], "Required.") > 0
			else ok = ok || has_default(etext[i], d)
		}
		where = scope == "*" ? "any section" : "a section naming " scope
		if (!found) { print "FAIL: " k " (" scope ") has no entry in " where " of the man page"; bad = 1 }
		else if (!ok) { print "FAIL: " k " (" scope "): the man page does not say \"" (d == "(required)" ? "Required." : "Default: " d) "\""; bad = 1 }
		checked++
	}
	END {
		for (i = 1; i <= n; i++)
			if (!(ekey[i] in declared)) {
				print "FAIL: the man page documents " ekey[i] " (under \"" head[i] "\"), which nothing declares"; bad = 1
			}
		if (!bad) print checked " declared parameters, " n " man page entries: consistent"
		exit bad
	}
' "$tmp/entries" "$tmp/declared" || exit 1

# The first example is the guide's file (comments dropped, the key filled in).
grep -v '^#' "$NFC_SRCDIR/configuration.ini" | sed 's/<intake_key>/YOUR_INTAKE_KEY/' >"$tmp/guide"
awk '/^\.SH EXAMPLES/ { ex = 1 } ex && /^\.fi/ { exit } ex && on { print } ex && /^\.nf/ { on = 1 }' \
	"$man5" >"$tmp/example"
diff -u "$tmp/guide" "$tmp/example" || fail "the man page's first example is not the guide's configuration.ini"

grep -q '^\.BR netflow\\-concentrator\.ini (5)' "$man8" || fail "netflow-concentrator(8) does not refer to netflow-concentrator.ini(5)"
grep -q '^\.BR netflow\\-concentrator (8)' "$man5" || fail "netflow-concentrator.ini(5) does not refer to netflow-concentrator(8)"

if command -v groff >/dev/null 2>&1; then
	for m in "$man5" "$man8"; do
		groff -man -ww -z "$m" >"$tmp/groff" 2>&1
		[ -s "$tmp/groff" ] && { cat "$tmp/groff"; fail "groff warnings in $m"; }
	done
	echo "both man pages format without warnings"
else
	echo "groff not installed: formatting not checked"
fi
echo "PASS"
