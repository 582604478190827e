#!/bin/sh
# check-layers.sh - the layering rules that `make test` enforces (see
# docs/ARCHITECTURE.md): a service (src/service/) includes only the service
# contract (service.h, conn.h), the net core's headers and its own (never a
# model, the server or TLS); TLS (src/tls/) only the net core's and tls.h;
# the load generator (src/bench/) only its own headers, TLS and the net core
# (never a model, a service or the server: `bench models` runs `sockit serve`
# as a child); the net core (src/net/) includes nothing of sockit above it.
# Any other include is printed with its file and line, and the check fails.
set -u
cd "$(dirname "$0")/.." || exit 2

NET='sockit/(acl|addr|buf|error|proxy|relay|resolve|sock|spawn|util)\.h|net/[a-z_]+\.h'
# The services' own public headers: their pure parsers (http.h, chat.h, ws.h).
SERVICE="sockit/(service|conn|http|chat|ws)\.h|$NET|[a-z_]+\.h"

bad=0
check() { # DIR ALLOWED-REGEX WHAT
    for f in "$1"/*.[ch]; do
        # "x.h", and <x/y.h> naming one of sockit's own parts (system
        # headers pass).
        grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*("|<(sockit|model|cli|client|bench|tool|service|net)/)' "$f" |
            sed -E 's/^([0-9]*):[^"<]*["<]([^">]*)[">].*/\1 \2/' |
            while read -r line inc; do
                if ! echo "$inc" | grep -Eqx "$2"; then
                    echo "check-layers: $f:$line: includes \"$inc\": $3" >&2
                    echo x
                fi
            done
    done
}
out=$(check src/service "$SERVICE" "a service includes only service.h, conn.h, net headers and its own (never a model or server header)")
[ -n "$out" ] && bad=1
out=$(check src/net "$NET" "the net core includes nothing of sockit above it")
[ -n "$out" ] && bad=1
out=$(check src/bench "sockit/(bench|chatbench|hist|tls)\.h|$NET" "bench includes only its own headers, TLS and the net core's")
[ -n "$out" ] && bad=1
if [ -d src/tls ]; then
    out=$(check src/tls "sockit/tls\.h|$NET" "TLS includes only the net core's headers and its own")
    [ -n "$out" ] && bad=1
fi
# A service's own header ("x.h") must be one of src/service/.
for f in src/service/*.[ch]; do
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([a-z_]*\.h\)".*/\1/p' "$f"); do
        if [ ! -f "src/service/$inc" ]; then
            echo "check-layers: $f: includes \"$inc\", which is not a header of src/service/" >&2
            bad=1
        fi
    done
done
if [ "$bad" -ne 0 ]; then
    echo "check-layers: FAILED: a layer includes a header above it" >&2
    exit 1
fi
echo "check-layers: ok (src/service, src/bench, src/tls, src/net)"
