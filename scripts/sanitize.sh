#!/bin/sh
# Build a copy of the tracked tree with ASan and UBSan and run the whole test
# suite against it (leaks, out-of-bounds reads and undefined behaviour fail
# the tests). The copy lives in a scratch directory; the tree is untouched.
set -e
cd "$(dirname "$0")/.."
src=$(pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/nfc-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT
git ls-files -z | xargs -0 cp --parents -t "$work"
cd "$work"
./autogen.sh >/dev/null 2>&1
./configure --quiet --enable-sanitizers >/dev/null
make -j"$(nproc)" >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
NFC_CORPUS="$src/../shared/corpus" make -j"$(nproc)" check || { cat test-suite.log; exit 1; }
echo "sanitizer build: all tests passed"
