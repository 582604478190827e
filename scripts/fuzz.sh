#!/bin/sh
# fuzz.sh [--selftest] [SECONDS] - build the libFuzzer targets (clang, ASan +
# UBSan with -fno-sanitize-recover=all, leak checks on) and run each for
# SECONDS (default 20) on a copy of its corpus, FUZZ_JOBS targets at a time
# (default 1: one after another; the next starts as soon as one is done).
#
# Any sanitizer report, leak, crash, timeout or violated property is a
# finding: libFuzzer saves the input as build/fuzz/artifacts/TARGET-crash-...
# (or leak-, timeout-, oom-), the other targets still run, and the script
# exits 1 at the end, naming each finding. 0: nothing found. 2: a build or
# harness error.
#
# --selftest first runs fuzz/selftest/fuzz_planted.c with each planted bug
# (UB, leak, abort) and fails (exit 3) unless every one is caught and saved:
# a harness that would miss them proves nothing.
#
# Environment: FUZZ_TARGETS="fuzz_http fuzz_chat" (default: every
# fuzz/fuzz_*.c; selftest/fuzz_planted names the self-test target), FUZZ_RUNS=N (also stop a target after N executions),
# FUZZ_NICE=19 (run under nice), FUZZ_JOBS=2 (targets run at once; make
# fuzz-smoke runs two), FUZZ_OUT (default build/fuzz). Each run's
# log is FUZZ_OUT/logs/TARGET.log; its executions are summed up at the end.
# A campaign resumes: the corpus a target grows is FUZZ_OUT/corpus-NAME (the
# seeds in fuzz/corpus/NAME are only read), kept from one run to the next, and
# every run appends a line (UTC start, target, executions, seconds, runs/s,
# cov, ft, corpus, verdict) to FUZZ_OUT/campaign.tsv.
set -u
cd "$(dirname "$0")/.."

selftest=0
if [ "${1:-}" = "--selftest" ]; then
    selftest=1
    shift
fi
secs=${1:-20}
out=${FUZZ_OUT:-build/fuzz}
runs=${FUZZ_RUNS:-}
nice=${FUZZ_NICE:-}
jobs=${FUZZ_JOBS:-1}
command -v clang >/dev/null || { echo "fuzz: clang is needed (apt-get install clang)"; exit 2; }
mkdir -p "$out/artifacts" "$out/logs"

# run NAME BINARY CORPUS... -> 0 clean, 1 a finding
run() {
    name=$1
    bin=$2
    shift 2
    log="$out/logs/$name.log"
    before=$(ls "$out/artifacts" | grep -c "^$name-" || true)
    t0=$(date +%s)
    # shellcheck disable=SC2086
    ${nice:+nice -n "$nice"} "$bin" -max_total_time="$secs" ${runs:+-runs="$runs"} -timeout=25 \
        -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
        -artifact_prefix="$out/artifacts/$name-" "$@" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - t0))
    after=$(ls "$out/artifacts" | grep -c "^$name-" || true)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    # The last status line: "#N  DONE  cov: C ft: F corp: K/..."
    st=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
    cov=$(echo "$st" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$st" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$st" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    verdict=clean
    [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ] && verdict="finding(exit $rc)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u -d "@$t0" +%FT%TZ)" "$name" \
        "${execs:-?}" "$took" "$((${execs:-0} / (took > 0 ? took : 1)))" "${cov:-?}" "${ft:-?}" \
        "${corp:-?}" "$verdict" >>"$out/campaign.tsv"
    if [ "$rc" -ne 0 ] || [ "$after" -ne "$before" ]; then
        echo "fuzz: $name: FINDING (exit $rc, ${execs:-?} runs in ${took}s); log $log:"
        grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -n 8 | sed 's/^/    /'
        return 1
    fi
    echo "fuzz: $name: ${execs:-?} runs in ${took}s, no finding"
    return 0
}

if [ "$selftest" -eq 1 ]; then
    make -s --no-print-directory "$out/selftest/fuzz_planted" FUZZ_DIR="$out" ||
        { echo "fuzz: selftest build failed"; exit 2; }
    st=$(mktemp -d)
    for kind in ub leak abort; do
        mkdir -p "$st/$kind"
        if SK_FUZZ_PLANT=$kind run "planted-$kind" "$out/selftest/fuzz_planted" "$st/$kind" \
            >"$st/out" 2>&1; then
            cat "$st/out"
            echo "fuzz: selftest: the planted '$kind' bug was NOT caught: the harness is broken"
            rm -rf "$st"
            exit 3
        fi
        if ! ls "$out/artifacts" | grep -q "^planted-$kind-"; then
            echo "fuzz: selftest: the planted '$kind' bug left no artifact"
            rm -rf "$st"
            exit 3
        fi
        rm -f "$out/artifacts/planted-$kind-"*
        echo "fuzz: selftest: planted '$kind' bug caught and saved"
    done
    rm -rf "$st"
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=$FUZZ_TARGETS
else
    targets=$(for f in fuzz/fuzz_*.c; do basename "$f" .c; done)
fi
# bin TARGET: fuzz_x is built from fuzz/fuzz_x.c, selftest/fuzz_x from fuzz/selftest/.
bin() {
    case $1 in
    selftest/*) echo "$out/$1" ;;
    *) echo "$out/bin/$1" ;;
    esac
}
bins=""
for t in $targets; do bins="$bins $(bin "$t")"; done
echo "fuzz: building$bins"
# shellcheck disable=SC2086
make -s --no-print-directory -j2 FUZZ_DIR="$out" $bins || { echo "fuzz: build failed"; exit 2; }

# fuzz_one TARGET: run it on its corpus, its verdict into $out/logs/NAME.result;
# a finding also names it in $out/found.
fuzz_one() {
    n=${1##*/}
    c=${n#fuzz_}
    mkdir -p "$out/corpus-$c"
    if [ -d "fuzz/corpus/$c" ]; then
        set -- "$1" "$out/corpus-$c" "fuzz/corpus/$c"
    else
        set -- "$1" "$out/corpus-$c"
    fi
    b=$(bin "$1")
    shift
    run "$n" "$b" "$@" >"$out/logs/$n.result" 2>&1 || echo "$n" >>"$claims/found"
}
# This run's claims and findings (another run may share FUZZ_OUT with other
# targets).
claims=$(mktemp -d "$out/claims.XXXXXX")
# FUZZ_JOBS workers; each takes the next target nobody has claimed (mkdir is
# atomic), so a fast target's worker moves on without waiting for a slow one;
# each verdict is printed when its target is done.
worker() {
    for t in $targets; do
        mkdir "$claims/${t##*/}" 2>/dev/null || continue
        fuzz_one "$t"
        cat "$out/logs/${t##*/}.result"
    done
}
w=0
while [ "$w" -lt "$jobs" ]; do
    worker &
    w=$((w + 1))
done
wait
found=""
[ -f "$claims/found" ] && found=" $(sort "$claims/found" | tr '\n' ' ' | sed 's/ $//')"
rm -rf "$claims"
if [ -n "$found" ]; then
    echo "fuzz: findings in:$found (inputs in $out/artifacts/; add each to fuzz/corpus/NAME/)"
    exit 1
fi
echo "fuzz: no findings"
exit 0
