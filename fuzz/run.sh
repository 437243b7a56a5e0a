#!/bin/sh
# Build the fuzz targets with libFuzzer + ASan + UBSan and run one of them.
#
#   fuzz/run.sh [SECONDS] [-- extra libFuzzer flags]      the decoders, one datagram per input (fuzz_decode)
#   FUZZ_TARGET=seq fuzz/run.sh [SECONDS]                 the decoders, a sequence of datagrams per input
#   FUZZ_TARGET=config fuzz/run.sh [SECONDS]              the configuration reader
#   FUZZ_TARGET=spool fuzz/run.sh [SECONDS]               the disk spool's reader, one segment file per input
#   FUZZ_TARGET=regressions fuzz/run.sh                   replay tests/data/fuzz-regressions once, no fuzzing
#
# The core sources are compiled straight into the target (no autotools
# needed); every decoder under plugins/decoders/ is built as its own
# dec_<name>.so from its directory's sources plus flowlib's (the shared
# sources of the decoders, plugins/decoders/flowlib/, which is not a plugin
# itself), with the same sanitizers, and loaded through the core's loader,
# exactly as the daemon loads it. The seed corpus is tests/data (copied into
# a scratch corpus so tests/data is never written) and, when the capture
# corpus ../shared/corpus (or $NFC_CORPUS) is there, its datagrams
# (fuzz/seeds.py: one per file for fuzz_decode, one sequence per decode group
# for fuzz_decode_seq). The files of tests/data/fuzz-regressions are replayed
# first, every run: a target that crashes on one fails before fuzzing. New
# inputs and crashes go to fuzz/work/ (not part of the source tree: delete it
# at will).
set -eu
SECS=${1:-60}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=${FUZZ_WORK:-$SRC/fuzz/work}
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-g -O1 -D_GNU_SOURCE -pthread -I$SRC/include -I$SRC/core -DNFC_PLUGIN_DIR=\"/nonexistent\" \
-DNFC_SYSCONF_DIR=\"/nonexistent\" -DNFC_STATE_DIR=\"/nonexistent\" -DPACKAGE_VERSION=\"fuzz\" $(pkg-config --cflags libconfig openssl libzstd liblz4 libmicrohttpd)"
LIBS="$(pkg-config --libs libconfig openssl libzstd liblz4 libmicrohttpd) -ldl -pthread"

mkdir -p "$WORK/plugins" "$WORK/corpus" "$WORK/crashes"

# Decoders: all .c of a decoder's directory plus flowlib's make its shared
# object (as the Makefile.inc files link libflowlib.la into each).
FLOWLIB=$SRC/plugins/decoders/flowlib
for dir in "$SRC"/plugins/decoders/*/; do
	name=$(basename "$dir")
	[ "$name" = flowlib ] && continue # shared sources, not a plugin
	srcs=$(ls "$dir"*.c 2>/dev/null) || continue
	# shellcheck disable=SC2086
	$CC $CFLAGS $SAN -fsanitize=fuzzer-no-link -fPIC -shared -fvisibility=hidden -I"$FLOWLIB" \
		-o "$WORK/plugins/dec_$name.so" $srcs "$FLOWLIB"/*.c
done

# The target: the core (minus main.c) plus the harness, exporting the core's
# API to the plugins it dlopens.
core=$(ls "$SRC"/core/*.c | grep -v '/main\.c$')
# shellcheck disable=SC2086
$CC $CFLAGS $SAN -fsanitize=fuzzer -rdynamic -o "$WORK/fuzz_decode" "$SRC/fuzz/fuzz_decode.c" $core $LIBS
# shellcheck disable=SC2086
$CC $CFLAGS $SAN -fsanitize=fuzzer -rdynamic -DFUZZ_SEQUENCE -o "$WORK/fuzz_decode_seq" \
	"$SRC/fuzz/fuzz_decode.c" $core $LIBS

# shellcheck disable=SC2086
$CC $CFLAGS $SAN -fsanitize=fuzzer -rdynamic -o "$WORK/fuzz_config" "$SRC/fuzz/fuzz_config.c" $core $LIBS

# shellcheck disable=SC2086
$CC $CFLAGS $SAN -fsanitize=fuzzer -rdynamic -o "$WORK/fuzz_spool" "$SRC/fuzz/fuzz_spool.c" $core $LIBS

if [ "${FUZZ_TARGET:-decode}" = spool ]; then
	# seeds made by the spool itself (random bytes seldom pass a CRC)
	mkdir -p "$WORK/spool-corpus"
	NFC_FUZZ_SPOOL_SEEDS="$WORK/spool-corpus" "$WORK/fuzz_spool"
	cd "$WORK/crashes"
	exec "$WORK/fuzz_spool" -max_total_time="$SECS" -max_len=65536 -print_final_stats=1 "$@" "$WORK/spool-corpus"
fi

if [ "${FUZZ_TARGET:-decode}" = config ]; then
	mkdir -p "$WORK/config-corpus"
	cp -f "$SRC/configuration.ini" "$SRC/examples/local.ini" "$WORK/config-corpus/"
	cd "$WORK/crashes"
	exec "$WORK/fuzz_config" -max_total_time="$SECS" -print_final_stats=1 "$@" "$WORK/config-corpus"
fi

export NETFLOW_CONCENTRATOR_PLUGIN_DIR="$WORK/plugins"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
REGRESSIONS=$SRC/tests/data/fuzz-regressions
CORPUS=${NFC_CORPUS:-$SRC/../shared/corpus}

# Inputs that once crashed a target: each must pass again, whatever the
# fuzzing below finds. Datagram files (*.dgram) go through fuzz_decode,
# sequences (*.seq) through fuzz_decode_seq.
regressions() {
	for kind in dgram seq; do
		target=fuzz_decode
		[ $kind = seq ] && target=fuzz_decode_seq
		files=$(ls "$REGRESSIONS"/*.$kind 2>/dev/null) || continue
		# shellcheck disable=SC2086
		"$WORK/$target" -runs=1 $files >"$WORK/regressions-$kind.log" 2>&1 || {
			cat "$WORK/regressions-$kind.log"
			echo "fuzz/run.sh: $target fails on a file of $REGRESSIONS"
			exit 1
		}
		echo "fuzz/run.sh: $target: $(echo $files | wc -w) regression files replayed"
	done
}
cd "$WORK/crashes"
regressions
[ "${FUZZ_TARGET:-decode}" = regressions ] && exit 0

if [ "${FUZZ_TARGET:-decode}" = seq ]; then
	mkdir -p "$WORK/seq-corpus"
	if [ -f "$CORPUS/groups.json" ]; then
		python3 "$SRC/fuzz/seeds.py" sequences "$WORK/seq-corpus" "$CORPUS"
	else
		echo "fuzz/run.sh: no capture corpus at $CORPUS: fuzz_decode_seq starts from the tests/data datagrams"
	fi
	# tests/data's datagrams, each a sequence of one
	find "$SRC/tests/data" -type f ! -name 'LICENSE*' ! -name 'NOTICE*' ! -name '*.md' ! -path '*/fuzz-regressions/*' |
		while read -r f; do
			python3 -c 'import struct,sys; d=open(sys.argv[1],"rb").read()[:65535]
open(sys.argv[2],"wb").write(struct.pack(">H",len(d))+d)' "$f" "$WORK/seq-corpus/t-$(basename "$f")"
		done
	cp -f "$REGRESSIONS"/*.seq "$WORK/seq-corpus/" 2>/dev/null || true
	exec "$WORK/fuzz_decode_seq" -max_total_time="$SECS" -max_len=65536 -print_final_stats=1 "$@" \
		"$WORK/seq-corpus"
fi

find "$SRC/tests/data" -type f ! -name 'LICENSE*' ! -name 'NOTICE*' ! -name '*.md' ! -path '*/fuzz-regressions/*' \
	-exec cp -f {} "$WORK/corpus/" \;
cp -f "$REGRESSIONS"/*.dgram "$WORK/corpus/" 2>/dev/null || true
if [ -d "$CORPUS/files" ]; then
	python3 "$SRC/fuzz/seeds.py" datagrams "$WORK/corpus" "$CORPUS"
else
	echo "fuzz/run.sh: no capture corpus at $CORPUS: seeds are tests/data only"
fi
exec "$WORK/fuzz_decode" -max_total_time="$SECS" -max_len=65535 -print_final_stats=1 "$@" "$WORK/corpus"
