#!/bin/sh
# Run the whole test suite: install what the build and the tests need (the
# real exporters, tshark, rsyslog), build, and run `make check`.
set -e
cd "$(dirname "$0")/.."
scripts/deps.sh test
scripts/build.sh
rc=0
make -j"$(nproc)" check || rc=$?
if [ -f test-suite.log ]; then
	pass=$(sed -n 's/^# PASS: *//p' test-suite.log); fail=$(sed -n 's/^# FAIL: *//p' test-suite.log)
	err=$(sed -n 's/^# ERROR: *//p' test-suite.log); skip=$(sed -n 's/^# SKIP: *//p' test-suite.log)
	[ "$rc" = 0 ] || cat test-suite.log
	echo "${pass:-0} passed, $(( ${fail:-0} + ${err:-0} )) failed, ${skip:-0} skipped"
fi
exit "$rc"
