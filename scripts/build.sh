#!/bin/sh
# Configure (once) and build in the source tree.
set -e
cd "$(dirname "$0")/.."
[ -x configure ] || ./autogen.sh >/dev/null 2>&1 || ./autogen.sh
[ -f Makefile ] || ./configure --quiet "$@"
make -j"$(nproc)" >/dev/null || make
