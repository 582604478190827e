#!/bin/sh
# soak.sh - sockit under hours-long-style mixed load, in minutes: echo, http
# with files and listings, chat with members joining and leaving, UDP echo,
# and the bad clients of issue 11 (slow heads, oversized requests, resets,
# stalled and flooding chat members, garbage), against the epoll, uring and
# thread models at once. Descriptors and RSS of every server are sampled
# each --interval; the report says how they grew after the warm-up (compared
# idle to idle) and lists every error outside the bad clients.
#
#   bench/soak.sh [--duration SECS] [--interval SECS] [--warmup SECS]
#                 [--models epoll,uring,thread] [--sockit PATH] [--json FILE]
#
# Defaults: 600 s, sampled every 10 s, 60 s of warm-up, build/sockit (built
# if missing). Exit 0 when nothing grew and nothing failed, else 1. The
# 30-second version runs in `make test` (tests/integration/test_soak.py).
set -eu
cd "$(dirname "$0")/.."
sockit=""
for a in "$@"; do
    case $a in --sockit|--sockit=*) sockit=1 ;; esac
done
if [ -z "$sockit" ] && [ ! -x build/sockit ]; then
    make -j2 build/sockit >&2
fi
exec /usr/bin/python3 bench/soak.py "$@"
