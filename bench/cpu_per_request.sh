#!/bin/sh
# cpu_per_request.sh - load-independent cost of one echo request on a server:
# user-space instructions (valgrind --tool=callgrind) and system calls
# (strace -c -f), each per request, for comparing two builds on a busy
# machine where timings are noise.
#
#   bench/cpu_per_request.sh SOCKIT MODEL [N] [CONNS]
#
# SOCKIT is the server binary to measure (a release build); the load comes
# from the same binary's `bench echo` (64-byte messages, CONNS connections,
# default 10, one request in flight each). Instructions are measured twice
# (N and 2N requests, default N=20000) and the difference divided by N, so
# start-up and shutdown cancel out. System calls are counted over one run of
# N requests and divided by N. Only loopback addresses are used; every
# process started here is stopped by PID.
set -eu

BIN=${1:?usage: cpu_per_request.sh SOCKIT MODEL [N] [CONNS]}
MODEL=${2:?usage: cpu_per_request.sh SOCKIT MODEL [N] [CONNS]}
N=${3:-20000}
CONNS=${4:-10}
TMP=$(mktemp -d)
PID=

cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

# run WRAPPER... : start `BIN serve echo` under WRAPPER, load it with
# $REQS requests, stop it.
run() {
    rm -f "$TMP/out"
    "$@" "$BIN" serve echo --model "$MODEL" --workers 1 -b 127.0.0.1 -p 0 >"$TMP/out" 2>"$TMP/err" &
    PID=$!
    i=0
    until grep -q 'listening on' "$TMP/out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 300 ] || { echo "server did not start" >&2; cat "$TMP/err" >&2; exit 1; }
        sleep 0.1
    done
    port=$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$TMP/out" | head -n 1)
    "$BIN" bench echo 127.0.0.1 "$port" -n "$REQS" -c "$CONNS" -d 10m -q >"$TMP/bench" 2>&1 ||
        { cat "$TMP/bench" >&2; exit 1; }
    # The server itself: valgrind runs it in its own process, strace as a child.
    srv=$(ps -o pid= --ppid "$PID" | head -n 1 | tr -d ' ')
    kill -TERM "${srv:-$PID}"
    # Under valgrind a signal is delivered only once the blocking system call
    # returns; io_uring's wait returns on a completion: one more connection.
    i=0
    while kill -0 "$PID" 2>/dev/null && [ $i -lt 20 ]; do
        sleep 0.5
        timeout 2 "$BIN" bench echo 127.0.0.1 "$port" -n 1 -c 1 -q >/dev/null 2>&1 || true
        i=$((i + 1))
    done
    wait "$PID" || true
    PID=
}

ir() { # total instructions of one callgrind run of $REQS requests
    run valgrind --tool=callgrind --callgrind-out-file="$TMP/cg" -q
    sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$TMP/cg"
}

REQS=$N
ir1=$(ir)
REQS=$((2 * N))
ir2=$(ir)
REQS=$N
run strace -c -f -o "$TMP/strace"
calls=$(awk '$NF == "total" { print $4 }' "$TMP/strace")

awk -v m="$MODEL" -v n="$N" -v a="$ir1" -v b="$ir2" -v s="$calls" 'BEGIN {
    printf "%s: %.0f instructions/request (callgrind, %d vs %d requests), %.3f syscalls/request (strace, %d requests)\n",
        m, (b - a) / n, n, 2 * n, s / n, n
}'
