#!/bin/sh
# tls_nginx.sh - HTTPS Hello World: sockit serve http --tls against nginx
# (Debian nginx-light) with the same ECDSA P-256 certificate, TLS 1.3, one
# worker each, loaded by wrk in alternating runs on this machine:
#
#   keep-alive:  wrk -t1 -c100            (req/s, server CPU us per request)
#   handshakes:  wrk -t1 -c50 'Connection: close' (a new TLS connection per
#                request: connections/s, server CPU us per connection)
#
# or by `sockit bench http https://...` with the same connections
# (-c100; -c50 --no-keepalive: a full handshake per request, no session
# resumed), or both loaders in turn:
#
#   bench/tls_nginx.sh [SOCKIT] [SECS] [ROUNDS] [wrk|sockit|both]
#
# SOCKIT defaults to build/sockit (a release build), SECS to 3, ROUNDS to 2,
# the load to wrk.
# Server CPU is utime+stime from /proc over the run. Ratios are sockit /
# nginx within one run. Only 127.0.0.1; every process started here is
# stopped by PID.
set -eu
cd "$(dirname "$0")/.."
BIN=${1:-build/sockit}
SECS=${2:-3}
ROUNDS=${3:-2}
LOADS=${4:-wrk}
[ "$LOADS" = both ] && LOADS="wrk sockit"
TMP=$(mktemp -d)
SPID=
NPID=
cleanup() {
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
    [ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
command -v nginx >/dev/null || { echo "tls_nginx: nginx (nginx-light) is needed" >&2; exit 1; }
command -v wrk >/dev/null || { echo "tls_nginx: wrk is needed" >&2; exit 1; }

"$BIN" cert --name 127.0.0.1 --name localhost --out "$TMP" >/dev/null 2>&1

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
NPORT=$(free_port)
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process off;
error_log $TMP/nginx/error.log crit;
pid $TMP/nginx/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx;
    proxy_temp_path $TMP/nginx;
    fastcgi_temp_path $TMP/nginx;
    uwsgi_temp_path $TMP/nginx;
    scgi_temp_path $TMP/nginx;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$NPORT ssl;
        ssl_certificate $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        ssl_protocols TLSv1.3;
        location / { default_type text/plain; return 200 "Hello, World!"; }
    }
}
CONF
nginx -c "$TMP/nginx.conf" -p "$TMP/nginx" &
NPID=$!
"$BIN" serve http --tls --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" --model epoll \
    --workers 1 -q -b 127.0.0.1 -p 0 >"$TMP/sockit.out" 2>"$TMP/sockit.err" &
SPID=$!
i=0
until grep -q 'listening on' "$TMP/sockit.out" 2>/dev/null && curl -sk "https://127.0.0.1:$NPORT/" >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "servers did not start" >&2; cat "$TMP/sockit.err" "$TMP/nginx/error.log" >&2; exit 1; }
    sleep 0.1
done
SPORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/sockit.out")

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick=$(getconf CLK_TCK)

# one NAME PID PORT MODE LOAD: one run, prints "NAME MODE-LOAD rate cpu_us_per_request"
one() {
    c0=$(cpu "$2")
    if [ "$5" = sockit ]; then
        if [ "$4" = keepalive ]; then
            "$BIN" bench http "https://127.0.0.1:$3/" --insecure -c100 -d"${SECS}s" --json \
                >"$TMP/load" 2>/dev/null || true
        else
            "$BIN" bench http "https://127.0.0.1:$3/" --insecure -c50 -d"${SECS}s" --json \
                --no-keepalive >"$TMP/load" 2>/dev/null || true
        fi
        c1=$(cpu "$2")
        reqs=$(sed -n 's/.*"requests": \([0-9]*\),.*/\1/p' "$TMP/load")
    else
        if [ "$4" = keepalive ]; then
            wrk -t1 -c100 -d"${SECS}s" "https://127.0.0.1:$3/" >"$TMP/load" 2>&1
        else
            wrk -t1 -c50 -d"${SECS}s" -H 'Connection: close' "https://127.0.0.1:$3/" >"$TMP/load" 2>&1
        fi
        c1=$(cpu "$2")
        reqs=$(awk '/requests in/ { print $1 }' "$TMP/load")
    fi
    reqs=${reqs:-0}
    awk -v n="$1" -v m="$4-$5" -v r="$reqs" -v s="$SECS" -v c="$((c1 - c0))" -v t="$tick" 'BEGIN {
        printf "%s %s %.0f %.1f\n", n, m, r / s, r ? c / t * 1e6 / r : 0 }'
}

: >"$TMP/res"
for load in $LOADS; do
    for mode in keepalive handshake; do
        r=0
        while [ $r -lt "$ROUNDS" ]; do
            one nginx "$NPID" "$NPORT" "$mode" "$load" >>"$TMP/res"
            one sockit "$SPID" "$SPORT" "$mode" "$load" >>"$TMP/res"
            r=$((r + 1))
        done
    done
done
echo "| server | load | req/s (each round) | server CPU us/request | mean req/s | sockit/nginx |"
echo "|---|---|---|---|---|---|"
awk -v loads="$LOADS" '{ k = $1 " " $2; rate[k] = rate[k] (rate[k] ? ", " : "") $3; cpu[k] = cpu[k] (cpu[k] ? ", " : "") $4;
       sum[k] += $3; n[k]++ }
     END {
       nl = split(loads, ls, " ")
       nm = 0
       for (l = 1; l <= nl; l++) { modes[++nm] = "keepalive-" ls[l]; modes[++nm] = "handshake-" ls[l] }
       for (i = 1; i <= nm; i++) {
           m = modes[i]
           if (n["nginx " m] == 0) continue
           ld = m; sub(/^[a-z]*-/, "", ld)
           for (j = 1; j <= 2; j++) {
               s = j == 1 ? "nginx" : "sockit"; k = s " " m
               ratio = s == "sockit" ? sprintf("%.2f", (sum[k] / n[k]) / (sum["nginx " m] / n["nginx " m])) : ""
               printf "| %s | %s: %s | %s | %s | %.0f | %s |\n", s, ld, m ~ /^keepalive/ ? "keep-alive, 100 conns" : "new TLS connection per request, 50 conns", rate[k], cpu[k], sum[k] / n[k], ratio
           }
       }
     }' "$TMP/res"
