#!/bin/sh
# bench/chat_cluster_hop.sh - the added latency of the Redis hop in a chat
# cluster (serve chat --cluster): two sockit chat servers on one Redis; the
# same load (sockit bench chat, one sender) measured with every receiver on
# the sender's server (local delivery) and with every receiver on the other
# server (--via: each delivery goes through Redis pub/sub), in one run.
# Usage: [JSON=1] bench/chat_cluster_hop.sh [MEMBERS] [RATE] [DURATION] [MODEL]
set -eu
S=${SOCKIT:-build/sockit}
MEMBERS=${1:-100}
RATE=${2:-500}
DUR=${3:-5s}
MODEL=${4:-epoll}
DIR=$(mktemp -d)
RP=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$DIR" >/dev/null 2>&1 &
RPID=$!
A= B=
trap 'kill $A $B $RPID 2>/dev/null; rm -rf "$DIR"' EXIT
sleep 0.3
OPTS="--flood-lines 0 --flood-bytes 0 --max-clients 5000 --history 0 --cluster redis://127.0.0.1:$RP"
$S serve chat -p 0 --model "$MODEL" $OPTS >"$DIR/a" 2>/dev/null &
A=$!
$S serve chat -p 0 --model "$MODEL" $OPTS >"$DIR/b" 2>/dev/null &
B=$!
sleep 0.5
port() { head -1 "$1" | sed -E 's/.*127\.0\.0\.1:([0-9]+).*/\1/'; }
PA=$(port "$DIR/a")
PB=$(port "$DIR/b")
FMT=-q
[ -n "${JSON:-}" ] && FMT=--json # JSON=1: one JSON object per line (p50, p90, p99...)
LOAD="--members $MEMBERS --senders 1 --rate $RATE -d $DUR $FMT"
printf 'local (one server):  '
$S bench chat 127.0.0.1 "$PA" $LOAD --nick-prefix l
printf 'through Redis (--via): '
$S bench chat 127.0.0.1 "$PA" $LOAD --nick-prefix r --via "127.0.0.1:$PB"
