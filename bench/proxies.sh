#!/bin/sh
# proxies.sh - `sockit serve socks` and `sockit serve http-proxy` beside the
# relay (the same piped path without a handshake), ncat's HTTP proxy
# (`ncat -l --proxy-type http`) and, when installed, microsocks (a small
# SOCKS5 server, a thread per client: `apt-get install microsocks`), each in
# front of the same `sockit serve echo`.
#
#   bench/proxies.sh [SECONDS]      (default 5)
#
# The load: `sockit bench echo -c 50 -s 64 --proxy URL` (each connection's
# handshake before its first request, then 64 B ping-pong), messages/s; the
# relay and the echo server directly for scale. Each is run REPS times
# (default 3), alternating, keeping each one's best (other load on a shared
# machine only ever slows a run down), with the figure per CPU-second the
# proxy spent on it. The sockit proxies run under MODEL (default epoll) with
# WORKERS loops (default 1). Every process started here is stopped by its
# PID, also on failure.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${REPS:-3}
model=${MODEL:-epoll}
workers=${WORKERS:-1}
command -v ncat >/dev/null || { echo "proxies: ncat is not installed"; exit 1; }
make --no-print-directory all >/dev/null
SOCKIT=./build/sockit
. bench/lib.sh
$SOCKIT serve echo --model epoll -p 0 -b 127.0.0.1 -q >"$tmp/echo.out" 2>&1 &
epid=$!
pids="$pids $epid"
eport=$(sockit_port "$tmp/echo.out")

start_sockit() { # NAME ARGS...: sets last_pid, last_port
    name=$1
    shift
    $SOCKIT serve "$@" --model "$model" --workers "$workers" -p 0 -b 127.0.0.1 -q \
        >"$tmp/$name.out" 2>&1 &
    last_pid=$!
    pids="$pids $last_pid"
    last_port=$(sockit_port "$tmp/$name.out")
}
start_sockit socks socks
socks_pid=$last_pid socks_port=$last_port
start_sockit http http-proxy
http_pid=$last_pid http_port=$last_port
start_sockit relay relay --to "127.0.0.1:$eport"
relay_pid=$last_pid relay_port=$last_port

ncat_port=$(free_port)
ncat -l 127.0.0.1 "$ncat_port" --proxy-type http >"$tmp/ncat.out" 2>&1 &
ncat_pid=$!
pids="$pids $ncat_pid"
micro_pid=""
if command -v microsocks >/dev/null; then
    micro_port=$(free_port)
    microsocks -i 127.0.0.1 -p "$micro_port" >"$tmp/micro.out" 2>&1 &
    micro_pid=$!
    pids="$pids $micro_pid"
fi
sleep 0.5

json() { # KEY
    /usr/bin/python3 -c "import json,sys; print('%.0f' % json.load(sys.stdin)['$1'])"
}
ticks() { # PID: CPU clock ticks of it and its reaped children
    sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13 + $14 + $15}'
}
hz=$(getconf CLK_TCK)

# load PORT [URL] PID: messages/s and messages per CPU-second of PID.
load() {
    t0=$(ticks "$3")
    v=$($SOCKIT bench echo 127.0.0.1 "$1" -c 50 -s 64 -d "${secs}s" --json \
        ${2:+--proxy "$2"} 2>/dev/null | json requests_per_s)
    t1=$(ticks "$3")
    echo "$v $(/usr/bin/python3 -c "print('%.0f' % ($v * $secs * $hz / max($t1 - $t0, 1)))")"
}

names="direct relay socks http-proxy ncat-http"
[ -n "$micro_pid" ] && names="$names microsocks"
for n in $names; do echo 0 >"$tmp/best.$n"; echo 0 >"$tmp/cpu.$n"; done
for r in $(seq "$reps"); do
    for n in $names; do
        case $n in
        direct) out=$(load "$eport" "" "$epid") ;;
        relay) out=$(load "$relay_port" "" "$relay_pid") ;;
        socks) out=$(load "$eport" "socks5://127.0.0.1:$socks_port" "$socks_pid") ;;
        http-proxy) out=$(load "$eport" "http://127.0.0.1:$http_port" "$http_pid") ;;
        ncat-http) out=$(load "$eport" "http://127.0.0.1:$ncat_port" "$ncat_pid") ;;
        microsocks) out=$(load "$eport" "socks5://127.0.0.1:$micro_port" "$micro_pid") ;;
        esac
        set -- $out
        [ "$1" -gt "$(cat "$tmp/best.$n")" ] && echo "$1" >"$tmp/best.$n"
        [ "$2" -gt "$(cat "$tmp/cpu.$n")" ] && echo "$2" >"$tmp/cpu.$n"
    done
done

echo "64 B ping-pong, 50 connections, best of $reps x ${secs}s (sockit: $model, $workers worker(s))"
printf '%-12s %12s %18s\n' "through" "messages/s" "per CPU-second"
for n in $names; do
    printf '%-12s %12s %18s\n' "$n" "$(cat "$tmp/best.$n")" "$(cat "$tmp/cpu.$n")"
done
ratio() { /usr/bin/python3 -c "print('%.2f' % ($1 / max($2, 1)))"; }
echo "socks/relay $(ratio "$(cat "$tmp/best.socks")" "$(cat "$tmp/best.relay")")," \
    "http-proxy/relay $(ratio "$(cat "$tmp/best.http-proxy")" "$(cat "$tmp/best.relay")")," \
    "http-proxy/ncat $(ratio "$(cat "$tmp/best.http-proxy")" "$(cat "$tmp/best.ncat-http")")"
if [ -n "$micro_pid" ]; then
    echo "socks/microsocks $(ratio "$(cat "$tmp/best.socks")" "$(cat "$tmp/best.microsocks")")"
fi
