#!/bin/sh
# tls_bulk.sh - 1 GiB through `sockit serve discard` and `sockit serve http`
# (a 1 GiB file in a temporary directory, removed at the end), over plain TCP
# and over TLS (TLS 1.3, the same ECDSA P-256 certificate), alternating in
# each round so the ratios come from one run on this machine:
#
#   discard: dd if=/dev/zero bs=1M count=1024 | sockit connect --send-only
#            [--tls --pin FP]        (the client encrypts: both ends on this host)
#   http:    curl -o /dev/null http://... and curl -k https://...
#
#   bench/tls_bulk.sh [SOCKIT] [ROUNDS] [MODEL]
#
# SOCKIT defaults to build/sockit (a release build), ROUNDS to 2, MODEL to
# epoll. Prints a Markdown table: MiB/s per round, the mean, TLS/plain, and
# the server's CPU seconds per GiB (utime+stime from /proc over the transfer:
# on a loaded machine the throughput depends on the CPU the pair gets, the
# server's CPU per GiB much less). Only 127.0.0.1; every process started
# here is stopped by PID.
set -eu
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/sockit}")
ROUNDS=${2:-2}
MODEL=${3:-epoll}
TMP=$(mktemp -d)
PIDS=
cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
command -v curl >/dev/null || { echo "tls_bulk: curl is needed" >&2; exit 1; }

"$BIN" cert --name 127.0.0.1 --out "$TMP" >"$TMP/fp" 2>/dev/null
FP=$(cat "$TMP/fp")
mkdir "$TMP/www"
dd if=/dev/zero of="$TMP/www/big" bs=1M count=1024 status=none

# start NAME ARGS...: a server, its port in $TMP/NAME.port
start() {
    name=$1
    shift
    "$BIN" serve "$@" --model "$MODEL" -q -b 127.0.0.1 -p 0 >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS="$PIDS $!"
    echo $! >"$TMP/$name.pid"
    i=0
    until grep -q 'listening on' "$TMP/$name.out" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || { echo "$name did not start" >&2; cat "$TMP/$name.err" >&2; exit 1; }
        sleep 0.1
    done
    sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/$name.out" >"$TMP/$name.port"
}
TLS="--tls --tls-cert $TMP/cert.pem --tls-key $TMP/key.pem"
start discard discard
start discard_tls discard $TLS
start http http --root "$TMP/www"
start http_tls http --root "$TMP/www" $TLS

now() { date +%s.%N; }
cpu() { awk '{ print $14 + $15 }' "/proc/$(cat "$TMP/$1.pid")/stat"; }
tick=$(getconf CLK_TCK)
mibs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", 1024 / (b - a) }'; }

: >"$TMP/res"
r=0
while [ $r -lt "$ROUNDS" ]; do
    for kind in discard discard_tls; do
        port=$(cat "$TMP/$kind.port")
        c0=$(cpu $kind)
        t0=$(now)
        if [ $kind = discard ]; then
            dd if=/dev/zero bs=1M count=1024 status=none |
                "$BIN" connect --send-only 127.0.0.1 "$port" >/dev/null
        else
            dd if=/dev/zero bs=1M count=1024 status=none |
                "$BIN" connect --send-only --pin "$FP" 127.0.0.1 "$port" >/dev/null
        fi
        t1=$(now)
        sleep 0.2 # the server reads what is still in flight
        echo "$kind $(mibs "$t0" "$t1") $(($(cpu $kind) - c0))" >>"$TMP/res"
    done
    for kind in http http_tls; do
        port=$(cat "$TMP/$kind.port")
        c0=$(cpu $kind)
        if [ $kind = http ]; then
            s=$(curl -s -o /dev/null -w '%{speed_download}' "http://127.0.0.1:$port/big")
        else
            s=$(curl -sk -o /dev/null -w '%{speed_download}' "https://127.0.0.1:$port/big")
        fi
        echo "$kind $(awk -v s="$s" 'BEGIN { printf "%.0f", s / 1048576 }') $(($(cpu $kind) - c0))" >>"$TMP/res"
    done
    r=$((r + 1))
done
echo "| 1 GiB through (model $MODEL) | MiB/s (each round) | mean MiB/s | TLS / plain | server CPU s/GiB |"
echo "|---|---|---|---|---|"
awk -v t="$tick" '{ v[$1] = v[$1] (v[$1] ? ", " : "") $2; s[$1] += $2; n[$1]++; c[$1] += $3 / t }
     END {
       split("discard discard_tls http http_tls", k, " ")
       for (i = 1; i <= 4; i++) {
           x = k[i]; base = x; sub(/_tls$/, "", base)
           ratio = x ~ /_tls$/ ? sprintf("%.2f", (s[x] / n[x]) / (s[base] / n[base])) : ""
           if (x == "discard") label = "serve discard, plain TCP (sockit connect)"
           else if (x == "discard_tls") label = "serve discard --tls (sockit connect --tls)"
           else if (x == "http") label = "serve http, a 1 GiB file (curl)"
           else label = "serve http --tls, a 1 GiB file (curl -k)"
           printf "| %s | %s | %.0f | %s | %.2f |\n", label, v[x], s[x] / n[x], ratio, c[x] / n[x]
       }
     }' "$TMP/res"
