#!/bin/sh
# Run the whole test suite: install what the build and the tests need (the
# real exporters, tshark, rsyslog), build, and run `make check`.
set -e
cd "$(dirname "$0")/.."
scripts/deps.sh test
dir=$(scripts/build.sh | tail -n 1)
rc=0
make -C "$dir" -j"$(nproc)" check || rc=$?
log="$dir/test-suite.log"
if [ -f "$log" ]; then
	pass=$(sed -n 's/^# PASS: *//p' "$log"); fail=$(sed -n 's/^# FAIL: *//p' "$log")
	err=$(sed -n 's/^# ERROR: *//p' "$log"); skip=$(sed -n 's/^# SKIP: *//p' "$log")
	[ "$rc" = 0 ] || cat "$log"
	echo "${pass:-0} passed, $(( ${fail:-0} + ${err:-0} )) failed, ${skip:-0} skipped"
fi
exit "$rc"
