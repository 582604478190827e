# lib.sh - what the bench scripts share, sourced by them (`. bench/lib.sh`
# after `cd` to the top of the tree): a temporary directory and the PIDs to
# stop on exit, a free loopback port, the port from a sockit server's
# "listening on" line.
#
#   tmp        a fresh directory, removed on exit
#   track PID  stop PID on exit (also on failure)

tmp=$(mktemp -d)
pids=""
track() { pids="$pids $1"; }
bench_cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap bench_cleanup EXIT INT TERM

# A loopback port free at the time of asking (for servers without -p 0).
free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sockit_port LOGFILE: the port a sockit server wrote on its first line,
# waiting up to 5 s for it; exits the script when the server did not start.
sockit_port() {
    for _ in $(seq 50); do
        p=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return; }
        sleep 0.1
    done
    echo "$(basename "$0"): a server did not start: $(cat "$1")" >&2
    exit 1
}
