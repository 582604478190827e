#!/bin/sh
# demo.sh - the tour `make demo` runs (after installing deps and building):
# every concurrency model measured under the same load, for echo and http,
# as tables and as charts. About a minute on a 2-core machine.
set -eu
cd "$(dirname "$0")/.."
S=build/sockit
OUT=${DEMO_OUT:-demo-out}
DUR=${DEMO_DURATION:-1s}

echo "== which models can carry which services here"
$S serve --list
echo

echo "== TCP echo, 64-byte messages: every model at 1, 10 and 100 connections"
$S bench models echo --conns 1,10,100 -d "$DUR" --out "$OUT"
echo

if $S serve --list | awk '$2 == "tcp" && $3 == "ok"' | grep -qw http; then
    echo "== HTTP hello world, keep-alive: every model at 10 and 100 connections"
    $S bench models http --conns 10,100 -d "$DUR" --out "$OUT"
    echo
else
    echo "== HTTP: no model here carries the http service yet; skipped"
    echo
fi

if $S serve --list | awk '$2 == "udp" && $3 == "ok"' | grep -qw echo; then
    echo "== UDP echo, 64-byte datagrams, 16 sockets with 16 in flight each"
    $S bench models echo -u --conns 16 -P 16 -d "$DUR" --out "$OUT"
    echo
fi

echo "Charts (open in a browser):"
for f in "$OUT"/*.svg; do
    [ -e "$f" ] && echo "  $(pwd)/$f"
done
echo "cpu/req is the server's own CPU time per reply (its rusage); compare the models"
echo "by it when the load generator, not the server, is the limit."
