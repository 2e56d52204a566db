#!/bin/sh
# Allocation-failure sweep, the way SQLite tests out-of-memory paths: each
# command (fit in its variants, info, score, pvalues, scan-group, eval,
# plot-node, merge) runs under the test copy of the CLI (acthist-allocfail,
# built from tests/cli/alloc_fail.c) with ACTHIST_FAIL_ALLOC=n for
# n = 1, 2, ... until the n-th allocation is never reached, once with that
# allocation failing alone and once with every later one failing too.
# Every run in which it was reached must
#   - exit 1 with "out of memory" in its message (no crash, no other error),
#   - print nothing on standard output,
#   - leave its folder empty: no output file, no temporary,
#   - report no leak and no error under the sanitizer build (LeakSanitizer),
# or else, if the command recovers from the failure on its own (the group
# scan's memo is optional), give exactly the output of a run without
# failures.  Inputs are tiny so that the whole sweep takes seconds (about
# 20 s, 45 s under ASan); every failure point is exercised.  Prints per
# command the failure points exercised, then "N passed, N failed" (one
# check per command).
. "$(dirname "$0")/lib.sh"
AF=${ACTHIST%/*}/acthist-allocfail
if [ ! -x "$AF" ]; then
    fail "$AF is not built"
    done_tests
    exit 1
fi
# A sanitizer report must not hide behind exit status 1.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}exitcode=86
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}exitcode=86
export ASAN_OPTIONS UBSAN_OPTIONS
cd "$TMP"
mkdir in work
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(17)
n, D = 40, 3
x = np.maximum(r.normal(size=(n, D)) * np.arange(1, D + 1), 0).astype(np.float32)
x[r.random(n) < 0.3, 1] = 0.5            # an atom above zero
lab = (np.arange(n) % 2).astype(np.int64)
np.save("in/bg.npy", x); np.save("in/lab.npy", lab)
np.save("in/a.npy", x[:25]); np.save("in/la.npy", lab[:25])
np.save("in/b.npy", x[25:]); np.save("in/lb.npy", lab[25:])
y = r.normal(size=(6, D)).astype(np.float32) * 2
np.save("in/x.npy", y); np.save("in/xl.npy", np.array([0, 1, 2, 0, 1, 0], np.int64))
np.save("in/y.npy", y[::-1] * 3)
# sets whose fine grids take 0.3-0.5 MB each (8 nodes of 2,000-3,072
# bins): --fit-memory 1 counts them in two groups
g = np.maximum(r.normal(size=(12000, 8)), 0).astype(np.float32)
np.save("in/groups.npy", g); np.save("in/glab.npy", np.arange(12000) % 3)
PY
A=$ACTHIST
I=$TMP/in
# the models and shards the commands below read
$A fit -o in/m.ahm in/bg.npy --labels in/lab.npy 2>/dev/null &&
$A fit --basis pca --basis-components 2 -o in/mb.ahm in/bg.npy --labels in/lab.npy 2>/dev/null &&
$A fit --plan-only -o in/a.plan in/a.npy --labels in/la.npy 2>/dev/null &&
$A fit --plan-only -o in/b.plan in/b.npy --labels in/lb.npy 2>/dev/null &&
$A merge -o in/p.plan in/a.plan in/b.plan 2>/dev/null &&
$A fit --plan in/p.plan -o in/a.counts in/a.npy --labels in/la.npy 2>/dev/null &&
$A fit --plan in/p.plan -o in/b.counts in/b.npy --labels in/lb.npy 2>/dev/null ||
    fail "making the inputs"

# Timings differ from run to run; everything else must not.
normalize() { sed -E 's/[0-9.]+ s$/T s/; s/"seconds": [0-9.]+/"seconds": T/'; }

# sweep_mode NAME COMMAND...: in work/, after the reference run, fail
# allocation n = 1, 2, ... (and every later one when
# ACTHIST_FAIL_ALLOC_ALL=1) until it is not reached; sets points, recovered
# and bad.
sweep_mode() {
    name=$1; shift
    n=1 bad=0 recovered=0
    while :; do
        ACTHIST_FAIL_ALLOC=$n "$AF" "$@" >../out 2>../err
        rc=$?
        grep -q "^alloc_fail: allocation $n failed$" ../err || break
        why=""
        ls -A >../after
        if [ "$rc" -eq 0 ]; then
            # recovered on its own: the result must be the same
            recovered=$((recovered + 1))
            normalize <../out | cmp -s - ../ref.norm || why="recovered with other output"
            cmp -s ../after ../ref.files || why="recovered with other files"
            for f in $(cat ../after); do
                cmp -s "$f" "../ref/$f" || why="recovered with another $f"
            done
        elif [ "$rc" -ne 1 ]; then
            why="exit $rc"
        elif grep -q -e Sanitizer -e 'runtime error' ../err; then
            why="sanitizer report"
        elif ! grep -v '^alloc_fail:' ../err | grep -q 'out of memory'; then
            why="no 'out of memory' message"
        elif [ -s ../out ]; then
            why="output on standard output"
        elif [ -s ../after ]; then
            why="left $(tr '\n' ' ' <../after)"
        fi
        rm -f ./*
        if [ -n "$why" ]; then
            bad=$((bad + 1))
            if [ "$bad" -le 5 ]; then
                echo "FAIL: $name, allocation $n${ACTHIST_FAIL_ALLOC_ALL:+ and later}: $why" >&2
                grep -v '^alloc_fail:' ../err | head -n 20 >&2
            fi
        fi
        n=$((n + 1))
    done
    rm -f ./*
    points=$((n - 1))
    if [ "$rc" -ne 0 ]; then
        bad=$((bad + 1))
        echo "FAIL: $name: exit $rc after the last allocation ($points)" >&2
    fi
}

# sweep NAME COMMAND...: run COMMAND (arguments after the subcommand) in
# the empty folder work/, with each allocation failing alone and then with
# every later one failing too.  What a run without failures writes (on
# standard output and in work/) is the reference.
sweep() {
    name=$1; shift
    cd work
    rm -rf ./* ../ref
    if ! "$AF" "$@" >../ref.out 2>../ref.err; then
        fail "$name: fails without injected failures"; cat ../ref.err >&2
        cd ..; return
    fi
    normalize <../ref.out >../ref.norm
    ls -A >../ref.files
    mkdir ../ref
    [ -s ../ref.files ] && mv ./* ../ref/
    sweep_mode "$name" "$@"
    p1=$points r1=$recovered b1=$bad
    ACTHIST_FAIL_ALLOC_ALL=1 sweep_mode "$name" "$@"
    [ "$points" -eq "$p1" ] || { bad=$((bad + 1)); echo "FAIL: $name: $p1 allocations, then $points" >&2; }
    if [ "$b1" -eq 0 ] && [ "$bad" -eq 0 ]; then pass; else
        fail "$name: $b1 + $bad failure points went wrong"; fi
    echo "$name: $p1 failure points, $((b1 + bad)) wrong (recovered: $r1 alone, $recovered with all later ones failing too)"
    cd ..
}

sweep "fit --chunk-rows 16" fit --chunk-rows 16 -o m.ahm "$I/bg.npy" --labels "$I/lab.npy"
sweep "fit --fit-memory 1" fit --fit-memory 1 -o m.ahm "$I/groups.npy" --labels "$I/glab.npy"
sweep "fit --method empirical" fit --method empirical -o m.ahm "$I/bg.npy"
sweep "fit --method kde" fit --method kde -o m.ahm "$I/bg.npy" --labels "$I/lab.npy"
sweep "fit --binning quantile --bins auto" fit --binning quantile --bins auto -o m.ahm "$I/bg.npy"
sweep "fit --basis pca" fit --basis pca --basis-components 2 -o m.ahm "$I/bg.npy" --labels "$I/lab.npy"
sweep "fit --basis pca (pooled)" fit --basis pca -o m.ahm "$I/bg.npy"
sweep "info (basis)" info "$I/mb.ahm"
sweep "score (basis)" score "$I/mb.ahm" "$I/x.npy" --labels "$I/xl.npy" -o s.csv
sweep "pvalues (basis)" pvalues "$I/mb.ahm" "$I/x.npy" --labels "$I/xl.npy" -o p.npy
sweep "fit --threads 2" fit --threads 2 -o m.ahm "$I/bg.npy" --labels "$I/lab.npy"
sweep "fit --plan-only" fit --plan-only -o a.plan "$I/a.npy" --labels "$I/la.npy"
sweep "fit --plan" fit --plan "$I/p.plan" -o a.counts "$I/a.npy" --labels "$I/la.npy"
sweep "info" info "$I/m.ahm"
sweep "info --json" info --json "$I/m.ahm"
sweep "info (counts)" info "$I/a.counts"
sweep "score --chunk-rows 4" score --chunk-rows 4 "$I/m.ahm" "$I/x.npy" --labels "$I/xl.npy" -o s.csv
sweep "score --tail both --json" score --tail both --json "$I/m.ahm" "$I/x.npy" --labels "$I/xl.npy"
sweep "pvalues" pvalues "$I/m.ahm" "$I/x.npy" --labels "$I/xl.npy" -o p.npy
sweep "scan-group" scan-group "$I/m.ahm" "$I/x.npy" --labels "$I/xl.npy" --restarts 3
sweep "scan-group --json --tail both" scan-group --json --tail both "$I/m.ahm" "$I/x.npy" --labels "$I/xl.npy"
sweep "eval --roc --plot" eval "$I/m.ahm" --clean "$I/x.npy" --clean-labels "$I/xl.npy" --anomalous "$I/y.npy" --anomalous-labels "$I/xl.npy" --roc r.csv --plot r.svg
sweep "eval --group --json" eval --json "$I/m.ahm" --clean "$I/x.npy" --clean-labels "$I/xl.npy" --anomalous "$I/y.npy" --anomalous-labels "$I/xl.npy" --group 4 --fraction 0.5 --runs 3 --restarts 2
sweep "calibrate" calibrate "$I/m.ahm" "$I/x.npy" --labels "$I/xl.npy" --fpr 0.1 -o c.ahm
sweep "fit --fpr" fit --fpr 0.1 --folds 3 -o f.ahm "$I/bg.npy" --labels "$I/lab.npy"
sweep "plot-node" plot-node "$I/m.ahm" --node 1 --label 1 --input "$I/x.npy" -o p.svg
sweep "merge (plans)" merge -o p.plan "$I/a.plan" "$I/b.plan"
sweep "merge (counts)" merge -o m.ahm "$I/a.counts" "$I/b.counts"
sweep "merge --counts" merge --counts -o ab.counts "$I/a.counts" "$I/b.counts"
done_tests
