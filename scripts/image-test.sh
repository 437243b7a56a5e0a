#!/bin/sh
# Build the Docker image without a Docker engine (podman + buildah on vfs
# storage, a bookworm base made with debootstrap) and check it the way the
# deployment guide uses it: no configuration, the guide's file with its
# placeholder, then a real key with a JSON copy of the records on stdout.
# Not part of make check: it needs root, podman, debootstrap and the Debian
# mirror. Usage: sudo scripts/image-test.sh
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
for c in podman debootstrap runc python3; do
	command -v "$c" >/dev/null || { echo "needs $c (apt-get install podman buildah debootstrap runc)"; exit 2; }
done
P="podman --storage-driver vfs --runtime runc"
RUN="$P run --rm --network host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
work=$(mktemp -d "${TMPDIR:-/tmp}/nfc-image.XXXXXX")
trap 'rm -rf "$work"; $P rm -f nfc-image-test >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*"; exit 1; }

if ! $P image exists localhost/debian:bookworm-slim; then
	debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
		{ tail "$work/debootstrap.log"; fail "debootstrap"; }
	tar -C "$work/rootfs" -c . | $P import - localhost/debian:bookworm-slim >/dev/null
fi
mkdir -p "$work/ctx"
git ls-files -z | xargs -0 cp --parents -t "$work/ctx"
$P build --isolation chroot --network host --build-arg BASE=localhost/debian:bookworm-slim \
	-t localhost/netflow-concentrator:test "$work/ctx" >"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log"; fail "image build"; }
echo "ok: image built"

$RUN localhost/netflow-concentrator:test >"$work/none.out" 2>&1 && fail "started without a configuration"
grep -q "/app/configuration.ini: cannot open the configuration file" "$work/none.out" || fail "missing file message"
echo "ok: refuses to start without /app/configuration.ini"

cp "$src/configuration.ini" "$work/guide.ini"; chmod 644 "$work/guide.ini"
$RUN -v "$work/guide.ini:/app/configuration.ini:ro" localhost/netflow-concentrator:test >"$work/guide.out" 2>&1 &&
	fail "started with the placeholder key"
grep -q "configuration.ini:13: \[forwarder\] intake_key: is still the placeholder" "$work/guide.out" ||
	fail "placeholder message"
echo "ok: refuses the guide's placeholder key, naming the line"

sed 's/<intake_key>/Key0123456789secret/' "$src/configuration.ini" > "$work/key.ini"
printf '[output copy]\nplugin=file\npath=-\n' >> "$work/key.ini"; chmod 644 "$work/key.ini"
$RUN --name nfc-image-test -e NETFLOW_COLLECTOR_DEBUG=true -v "$work/key.ini:/app/configuration.ini:ro" \
	localhost/netflow-concentrator:test >"$work/run.out" 2>"$work/run.err" &
n=0; until grep -q running "$work/run.err" 2>/dev/null; do n=$((n + 1)); [ $n -lt 120 ] || fail "did not start"; sleep 0.5; done
grep -q "DEBUG" "$work/run.err" || fail "NETFLOW_COLLECTOR_DEBUG=true did not turn on debug logs"
python3 - <<'X'
import socket, struct
recs = b"".join(struct.pack("!4s4s4sHHIIIIHHBBBBHHBBH", bytes([10, 9, 9, i]), bytes([10, 8, 8, i]), bytes(4),
                1, 2, 3, 300, 10, 20, 5000 + i, 80, 0, 0x12, 6, 0, 0, 0, 8, 16, 0) for i in range(5))
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(
    struct.pack("!HHIIIIBBH", 5, 5, 1000, 1700000000, 0, 0, 0, 0, 0) + recs, ("127.0.0.1", 2055))
X
n=0; until [ "$(grep -c IPV4_SRC_ADDR "$work/run.out")" = 5 ]; do n=$((n + 1)); [ $n -lt 40 ] || fail "records"; sleep 0.25; done
$P stop -t 15 nfc-image-test >/dev/null
grep -q "Key0123456789secret" "$work/run.err" && fail "the intake key was logged"
grep -q "stopped" "$work/run.err" || fail "no clean stop"
echo "ok: records flow, debug logs on, clean stop, key never logged"
echo "PASS: image"
