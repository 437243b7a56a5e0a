#!/bin/sh
# plugins/decoders/flowlib/ie_tables.c is generated and committed: check that
# scripts/gen-ie-tables.py still writes the same file from the registries.
# The registries live beside the source tree (../shared/registries, or
# $NFC_REGISTRIES); where they are absent (a release tarball, a scratch copy)
# there is nothing to compare against, which is said and is not a failure.
: "${NFC_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
reg=${NFC_REGISTRIES:-$NFC_SRCDIR/../shared/registries}

if [ ! -f "$reg/ipfix-information-elements.tsv" ] || [ ! -f "$reg/netflow-v9-fields.tsv" ]; then
	echo "ie_tables.c not compared: no registries in $reg"
	exit 0
fi
command -v python3 >/dev/null 2>&1 || { echo "FAIL: registries present but python3 missing"; exit 1; }

tmp=$(mktemp "${TMPDIR:-/tmp}/nfc-ie.XXXXXX") || exit 1
trap 'rm -f "$tmp"' EXIT
python3 "$NFC_SRCDIR/scripts/gen-ie-tables.py" -o "$tmp" "$reg" || { echo "FAIL: gen-ie-tables.py failed"; exit 1; }
if ! cmp -s "$tmp" "$NFC_SRCDIR/plugins/decoders/flowlib/ie_tables.c"; then
	diff -u "$NFC_SRCDIR/plugins/decoders/flowlib/ie_tables.c" "$tmp" | head -40
	echo "FAIL: ie_tables.c is stale: run scripts/gen-ie-tables.py and commit the result"
	exit 1
fi
echo "ie_tables.c matches $reg"
