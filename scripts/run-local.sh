#!/bin/sh
# Quick start: install what the build needs, build, and run the concentrator
# in the foreground with examples/local.ini: NetFlow v5/v9/IPFIX on UDP 2055,
# every flow record printed as one JSON line on standard output. Ctrl-C stops it.
set -e
cd "$(dirname "$0")/.."
scripts/deps.sh build
dir=$(scripts/build.sh | tail -n 1)
NETFLOW_CONCENTRATOR_PLUGIN_DIR="$dir/build-plugins" exec "$dir/netflow-concentrator" -c "${1:-examples/local.ini}"
