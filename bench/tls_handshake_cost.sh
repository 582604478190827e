#!/bin/sh
# tls_handshake_cost.sh - what a full TLS handshake costs the server, in
# counts a loaded machine does not blur: instructions (valgrind callgrind)
# and system calls (strace -c) per handshake, sockit serve http --tls
# (--model epoll) beside nginx (one worker, master off), the same ECDSA
# P-256 certificate, TLS 1.3, loaded by `sockit bench http https://
# --no-keepalive -c 1` (a new connection and a full handshake per request,
# no session resumed, ALPN http/1.1).
#
#   bench/tls_handshake_cost.sh [SOCKIT] [N]
#
# Instructions: two runs of N/10 and N+N/10 handshakes each, the difference
# divided by N (start-up and the readiness probe cancel out). System calls:
# one run of N, attached after start-up. SOCKIT defaults to build/sockit, N
# to 200. Prints the top functions of each profile by exclusive instructions
# too. Only 127.0.0.1; every process started here is stopped by PID.
set -eu
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/sockit}")
N=${2:-200}
SMALL=$((N / 10))
TMP=$(mktemp -d)
SPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
for t in valgrind strace nginx curl; do
    command -v $t >/dev/null || { echo "tls_handshake_cost: $t is needed" >&2; exit 1; }
done
"$BIN" cert --name 127.0.0.1 --out "$TMP" >/dev/null 2>&1
mkdir "$TMP/n"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_conf() {
    cat >"$TMP/nginx.conf" <<CONF
worker_processes 1; daemon off; master_process off;
error_log $TMP/n/error.log crit; pid $TMP/n/nginx.pid;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path $TMP/n; proxy_temp_path $TMP/n;
  fastcgi_temp_path $TMP/n; uwsgi_temp_path $TMP/n; scgi_temp_path $TMP/n;
  server { listen 127.0.0.1:$1 ssl; ssl_certificate $TMP/cert.pem;
    ssl_certificate_key $TMP/key.pem; ssl_protocols TLSv1.3;
    location / { default_type text/plain; return 200 "Hello, World!"; } } }
CONF
}

# server WRAPPER... : start the server under WRAPPER (may be empty), set SPID and PORT
server() {
    if [ "$WHO" = sockit ]; then
        "$@" "$BIN" serve http --tls --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
            --model epoll --workers 1 -q -b 127.0.0.1 -p 0 >"$TMP/s.out" 2>"$TMP/s.err" &
        SPID=$!
        i=0
        until grep -q 'listening on' "$TMP/s.out" 2>/dev/null; do
            i=$((i + 1)); [ $i -lt 300 ] || { echo "sockit did not start" >&2; exit 1; }
            sleep 0.1
        done
        PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/s.out")
    else
        PORT=$(free_port)
        nginx_conf "$PORT"
        "$@" nginx -c "$TMP/nginx.conf" -p "$TMP/n" 2>"$TMP/n.err" &
        SPID=$!
        i=0
        until curl -sk "https://127.0.0.1:$PORT/" >/dev/null 2>&1; do
            i=$((i + 1)); [ $i -lt 300 ] || { echo "nginx did not start" >&2; exit 1; }
            sleep 0.1
        done
    fi
}
load() { "$BIN" bench http "https://127.0.0.1:$PORT/" --insecure -c 1 -n "$1" --no-keepalive -q >/dev/null 2>&1; }
stop() { kill "$SPID"; wait "$SPID" || true; SPID=; }

for WHO in sockit nginx; do
    for n in $SMALL $((N + SMALL)); do
        server valgrind --tool=callgrind --callgrind-out-file="$TMP/$WHO.$n.cg"
        load "$n"
        stop
    done
    a=$(sed -n 's/^summary: //p' "$TMP/$WHO.$SMALL.cg")
    b=$(sed -n 's/^summary: //p' "$TMP/$WHO.$((N + SMALL)).cg")
    echo "$WHO $(((b - a) / N))" >>"$TMP/ir"

    server
    strace -f -c -o "$TMP/$WHO.strace" -p "$SPID" 2>/dev/null &
    TP=$!
    sleep 1
    load "$N"
    sleep 2.5 # lingering closes end
    kill -INT "$TP"
    wait "$TP" || true
    stop
done

echo "| server | instructions per full handshake | system calls per handshake (of which getpid) |"
echo "|---|---|---|"
for WHO in sockit nginx; do
    ir=$(awk -v w=$WHO '$1 == w { print $2 }' "$TMP/ir")
    sc=$(awk -v n="$N" '$NF == "total" { t = $(NF-2) } $NF == "getpid" { g = $4 } END { printf "%.1f (%.1f)", t / n, g / n }' "$TMP/$WHO.strace")
    echo "| $WHO | $ir | $sc |"
done
echo
for WHO in sockit nginx; do
    echo "$WHO, system calls per handshake:"
    awk -v n="$N" 'NR > 2 && $0 !~ /^-/ && $NF != "total" { e = (NF == 6) ? $5 : 0; printf "  %-14s %6.2f%s\n", $NF, $4 / n, e ? sprintf(" (%.2f failed)", e / n) : "" }' "$TMP/$WHO.strace" | head -14
done
