#!/bin/sh
# fuzz.sh - build every fuzz/fuzz_*.c with clang's libFuzzer and run each for
# N seconds (default 20) on a copy of its corpus; crashes land in build/fuzz/.
set -eu
secs=${1:-20}
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)"; exit 1; }
out=build/fuzz
mkdir -p "$out"
src=$(ls src/net/*.c src/service/*.c src/model/*.c src/client/*.c src/tool/*.c src/bench/*.c src/tls/*.c 2>/dev/null || true)
uring=$(pkg-config --exists liburing && echo "-DSK_HAVE_URING -luring" || true)
ssl=$(pkg-config --libs openssl 2>/dev/null || echo "-lssl -lcrypto")
for f in fuzz/fuzz_*.c; do
    n=$(basename "$f" .c)
    echo "fuzz: building $n"
    # shellcheck disable=SC2086
    clang -std=c17 -D_GNU_SOURCE -g -O1 -Iinclude -Isrc -fsanitize=fuzzer,address,undefined \
        -o "$out/$n" "$f" $src $uring $ssl -pthread -lm
    corpus="$out/corpus-${n#fuzz_}"
    mkdir -p "$corpus"
    cp -n fuzz/corpus/"${n#fuzz_}"/* "$corpus"/ 2>/dev/null || true
    (cd "$out" && ./"$n" -max_total_time="$secs" -artifact_prefix=./"$n"- \
        "corpus-${n#fuzz_}" ../../fuzz/corpus/"${n#fuzz_}")
done
