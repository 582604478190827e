#!/bin/sh
# chat_ircd.sh - one room, MEMBERS members (default 1000), SENDERS senders
# (default 10): `sockit bench chat` against ngircd and inspircd (Debian, one
# channel) and `sockit serve chat` under epoll and uring, at each offered
# rate of RATES (messages a second, all senders together), one after another
# on this machine:
#
#   bench/chat_ircd.sh [SECONDS]       (default 5 per point)
#   bench/chat_ircd.sh --ngircd-conf PORT DIR   print the ngircd configuration
#
#   env: MEMBERS=1000 SENDERS=10 RATES="200 500 1000 2000 4000" SOCKIT=build/sockit
#
# Every server runs one thread (ngircd and inspircd are single-threaded;
# sockit's event models run one loop by default), listens on its own
# loopback port and runs in the foreground from a temporary directory; each
# is stopped by its PID, also on failure. Flood control is off or out of
# reach everywhere, so deliveries are measured, not the limits:
#   ngircd:   MaxPenaltyTime = 0 (no command penalties), MaxConnectionsIP = 0,
#             MaxJoins = 0, DNS and ident lookups off
#   inspircd: <connect threshold="1000000" commandrate="1000000000"
#             fakelag="no" hardsendq/softsendq="64M" localmax/globalmax/limit
#             100000 resolvehostnames="no" useident="no">
#   sockit:   serve chat --flood-lines 0 --flood-bytes 0 --max-clients 100000
# Per point: deliveries/s within the sending window, p50/p99 delivery
# latency (from each message's intended send time), missing deliveries, and
# the server's CPU time per delivery (utime+stime from /proc over the run,
# joining included). Then the summary: each server's highest deliveries/s at
# a point it kept up with (nothing missing, 95% of the offered deliveries
# within the window), and sockit's highest such point at a p99 no worse than
# ngircd's there, as a ratio.
set -eu
cd "$(dirname "$0")/.."
# ngircd_conf PORT DIR: the anchor's ngircd configuration (also what
# tests/integration/test_bench_chat.py runs ngircd with, through
# `chat_ircd.sh --ngircd-conf PORT DIR`).
ngircd_conf() {
    cat <<EOF
[Global]
Name = bench.local
Info = sockit bench anchor
Listen = 127.0.0.1
Ports = $1
MotdPhrase = bench
PidFile = $2/ngircd.pid
[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 30
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 600
[Options]
DNS = no
Ident = no
PAM = no
EOF
}
if [ "${1:-}" = --ngircd-conf ]; then
    ngircd_conf "$2" "$3"
    exit 0
fi
SECS=${1:-5}
MEMBERS=${MEMBERS:-1000}
SENDERS=${SENDERS:-10}
RATES=${RATES:-200 500 1000 2000 4000}
SOCKIT=${SOCKIT:-build/sockit}
PY=/usr/bin/python3
command -v ngircd >/dev/null || [ -x /usr/sbin/ngircd ] || { echo "chat_ircd: ngircd is needed (scripts/deps.sh)" >&2; exit 1; }
command -v inspircd >/dev/null || [ -x /usr/sbin/inspircd ] || { echo "chat_ircd: inspircd is needed (scripts/deps.sh)" >&2; exit 1; }
PATH=$PATH:/usr/sbin
[ -x "$SOCKIT" ] || make --no-print-directory all >/dev/null
TMP=$(mktemp -d)
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -H -n)"

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
wait_port() {
    for _ in $(seq 100); do
        $PY -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2).close()" 2>/dev/null && return 0
        kill -0 "$PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
stop() {
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
}

start_ngircd() {
    ngircd_conf "$1" "$TMP" >"$TMP/ngircd.conf"
    ngircd -n -f "$TMP/ngircd.conf" >"$TMP/ngircd.log" 2>&1 &
    PID=$!
}

start_inspircd() {
    cat >"$TMP/inspircd.conf" <<EOF
<server name="bench.local" description="sockit bench anchor" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<bind address="127.0.0.1" port="$1" type="clients">
<power diepass="" restartpass="">
<connect allow="*" timeout="60" pingfreq="10m" hardsendq="64M" softsendq="64M" recvq="1M"
         threshold="1000000" commandrate="1000000000" fakelag="no" localmax="100000"
         globalmax="100000" maxconnwarn="no" resolvehostnames="no" useident="no"
         limit="100000" maxchans="20">
<channels users="20" opers="60">
<limits maxnick="30">
<performance somaxconn="1024" softlimit="100000" clonesonconnect="no" quietbursts="yes">
<options prefixquit="Quit: ">
<security hideserver="" userstats="Pu">
EOF
    inspircd --config="$TMP/inspircd.conf" --nofork --nopid --runasroot >"$TMP/inspircd.log" 2>&1 &
    PID=$!
}

start_sockit() { # PORT MODEL
    "$SOCKIT" serve chat --model "$2" -p "$1" -b 127.0.0.1 --flood-lines 0 --flood-bytes 0 \
        --max-clients 100000 >"$TMP/sockit.log" 2>&1 &
    PID=$!
}

# point NAME PORT JOINING RATE [--irc]: one run, one line of the table.
point() {
    name=$1 port=$2 joining=$3 rate=$4
    shift 4
    npoint=$((npoint + 1))
    sleep 1 # the previous point's members leave
    c0=$(cpu_ticks "$PID")
    if ! "$SOCKIT" bench chat 127.0.0.1 "$port" "$@" --members "$MEMBERS" --senders "$SENDERS" \
        --rate "$rate" -d "${SECS}s" --joining "$joining" --join-timeout 120s --nick-prefix "p${npoint}n" --json \
        >"$TMP/point.json" 2>"$TMP/point.err"; then
        printf '%-14s %7s  failed: %s\n' "$name" "$rate" "$(head -1 "$TMP/point.err")"
        return 0
    fi
    c1=$(cpu_ticks "$PID")
    $PY - "$name" "$rate" "$((c1 - c0))" "$(getconf CLK_TCK)" "$TMP/point.json" <<'EOF' | tee -a "$TMP/all.txt"
import json, sys
name, rate, ticks, hz, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
d = json.load(open(path))
lat = d["latency_ns"]
cpu_us = ticks / hz * 1e6 / max(d["delivered"], 1)
print("%-14s %7s %13.0f %10.2f %10.2f %9d %8.3f" % (
    name, rate, d["deliveries_per_s"], lat["p50"] / 1e6, lat["p99"] / 1e6, d["missing"], cpu_us))
EOF
}

printf '%s members, %s senders, %ss per point; %s\n' "$MEMBERS" "$SENDERS" "$SECS" "$(uname -r)"
printf '%-14s %7s %13s %10s %10s %9s %8s\n' server "msg/s" "deliveries/s" "p50 ms" "p99 ms" missing "cpu us/d"
: >"$TMP/all.txt"
npoint=0
for srv in ngircd inspircd sockit-epoll sockit-uring; do
    port=$(free_port)
    case $srv in
    ngircd) start_ngircd "$port"; joining=8; irc=--irc ;;
    inspircd) start_inspircd "$port"; joining=200; irc=--irc ;;
    sockit-epoll) start_sockit "$port" epoll; joining=64; irc= ;;
    sockit-uring) start_sockit "$port" uring; joining=64; irc= ;;
    esac
    if ! wait_port "$port"; then
        echo "$srv: did not start: $(tail -2 "$TMP"/*.log | tr '\n' ' ')"
        stop
        continue
    fi
    for rate in $RATES; do
        point "$srv" "$port" "$joining" "$rate" $irc
    done
    stop
done

$PY - "$TMP/all.txt" "$MEMBERS" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
members = int(sys.argv[2])
# A point is kept up with when nothing went missing and the deliveries within
# the window reached 95% of what was offered (rate x (members - 1)).
def kept(r):
    return int(r[5]) == 0 and float(r[2]) >= 0.95 * float(r[1]) * (members - 1)
best = {}
for r in rows:
    if kept(r) and (r[0] not in best or float(r[2]) > best[r[0]][0]):
        best[r[0]] = (float(r[2]), float(r[4]), r[1])
print()
for name, (dps, p99, rate) in best.items():
    print("%-14s kept up to %10.0f deliveries/s (%s msg/s), p99 %.2f ms there"
          % (name, dps, rate, p99))
if "ngircd" in best:
    nd, np99, _ = best["ngircd"]
    for name in ("sockit-epoll", "sockit-uring"):
        ok = [(float(r[2]), float(r[4]), r[1]) for r in rows
              if r[0] == name and kept(r) and float(r[4]) <= np99]
        if ok:
            dps, p99, rate = max(ok)
            print("%-14s kept up at p99 <= ngircd's %.2f ms: %.0f deliveries/s (%s msg/s) = "
                  "%.2fx ngircd's" % (name, np99, dps, rate, dps / nd))
        else:
            print("%-14s kept up at no point with p99 <= ngircd's %.2f ms" % (name, np99))
EOF
