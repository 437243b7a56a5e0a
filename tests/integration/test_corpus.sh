#!/bin/sh
# The vendor capture corpus: every NetFlow v5/v9/IPFIX decode group of
# ../shared/corpus (real exporters: Cisco, Juniper, Palo Alto, Fortigate,
# nProbe, YAF, pmacct's captures ...), in groups.json order, replayed through
# the daemon with the pcap input, one run per group (one exporter state per
# group) with options_records=no and one with options_records=yes. Each group
# must give its flow records and options records (counted by a template walk
# that must agree with the corpus's INDEX.tsv), held data must be decoded
# when its template comes and data that never gets one counted as
# no_template, the known-bad inputs must give no record, and where tshark
# decodes the whole group every record must carry tshark's values.
# tests/integration/corpus_check.py does the work (with corpus_pcap.py,
# corpus_walk.py and corpus_tshark.py) and prints the table.
#
# The groups whose files are under a permissive licence run from the copies
# in tests/data (tests/data/corpus-manifest.json lists them); the others
# (akvorado, AGPL; three pmacct captures) need $NFC_CORPUS. Without it the
# test runs on tests/data alone and says so.
. "${NFC_SRCDIR:?run through make check}/tests/integration/lib.sh"

# A skip hides a whole corpus: in CI it is a failure.
skip_or_fail() {
	if [ "${CI:-}" = true ]; then fail "$* (CI=true: this test must run)"; fi
	skip "$*"
}
for c in python3 tshark; do
	command -v "$c" >/dev/null 2>&1 || skip_or_fail "$c not installed (Debian package; .ci/run installs it)"
done

set -- --data "$NFC_SRCDIR/tests/data" --bin "$NFC_BIN" --work "$TMP/corpus"
if [ -f "$NFC_CORPUS/groups.json" ]; then
	set -- "$@" --corpus "$NFC_CORPUS"
else
	echo "NOTE: no corpus at $NFC_CORPUS: running on the groups copied into tests/data only" \
		"(the akvorado and pmacct-only groups are not run)"
fi

# No __pycache__ beside the helpers (the source tree may be read-only).
PYTHONDONTWRITEBYTECODE=1 python3 "$NFC_SRCDIR/tests/integration/corpus_check.py" "$@"
rc=$?
case $rc in
0) echo "PASS: every corpus group decodes as expected" ;;
77) skip_or_fail "the corpus replay cannot run (see above)" ;;
*) NFC_KEEP_TMP=1; fail "corpus groups differ from what is expected (see the table above; files kept in $TMP)" ;;
esac
