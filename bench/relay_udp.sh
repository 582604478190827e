#!/bin/sh
# relay_udp.sh - `sockit serve relay -u` beside `socat UDP-LISTEN:...,fork`,
# each in front of the same `sockit serve echo -u` (issue 14's UDP relay).
#
#   bench/relay_udp.sh [SECONDS]      (default 5)
#
# The load: `sockit bench stream -u --both -c 8 -s 64`, eight clients (eight
# flows) blasting 64-byte datagrams with sequence numbers; what counts is
# the echoes that came back through the relay (datagrams/s), and those per
# CPU-second the relay spent (its process and, for socat, its per-client
# children: the figure the machine's other load changes least). Each sockit
# model (plain, batch, uring; MODELS=...) and then socat is loaded REPS times
# (default 3) in a row, keeping its best. Every process
# started here is stopped by its PID, also on failure.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-5}
reps=${REPS:-3}
models=${MODELS:-plain batch uring}
command -v socat >/dev/null || { echo "relay_udp: socat is not installed (scripts/deps.sh)"; exit 1; }
make --no-print-directory all >/dev/null
SOCKIT=./build/sockit
. bench/lib.sh
$SOCKIT serve echo -u --model batch -p 0 -b 127.0.0.1 -q >"$tmp/echo.out" 2>&1 &
track $!
eport=$(sockit_port "$tmp/echo.out")

names="" ports="" rpids=""
for m in $models; do
    $SOCKIT serve relay -u --model "$m" -p 0 -b 127.0.0.1 -q --to "127.0.0.1:$eport" \
        >"$tmp/relay-$m.out" 2>&1 &
    p=$!
    track $p
    names="$names $m" ports="$ports $(sockit_port "$tmp/relay-$m.out")" rpids="$rpids $p"
done
sport=$(free_port)
socat -T 30 "UDP-LISTEN:$sport,bind=127.0.0.1,fork,reuseaddr" "UDP:127.0.0.1:$eport" 2>/dev/null &
track $!
names="$names socat" ports="$ports $sport" rpids="$rpids $!"
sleep 0.3

# CPU ticks of PID and of its children, living and reaped (socat forks one
# per client, alive while the client is).
ticks() { # PID
    /usr/bin/python3 - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
def stat(p):
    with open(f"/proc/{p}/stat") as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()
f = stat(pid)
t = sum(int(x) for x in f[11:15])
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            g = stat(d)
        except OSError:
            continue
        if g[1] == pid:
            t += int(g[11]) + int(g[12])
print(t)
PY
}
hz=$(getconf CLK_TCK)
load() { # PORT: echoes back per second
    $SOCKIT bench stream 127.0.0.1 "$1" -u --both -c 8 -s 64 -d "${secs}s" --json 2>/dev/null |
        /usr/bin/python3 -c "import json,sys; j=json.load(sys.stdin); print('%.0f' % (j['bytes_recv'] / 64 / j['elapsed_s']))"
}

echo "relay -u (sockit models) and socat (UDP-LISTEN fork) in front of serve echo -u;"
echo "8 clients x 64 B datagrams for ${secs}s, best of $reps"
printf '%-8s %14s %22s\n' relay "echoes/s" "echoes/relay CPU-s"
i=0
for n in $names; do
    i=$((i + 1))
    port=$(echo $ports | cut -d' ' -f$i)
    pid=$(echo $rpids | cut -d' ' -f$i)
    bv=0 be=0
    for _ in $(seq "$reps"); do
        t0=$(ticks "$pid")
        v=$(load "$port")
        t1=$(ticks "$pid")
        e=$(/usr/bin/python3 -c "print('%.0f' % ($v * $secs * $hz / max($t1 - $t0, 1)))")
        [ "$v" -gt "$bv" ] && bv=$v
        [ "$e" -gt "$be" ] && be=$e
    done
    printf '%-8s %14s %22s\n' "$n" "$bv" "$be"
done
