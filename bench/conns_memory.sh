#!/bin/sh
# conns_memory.sh - memory per connection with many connections held: sockit's
# epoll and uring models (echo, via `sockit bench models`) beside nginx
# holding the same number of idle HTTP keep-alive connections, measured the
# same way: (the server's peak resident set - its resident set before the
# load) / connections. Bounded: a ramp, a few seconds at a modest fixed rate,
# then everything stops by itself.
#
#   bench/conns_memory.sh [CONNS] [RAMP_SECS]     (default 18000 and 15)
#
# Each side needs one descriptor per connection: the count is capped by the
# hard RLIMIT_NOFILE (raised when allowed). Past 25000 connections to
# 127.0.0.1 the bench spreads them over 127.0.0.x source addresses by itself.
set -eu
cd "$(dirname "$0")/.."
n=${1:-18000}
ramp=${2:-15}
make --no-print-directory all >/dev/null
SOCKIT=./build/sockit
tmp=$(mktemp -d)
ng=""
cleanup() {
    [ -n "$ng" ] && kill "$ng" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

echo "== sockit (echo, epoll and uring): $n connections, ${ramp}s ramp, 5s at 2000 msg/s"
$SOCKIT bench models echo --models epoll,uring --conns "$n" -t 1 --ramp "${ramp}s" -d 5s \
    --rate 2000 --timeout 10s --server-arg=--max-conns=$((n + 500)) --out "$tmp" -q

command -v nginx >/dev/null || { echo "nginx is not installed: its run is skipped"; exit 0; }
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off; pid $tmp/nginx.pid;
worker_rlimit_nofile $((n + 1000));
events { worker_connections $((n * 2)); }
http { access_log off; keepalive_timeout 120s; keepalive_requests 1000000;
  client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp;
  uwsgi_temp_path $tmp; scgi_temp_path $tmp;
  server { listen 127.0.0.1:$port backlog=4096; location / { return 200 "Hello, World!"; } } }
CONF
nginx -c "$tmp/nginx.conf" -e "$tmp/error.log" &
ng=$!
sleep 1
base=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$ng/status)
# Idle keep-alive: each connection makes a request now and then (2000/s in
# all), so most of them sit idle between requests, as the issue asks.
# worker_connections is twice the load: nginx closes idle keep-alive
# connections once fewer than 1/16 of its slots are free (and it allocates
# the slots up front, so they are in its "before" figure).
$SOCKIT bench http "http://127.0.0.1:$port/" -c "$n" -t 1 --ramp "${ramp}s" -d 5s --rate 2000 \
    --timeout 10s -q
peak=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' /proc/$ng/status)
echo "nginx (1 worker, master_process off): $n keep-alive connections: RSS $base kB before," \
    "peak $peak kB: $(/usr/bin/python3 -c "print('%.2f' % (($peak - $base) / $n))") KB/conn"
