#!/bin/sh
# deps.sh - install the Debian packages sockit's build, tests and demo need,
# only those that are missing, saying which.
set -eu

PKGS="build-essential pkg-config liburing-dev libssl-dev openssl libcmocka-dev python3-pytest
netcat-openbsd socat ncat curl wrk iperf3 tmux chromium telnet procps iproute2 nginx-light
clang libclang-rt-14-dev clang-format groff-base man-db systemd openbsd-inetd
libwslay-dev libhiredis-dev redis-server python3-websockets python3-pytest-xdist ngircd inspircd haproxy strace"

missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "deps: done"
