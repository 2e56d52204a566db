#!/usr/bin/env bash
# bench/profile.sh BUILD_DIR - where the time goes, per operation.
#
# Generates one case (default D=4096 N=50000, the size the targets of
# docs/METHOD.md section 9 name; set PROFILE_D / PROFILE_N), then samples
# each operation of bench_acthist with `perf record -e cpu-clock` (a
# software clock: this VM exposes no hardware counters) and prints the top
# functions by self time.  Without a working
# perf it falls back to valgrind --tool=callgrind on a small case.
# Needs bench/run.sh to have built BUILD_DIR/bench/ once (or builds it).
set -euo pipefail
BUILD=${1:-build}
D=${PROFILE_D:-4096}
N=${PROFILE_N:-50000}
TOP=${PROFILE_TOP:-8}
cd "$(dirname "$0")/.."
OUT=$BUILD/bench
FLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla ${OPT:--O2} -g -Iinclude"
mkdir -p "$OUT"
${CC:-cc} $FLAGS bench/gen_activations.c -o "$OUT/gen_activations" -lm
${CC:-cc} $FLAGS bench/bench_acthist.c "$BUILD/libacthist.a" -o "$OUT/bench_acthist" -lm -lpthread
B=$OUT/bench_acthist
TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/acthist-prof.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

use_perf=1
perf record -e cpu-clock -o "$TMP/t.data" true >/dev/null 2>&1 || use_perf=0
if [ $use_perf = 0 ]; then
    echo "perf record does not work here: callgrind on a small case instead" >&2
    D=${PROFILE_D:-1024}; N=${PROFILE_N:-5000}
fi

"$OUT/gen_activations" -n "$N" -d "$D" --seed 1 -o "$TMP/bg.npy"
"$OUT/gen_activations" -n 1000 -d "$D" --seed 2 --anomalous 0.1 -o "$TMP/q.npy"

profile() { # name, command...
    local name=$1; shift
    echo
    echo "== $name (D=$D N=$N): top $TOP functions by self time"
    if [ $use_perf = 1 ]; then
        perf record -e cpu-clock -o "$TMP/p.data" -- "$@" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; return; }
        perf report -i "$TMP/p.data" --no-children --stdio --sort symbol 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n "$TOP" || true
    else
        valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.out" -- "$@" >/dev/null 2>&1
        callgrind_annotate "$TMP/cg.out" 2>/dev/null | grep -E '^ *[0-9,]+ ' | head -n "$TOP" || true
    fi
}

# min-time 1 s: the timed calls, not the model load, dominate the samples
R="--reps 3 --min-time 1"
DEF=$("$B" default-bins)
profile "fit hist:$DEF (the default, streamed)" "$B" fit "$TMP/bg.npy" hist default "$TMP/h.model" --reps 1
profile "fit empirical (streamed)" "$B" fit "$TMP/bg.npy" empirical 0 "$TMP/e.model" --reps 1
profile "p-values + fused score, hist:$DEF, batch 1000" "$B" pvalues "$TMP/h.model" "$TMP/q.npy" --batches 1000 $R
profile "p-values + fused score, empirical, batch 1000" "$B" pvalues "$TMP/e.model" "$TMP/q.npy" --batches 1000 $R
# scans on histogram p-values: loading the 1.6 GB exact model would dominate
profile "individual + group scan (hist:$DEF p-values, M=1000)" "$B" scan "$TMP/h.model" "$TMP/q.npy" $R
