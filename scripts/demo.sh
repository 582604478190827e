#!/bin/sh
# demo.sh - the tour `make demo` runs (after installing deps and building):
# every concurrency model measured under the same load, for echo and http,
# as tables and as charts, ending with where the charts are (file:// URLs)
# and a three-line verdict: the fastest model per workload, and by how much.
# About a minute on a 2-core machine.
set -eu
cd "$(dirname "$0")/.."
S=${DEMO_SOCKIT:-build/sockit}
OUT=${DEMO_OUT:-demo-out}
DUR=${DEMO_DURATION:-1s}
CONNS_ECHO=${DEMO_CONNS_ECHO:-1,10,100}
CONNS_HTTP=${DEMO_CONNS_HTTP:-10,100}
LOG=$(mktemp "${TMPDIR:-/tmp}/sockit-demo.XXXXXX")
trap 'rm -f "$LOG" "$LOG".*' EXIT

# Run one `bench models`, show its table, keep its "fastest:" line.
measure() {
    key=$1
    shift
    rc=0
    $S bench models "$@" --out "$OUT" > "$LOG.out" || rc=$?
    cat "$LOG.out"
    sed -n 's/^fastest: //p' "$LOG.out" > "$LOG.$key"
    [ "$rc" -eq 0 ] || exit "$rc"
}

# The verdict line of one workload.
verdict() {
    if [ -s "$LOG.$2" ]; then
        printf '  %-10s %s\n' "$1" "$(cat "$LOG.$2")"
    else
        printf '  %-10s %s\n' "$1" "not measured here"
    fi
}

echo "== which models can carry which services here"
$S serve --list
echo

echo "== TCP echo, 64-byte messages: every model at $CONNS_ECHO connections"
measure echo echo --conns "$CONNS_ECHO" -d "$DUR"
echo

if $S serve --list | awk '$2 == "tcp" && $3 == "ok"' | grep -qw http; then
    echo "== HTTP hello world, keep-alive: every model at $CONNS_HTTP connections"
    measure http http --conns "$CONNS_HTTP" -d "$DUR"
    echo
else
    echo "== HTTP: no model here carries the http service yet; skipped"
    echo
fi

if $S serve --list | awk '$2 == "udp" && $3 == "ok"' | grep -qw echo; then
    echo "== UDP echo, 64-byte datagrams, 16 sockets with 16 in flight each"
    measure udp echo -u --conns 16 -P 16 -d "$DUR"
    echo
fi

echo "cpu/req is the server's own CPU time per reply (its rusage); compare the models"
echo "by it when the load generator, not the server, is the limit."
echo
echo "Charts (open in a browser):"
for f in "$OUT"/*.svg; do
    [ -e "$f" ] || continue
    abs=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
    echo "  file://$(printf '%s' "$abs" | sed 's/%/%25/g; s/ /%20/g')"
done
echo
echo "Verdict (the fastest model per workload, its best point against the next model's):"
verdict "TCP echo:" echo
verdict "HTTP:" http
verdict "UDP echo:" udp
