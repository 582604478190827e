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
# The relay runs under MODEL (default epoll; also try MODEL=uring), with
# WORKERS event loops (default 1, as haproxy's nbthread 1). Prints
# the figures and the ratios relay/haproxy and relay/socat. Every process
# started here is stopped by its PID, also on failure.
#
# The ceiling: each round also loads the echo server directly, no relay in
# between ("direct"). No relay can pass more than that in this setup, so
# direct/socat is the most any relay could reach over socat's raw rate
# here, printed beside the measured ratios. Its per-CPU row is the echo
# server's figure halved: a relay makes the same socket calls as an echo
# server twice per message (a receive and a send on each side), so half the
# echo server's messages per CPU-second is about the most a relay without
# batching can reach (io_uring's batched calls can pass it a little).
#
# PIN=1: the relays (and socat's per-connection processes) on CPU 0, the
# load generator and the echo server on CPU 1 (taskset), so each relay has
# one core of its own and does not compete with the load it carries; the
# same for all three. The direct run is then the load generator and the
# echo server on their one core.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${REPS:-3}
model=${MODEL:-epoll}
pin_relay="" pin_load=""
if [ "${PIN:-0}" = 1 ]; then
    command -v taskset >/dev/null || { echo "relay_haproxy: PIN=1 needs taskset"; exit 1; }
    pin_relay="taskset -c 0" pin_load="taskset -c 1"
fi
for t in haproxy socat; do
    command -v $t >/dev/null || { echo "relay_haproxy: $t is not installed (scripts/deps.sh)"; exit 1; }
done
make --no-print-directory all >/dev/null
SOCKIT=./build/sockit
. bench/lib.sh
$pin_load $SOCKIT serve echo --model epoll -p 0 -b 127.0.0.1 -q >"$tmp/echo.out" 2>&1 &
epid=$!
pids="$pids $epid"
eport=$(sockit_port "$tmp/echo.out")

$pin_relay $SOCKIT serve relay --model "$model" --workers "${WORKERS:-1}" -p 0 -b 127.0.0.1 -q --to "127.0.0.1:$eport" \
    >"$tmp/relay.out" 2>&1 &
rpid=$!
pids="$pids $rpid"
rport=$(sockit_port "$tmp/relay.out")

hport=$(free_port)
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 2000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
listen relay
    bind 127.0.0.1:$hport
    server echo 127.0.0.1:$eport
EOF
$pin_relay haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.out" 2>&1 &
hpid=$!
pids="$pids $hpid"

sport=$(free_port)
$pin_relay socat "TCP-LISTEN:$sport,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$eport" 2>/dev/null &
spid=$!
pids="$pids $spid"
sleep 0.5

json() { # KEY: read one JSON object from stdin, print KEY as an integer
    /usr/bin/python3 -c "import json,sys; print('%.0f' % json.load(sys.stdin)['$1'])"
}
msgs() { # PORT
    $pin_load $SOCKIT bench echo 127.0.0.1 "$1" -c 50 -s 64 -d "${secs}s" --json 2>/dev/null | json requests_per_s
}
stream() { # PORT
    $pin_load $SOCKIT bench stream 127.0.0.1 "$1" -c 1 --both -d "${secs}s" --json 2>/dev/null | json mbit_per_s
}
# CPU time (clock ticks) of a relay process and of its reaped children
# (socat's per-connection processes), from /proc/PID/stat.
ticks() { # PID
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13 + $14 + $15}'
}
hz=$(getconf CLK_TCK)

# run FUNCTION PORT PID: the figure, and the figure per CPU-second the relay
# spent on it (what the relay costs, which the machine's other load does not
# change much, unlike the figure itself).
run() {
    t0=$(ticks "$3")
    v=$($1 "$2")
    # socat's per-connection processes count once reaped: wait (bounded).
    for _ in $(seq 50); do pgrep -P "$3" >/dev/null || break; sleep 0.1; done
    t1=$(ticks "$3")
    echo "$v $(/usr/bin/python3 -c "print('%.0f' % ($v * $secs * $hz / max($t1 - $t0, 1)))")"
}
ratio() { /usr/bin/python3 -c "print('%.2f' % ($1 / max($2, 1)))"; }

# The best of reps runs of FUNCTION against each relay and the echo server
# directly (the ceiling), alternating.
best() { # FUNCTION
    b1=0 b2=0 b3=0 b4=0 e1=0 e2=0 e3=0 e4=0
    for _ in $(seq "$reps"); do
        set -- $(run "$1" "$rport" "$rpid") "$1"; [ "$1" -gt "$b1" ] && b1=$1; [ "$2" -gt "$e1" ] && e1=$2; f=$3
        set -- $(run "$f" "$hport" "$hpid") "$f"; [ "$1" -gt "$b2" ] && b2=$1; [ "$2" -gt "$e2" ] && e2=$2
        set -- $(run "$f" "$sport" "$spid") "$f"; [ "$1" -gt "$b3" ] && b3=$1; [ "$2" -gt "$e3" ] && e3=$2
        set -- $(run "$f" "$eport" "$epid") "$f"; [ "$1" -gt "$b4" ] && b4=$1; [ "$2" -gt "$e4" ] && e4=$2
        set -- "$f"
    done
    echo "$b1 $b2 $b3 $b4 $e1 $e2 $e3 $((e4 / 2))"
}

row() { # LABEL RELAY HAPROXY SOCAT DIRECT
    printf '%-30s %11s %11s %11s %11s %10s %8s %13s\n' "$1" "$2" "$3" "$4" "$5" \
        "$(ratio "$2" "$3")" "$(ratio "$2" "$4")" "$(ratio "$5" "$4")"
}

echo "relay (model $model, ${WORKERS:-1} loop(s)), haproxy (mode tcp, nbthread 1), socat (fork) in front of serve echo; best of $reps${pin_relay:+; relays on CPU 0, load and echo on CPU 1}"
echo "direct: the load straight to the echo server, the ceiling of any relay here; ceil/socat = direct/socat"
echo "(per CPU-second, direct is half the echo server's figure: about the most a relay can reach)"
printf '%-30s %11s %11s %11s %11s %10s %8s %13s\n' load relay haproxy socat direct "r/haproxy" "r/socat" "ceil/socat"
set -- $(best msgs)
row "64 B x 50 conns, msg/s" "$1" "$2" "$3" "$4"
row "  msg per relay CPU-second" "$5" "$6" "$7" "$8"
set -- $(best stream)
row "1 stream both ways, Mbit/s" "$1" "$2" "$3" "$4"
row "  Mbit per relay CPU-second" "$5" "$6" "$7" "$8"
