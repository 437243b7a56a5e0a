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
trap 'rm -rf "$work"; $P rm -f nfc-image-test nfc-image-test2 >/dev/null 2>&1; $P volume rm -f nfc-image-state >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*"; exit 1; }

if ! $P image exists localhost/debian:bookworm-slim; then
	debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
		{ tail "$work/debootstrap.log"; fail "debootstrap"; }
	tar -C "$work/rootfs" -c . | $P import - localhost/debian:bookworm-slim >/dev/null
fi
mkdir -p "$work/ctx"
git ls-files -z | xargs -0 cp --parents -t "$work/ctx"
# --format docker: the OCI format has no HEALTHCHECK
$P build --format docker --isolation chroot --network host --build-arg BASE=localhost/debian:bookworm-slim \
	-t localhost/netflow-concentrator:test "$work/ctx" >"$work/build.log" 2>&1 ||
	{ tail -30 "$work/build.log"; fail "image build"; }
echo "ok: image built"
$P image inspect localhost/netflow-concentrator:test --format '{{json .Config.Healthcheck}} {{json .Config.Volumes}} {{json .Config.Labels}}' \
	>"$work/inspect" || fail "image inspect"
grep -q -- '--health' "$work/inspect" || fail "no HEALTHCHECK running --health: $(cat "$work/inspect")"
grep -q '/var/lib/netflow-concentrator' "$work/inspect" || fail "the state directory is not a volume"
grep -q 'org.opencontainers.image.title' "$work/inspect" || fail "no OCI labels"
echo "ok: HEALTHCHECK, state volume and OCI labels declared"

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
printf '[output copy]\nplugin=file\npath=-\n[core]\nhealth_fail_after=5\n' >> "$work/key.ini"; chmod 644 "$work/key.ini"
$P volume rm -f nfc-image-state >/dev/null 2>&1 || true
$RUN --name nfc-image-test -e NETFLOW_COLLECTOR_DEBUG=true -v "$work/key.ini:/app/configuration.ini:ro" \
	-v nfc-image-state:/var/lib/netflow-concentrator localhost/netflow-concentrator:test >"$work/run.out" 2>"$work/run.err" &
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
# the intake (intake.sekoia.io) is unreachable from here: healthy while the
# forwarder retries, unhealthy once it has failed longer than 5 s
$P healthcheck run nfc-image-test >"$work/health1" 2>&1 || fail "unhealthy at once: $(cat "$work/health1")"
sleep 7
$P healthcheck run nfc-image-test >"$work/health2" 2>&1 && fail "still healthy with the intake unreachable"
echo "ok: HEALTHCHECK healthy, then unhealthy when the intake is unreachable"
$P stop -t 15 nfc-image-test >/dev/null
grep -q "Key0123456789secret" "$work/run.err" && fail "the intake key was logged"
grep -q "stopped" "$work/run.err" || fail "no clean stop"
grep -q "spooled=5" "$work/run.err" || fail "the 5 undelivered records were not spooled at SIGTERM: $(grep stats "$work/run.err")"
echo "ok: records flow, debug logs on, clean stop, key never logged, undelivered records spooled"
# a new container on the same volume sends the spool first
$RUN --name nfc-image-test2 -v "$work/key.ini:/app/configuration.ini:ro" -v nfc-image-state:/var/lib/netflow-concentrator \
	localhost/netflow-concentrator:test >"$work/run2.out" 2>"$work/run2.err" &
n=0; until grep -q running "$work/run2.err" 2>/dev/null; do n=$((n + 1)); [ $n -lt 120 ] || fail "did not start again: $(cat "$work/run2.err")"; sleep 0.5; done
grep -q "5 records in the spool from before are delivered first" "$work/run2.err" || fail "the spool was not kept: $(cat "$work/run2.err")"
$P stop -t 15 nfc-image-test2 >/dev/null
$P volume rm -f nfc-image-state >/dev/null 2>&1 || true
echo "ok: a restart keeps the spool (the state volume)"
echo "PASS: image"
