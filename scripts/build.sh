#!/bin/sh
# Configure (once) and build out of tree, in build/ (or $NFC_BUILD_DIR).
# Prints the build directory on its last line.
set -e
cd "$(dirname "$0")/.."
src=$(pwd)
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
if [ -f config.status ]; then
	dir=$src # already configured in the source tree: build there
else
	dir=${NFC_BUILD_DIR:-$src/build}
	mkdir -p "$dir"
	[ -f "$dir/Makefile" ] || (cd "$dir" && "$src/configure" --quiet "$@")
fi
make -C "$dir" -j"$(nproc)" >/dev/null || make -C "$dir"
echo "$dir"
