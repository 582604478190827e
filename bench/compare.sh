#!/bin/sh
# compare.sh - sockit side by side with the servers people use, on this
# machine, one after another, under the same load.
#
#   bench/compare.sh [--duration SECS] [--only loadgen,http,pipelined,echo,udp,c10k] [--quick]
#
# Installs from Debian what is missing (nginx-light, h2o, lighttpd, python3,
# socat, ncat, wrk; whatever apt cannot provide is skipped and said so),
# builds sockit and the minimal C epoll echo loop (bench/epoll_echo_min.c),
# then runs bench/compare.py: HTTP by wrk, echo by `sockit bench`, each
# server on a free 127.0.0.1 port for a few seconds, with its CPU time per
# request read from /proc. Results go to bench/results/<UTC time>/ and the
# markdown tables are printed (docs/BENCHMARKS.md quotes them).
set -eu
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=""
for p in nginx-light h2o lighttpd python3 socat ncat wrk; do
    case $p in
    nginx-light) have=$(command -v nginx || true) ;;
    python3) have=$(command -v python3 || true) ;;
    *) have=$(command -v "$p" || true) ;;
    esac
    [ -n "$have" ] || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "compare: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq || true
    for p in $missing; do
        # shellcheck disable=SC2086
        $SUDO apt-get install -y -qq --no-install-recommends $p >/dev/null 2>&1 ||
            echo "compare: $p is not available from apt here: its runs are skipped"
    done
fi
# Packaged daemons may have been started by the install; ours run on their own ports.

make --no-print-directory all >/dev/null
mkdir -p build
cc -O2 -Wall -Wextra -o build/epoll_echo_min bench/epoll_echo_min.c

# Enough descriptors for 10,000 connections on each side.
ulimit -n 30000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
exec $PY bench/compare.py "$@"
