#!/bin/sh
# Install the Debian packages netflow-concentrator needs, only when missing.
#   scripts/deps.sh build   compiler, autotools, OpenSSL, libconfig, zstd, lz4, CUnit, libpcap
#   scripts/deps.sh test    the above, plus the real peers the tests use
#   scripts/deps.sh image   what scripts/image-test.sh needs (podman without a Docker engine,
#                           rsyslog as the TLS intake stand-in)
set -e
build="build-essential autoconf automake libtool pkg-config libssl-dev libconfig-dev libcunit1-dev libpcap-dev libcurl4-openssl-dev zlib1g-dev libzstd-dev liblz4-dev libmicrohttpd-dev"
test="$build softflowd fprobe pmacct tshark tcpdump rsyslog rsyslog-openssl openssl python3 iproute2 util-linux procps clang libclang-rt-14-dev git logrotate nftables conntrack groff-base systemd python3-prometheus-client"
case "${1:-build}" in
build) want=$build ;;
test) want=$test ;;
image) want="podman buildah debootstrap runc python3 git rsyslog rsyslog-openssl openssl" ;;
*) echo "usage: $0 build|test|image" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
