#!/bin/sh
# Build the fuzz targets with libFuzzer + ASan + UBSan and run one of them.
#
#   fuzz/run.sh [SECONDS] [-- extra libFuzzer flags]      the decoders (fuzz_decode)
#   FUZZ_TARGET=config fuzz/run.sh [SECONDS]              the configuration reader
#
# The core sources are compiled straight into the target (no autotools
# needed); every decoder under plugins/decoders/ is built as its own
# dec_<name>.so with the same sanitizers and loaded through the core's loader,
# exactly as the daemon loads it. The seed corpus is tests/data (copied into
# a scratch corpus so tests/data is never written); new inputs and crashes go
# to fuzz/work/ (not part of the source tree: delete it at will).
set -eu
SECS=${1:-60}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${FUZZ_WORK:-$SRC/fuzz/work}
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-g -O1 -D_GNU_SOURCE -pthread -I$SRC/include -I$SRC/core -DNFC_PLUGIN_DIR=\"/nonexistent\" \
-DNFC_SYSCONF_DIR=\"/nonexistent\" -DNFC_STATE_DIR=\"/nonexistent\" -DPACKAGE_VERSION=\"fuzz\" $(pkg-config --cflags libconfig openssl)"
LIBS="$(pkg-config --libs libconfig openssl) -ldl -pthread"

mkdir -p "$WORK/plugins" "$WORK/corpus" "$WORK/crashes"

# Decoders: all .c of a decoder's directory make its shared object.
for dir in "$SRC"/plugins/decoders/*/; do
	name=$(basename "$dir")
	srcs=$(ls "$dir"*.c 2>/dev/null) || continue
	# shellcheck disable=SC2086
	$CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -fPIC -shared -fvisibility=hidden \
		-o "$WORK/plugins/dec_$name.so" $srcs
done

# The target: the core (minus main.c) plus the harness, exporting the core's
# API to the plugins it dlopens.
core=$(ls "$SRC"/core/*.c | grep -v '/main\.c$')
# shellcheck disable=SC2086
$CC $CFLAGS $SAN -fsanitize=fuzzer -rdynamic -o "$WORK/fuzz_decode" "$SRC/fuzz/fuzz_decode.c" $core $LIBS

# shellcheck disable=SC2086
$CC $CFLAGS $SAN -fsanitize=fuzzer -rdynamic -o "$WORK/fuzz_config" "$SRC/fuzz/fuzz_config.c" $core $LIBS

if [ "${FUZZ_TARGET:-decode}" = config ]; then
	mkdir -p "$WORK/config-corpus"
	cp -f "$SRC/configuration.ini" "$SRC/examples/local.ini" "$WORK/config-corpus/"
	cd "$WORK/crashes"
	exec "$WORK/fuzz_config" -max_total_time="$SECS" -print_final_stats=1 "$@" "$WORK/config-corpus"
fi

find "$SRC/tests/data" -type f ! -name 'LICENSE*' ! -name 'NOTICE*' ! -name '*.md' \
	-exec cp -f {} "$WORK/corpus/" \;

cd "$WORK/crashes"
NETFLOW_CONCENTRATOR_PLUGIN_DIR="$WORK/plugins" \
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	"$WORK/fuzz_decode" -max_total_time="$SECS" -max_len=65535 -print_final_stats=1 "$@" "$WORK/corpus"
