#!/bin/sh
# exec_inetd.sh - connections per second of a program per connection:
# `sockit serve exec -- /bin/cat` (fork, thread: the socket is cat's stdio;
# epoll, uring: cat's pipes relayed by the loop) beside `ncat -l -k --exec
# /bin/cat`, openbsd-inetd running /bin/cat (a config in a temp dir, its own
# port) and the floor: bench/exec_floor.c, a server that only accepts and
# posix_spawn()s cat on the socket (no environment, log, limit or stop), so
# no server can cost less per connection.
# Each client (bench/conn_rate.c, THREADS threads) connects, sends 64 bytes,
# reads them back, shuts its side, waits for the close. The servers take turns
# for ROUNDS rounds of SECS seconds, so a busy machine slows them alike; the
# medians and their ratios are printed. Every server is stopped by PID.
# With perf, each server then runs once more under `perf stat -e task-clock`
# (inherited by every process it starts, the programs included): CPU time
# per connection, which a busy machine does not change much; the client's
# too. Client, server and programs share the CPUs, so the best rate any
# server could reach over inetd is about (client + inetd) / (client +
# floor): the ceiling printed last.
#
#   bench/exec_inetd.sh [SECS] [ROUNDS] [THREADS]     (default 3 3 4)
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-3}
ROUNDS=${2:-3}
THREADS=${3:-4}
SOCKIT=${SOCKIT:-build/sockit}
INETD=${INETD:-/usr/sbin/inetd}
tmp=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    sleep 0.2
    for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

[ -x "$SOCKIT" ] || { echo "exec_inetd: build $SOCKIT first (make)" >&2; exit 2; }
cc -O2 -pthread -o "$tmp/conn_rate" bench/conn_rate.c
cc -O2 -o "$tmp/exec_floor" bench/exec_floor.c

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sockit serve exec under MODEL: prints its port.
start_sockit() {
    "$SOCKIT" serve exec --model "$1" -b 127.0.0.1 -p 0 -q -- /bin/cat >"$tmp/$1.out" 2>"$tmp/$1.err" &
    pids="$pids $!"
    i=0
    while ! grep -q listening "$tmp/$1.out" 2>/dev/null; do
        i=$((i + 1)); [ $i -lt 100 ] || { echo "sockit $1 did not start" >&2; exit 1; }
        sleep 0.05
    done
    sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/$1.out" | head -1
}

names="" ports=""
for m in fork thread epoll uring; do
    if "$SOCKIT" serve --list | grep -q "^$m  *tcp  *ok"; then
        names="$names sockit-$m"
        ports="$ports $(start_sockit $m)"
    fi
done
if command -v ncat >/dev/null; then
    p=$(free_port)
    ncat -l -k --exec /bin/cat 127.0.0.1 "$p" 2>"$tmp/ncat.err" &
    pids="$pids $!"
    names="$names ncat"
    ports="$ports $p"
fi
if [ -x "$INETD" ]; then
    p=$(free_port)
    # nowait.N: inetd's default of 256 starts a minute would stop the service.
    echo "127.0.0.1:$p stream tcp nowait.100000 root /bin/cat cat" >"$tmp/inetd.conf"
    "$INETD" -d "$tmp/inetd.conf" >"$tmp/inetd.log" 2>&1 &
    pids="$pids $!"
    names="$names inetd"
    ports="$ports $p"
fi
p=$(free_port)
"$tmp/exec_floor" "$p" /bin/cat 2>"$tmp/floor.err" &
pids="$pids $!"
names="$names floor"
ports="$ports $p"
sleep 0.5

echo "exec_inetd: $SECS s x $ROUNDS rounds, $THREADS client threads, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
    set -- $ports
    for n in $names; do
        v=$("$tmp/conn_rate" 127.0.0.1 "$1" "$SECS" "$THREADS" | awk '{print $2, $4}')
        echo "$n $v" >>"$tmp/results"
        echo "  round $r: $n: ${v% *} conn/s (errors ${v#* })"
        shift
    done
done
echo
awk -v names="$names" '
    { v[$1] = v[$1] " " $2 }
    END {
        n = split(names, order, " ")
        for (i = 1; i <= n; i++) {
            k = split(substr(v[order[i]], 2), a, " ")
            for (x = 1; x <= k; x++) for (y = x + 1; y <= k; y++) if (a[y] < a[x]) { t = a[x]; a[x] = a[y]; a[y] = t }
            med[order[i]] = a[int((k + 1) / 2)]
        }
        printf "%-14s %10s %9s %9s %9s\n", "server", "conn/s", "/ ncat", "/ inetd", "/ floor"
        for (i = 1; i <= n; i++) {
            m = order[i]
            printf "%-14s %10d", m, med[m]
            printf " %8.2fx", ("ncat" in med && med["ncat"]) ? med[m] / med["ncat"] : 0
            printf " %8.2fx", ("inetd" in med && med["inetd"]) ? med[m] / med["inetd"] : 0
            printf " %8.2fx\n", ("floor" in med && med["floor"]) ? med[m] / med["floor"] : 0
        }
    }' "$tmp/results"

command -v perf >/dev/null || exit 0
for p in $pids; do kill "$p" 2>/dev/null || true; done
sleep 0.5
echo
echo "CPU per connection (server and its programs, perf stat -e task-clock, one ${SECS} s run each):"
cpu_run() { # NAME PORT COMMAND...
    n=$1 port=$2
    shift 2
    perf stat -e task-clock -x, -o "$tmp/perf.$n" "$@" >/dev/null 2>&1 &
    ppid=$!
    pids="$pids $ppid"
    sleep 0.7
    c=$(perf stat -e task-clock -x, -o "$tmp/perfc.$n" "$tmp/conn_rate" 127.0.0.1 "$port" "$SECS" "$THREADS" |
        awk '{print $2 * '"$SECS"'}')
    kill $(pgrep -P "$ppid") 2>/dev/null || true
    wait "$ppid" 2>/dev/null || true
    ms=$(awk -F, '/task-clock/ {print $1}' "$tmp/perf.$n")
    cms=$(awk -F, '/task-clock/ {print $1}' "$tmp/perfc.$n")
    echo "$n $ms $cms $c" >>"$tmp/cpu"
    awk -v n="$n" -v ms="$ms" -v cms="$cms" -v c="$c" 'BEGIN {
        printf "  %-14s %8.0f conns %9.3f ms CPU each (client %.3f ms)\n", n, c, ms / c, cms / c }'
}
p=$(free_port)
cpu_run floor "$p" "$tmp/exec_floor" "$p" /bin/cat
for m in fork thread epoll uring; do
    case " $names " in *" sockit-$m "*) ;; *) continue ;; esac
    p=$(free_port)
    cpu_run "sockit-$m" "$p" "$SOCKIT" serve exec --model "$m" -b 127.0.0.1 -p "$p" -q -- /bin/cat
done
case " $names " in *" ncat "*)
    p=$(free_port)
    cpu_run ncat "$p" ncat -l -k --exec /bin/cat 127.0.0.1 "$p" ;;
esac
case " $names " in *" inetd "*)
    p=$(free_port)
    echo "127.0.0.1:$p stream tcp nowait.100000 root /bin/cat cat" >"$tmp/inetd2.conf"
    cpu_run inetd "$p" "$INETD" -d "$tmp/inetd2.conf" ;;
esac
# The ceiling: no server can cost less than the floor's, so none can beat
# a server X by more than (client + X) / (client + floor) in connections
# per second on this machine (all of them CPU-bound on the same cores).
echo
echo "Ceiling: the best rate any server could reach over each, (client + it) / (client + floor):"
awk '{ per[$1] = ($2 + $3) / $4 }
    END {
        if (!("floor" in per)) exit
        for (n in per) if (n != "floor")
            printf "  over %-14s %5.2fx\n", n, per[n] / per["floor"]
    }' "$tmp/cpu" | sort
