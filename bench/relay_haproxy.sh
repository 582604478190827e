#!/bin/sh
# relay_haproxy.sh - `sockit serve relay` beside haproxy (mode tcp, nbthread 1)
# and `socat TCP-LISTEN:...,fork,reuseaddr`, each in front of the same
# `sockit serve echo` (issue 14's anchors).
#
#   bench/relay_haproxy.sh [SECONDS]      (default 5)
#
# Two loads, each run against the three relays one after the other, REPS
# times (default 3) alternating, keeping each one's best (the other load on
# a shared machine only ever slows a run down):
#   - 64 B ping-pong over 50 connections: `sockit bench echo -c 50 -s 64`,
#     messages/s;
#   - one bulk stream both ways: `sockit bench stream -c 1 --both`, Mbit/s
#     (at loopback speeds a run of a few seconds moves several GiB through).
# The relay runs under MODEL (default epoll; also try MODEL=uring). Prints
# the figures and the ratios relay/haproxy and relay/socat. Every process
# started here is stopped by its PID, also on failure.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${REPS:-3}
model=${MODEL:-epoll}
for t in haproxy socat; do
    command -v $t >/dev/null || { echo "relay_haproxy: $t is not installed (scripts/deps.sh)"; exit 1; }
done
make --no-print-directory all >/dev/null
SOCKIT=./build/sockit
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Start a sockit server; its port from the "listening on" line.
sockit_port() { # LOGFILE
    for _ in $(seq 50); do
        p=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return; }
        sleep 0.1
    done
    echo "relay_haproxy: a server did not start: $(cat "$1")" >&2
    exit 1
}

$SOCKIT serve echo --model epoll -p 0 -b 127.0.0.1 -q >"$tmp/echo.out" 2>&1 &
pids="$pids $!"
eport=$(sockit_port "$tmp/echo.out")

$SOCKIT serve relay --model "$model" -p 0 -b 127.0.0.1 -q --to "127.0.0.1:$eport" \
    >"$tmp/relay.out" 2>&1 &
pids="$pids $!"
rport=$(sockit_port "$tmp/relay.out")

hport=$(free_port)
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 10000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen relay
    bind 127.0.0.1:$hport
    server echo 127.0.0.1:$eport
EOF
haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.out" 2>&1 &
pids="$pids $!"

sport=$(free_port)
socat "TCP-LISTEN:$sport,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$eport" &
pids="$pids $!"
sleep 0.5

json() { # KEY: read one JSON object from stdin, print KEY as an integer
    /usr/bin/python3 -c "import json,sys; print('%.0f' % json.load(sys.stdin)['$1'])"
}
msgs() { # PORT
    $SOCKIT bench echo 127.0.0.1 "$1" -c 50 -s 64 -d "${secs}s" --json 2>/dev/null | json requests_per_s
}
stream() { # PORT
    $SOCKIT bench stream 127.0.0.1 "$1" -c 1 --both -d "${secs}s" --json 2>/dev/null | json mbit_per_s
}
ratio() { /usr/bin/python3 -c "print('%.2f' % ($1 / max($2, 1)))"; }

best() { # FUNCTION PORT...: the best of reps runs per port, alternating; prints them in order
    fn=$1
    shift
    b1=0 b2=0 b3=0
    for _ in $(seq "$reps"); do
        v=$($fn "$1"); [ "$v" -gt "$b1" ] && b1=$v
        v=$($fn "$2"); [ "$v" -gt "$b2" ] && b2=$v
        v=$($fn "$3"); [ "$v" -gt "$b3" ] && b3=$v
    done
    echo "$b1 $b2 $b3"
}

echo "relay (model $model), haproxy (mode tcp, nbthread 1), socat (fork) in front of serve echo"
set -- $(best msgs "$rport" "$hport" "$sport")
printf '%-22s %12s %12s %12s %10s %10s\n' load relay haproxy socat "r/haproxy" "r/socat"
printf '%-22s %12s %12s %12s %10s %10s\n' "64 B x 50 conns msg/s" "$1" "$2" "$3" \
    "$(ratio "$1" "$2")" "$(ratio "$1" "$3")"
set -- $(best stream "$rport" "$hport" "$sport")
printf '%-22s %12s %12s %12s %10s %10s\n' "1 stream both Mbit/s" "$1" "$2" "$3" \
    "$(ratio "$1" "$2")" "$(ratio "$1" "$3")"
