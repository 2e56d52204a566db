#!/bin/sh
# Fitting in shards from the command line: fit --plan-only, merge, fit
# --plan, merge gives the bytes of one fit (pooled and conditional, several
# files per shard, merging in a tree); info on shards; every refusal exits
# non-zero with a message and leaves no output behind.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TMP"
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(11)
n, D = 1300, 6
x = np.maximum(r.normal(size=(n, D)) * np.arange(1, D + 1), 0).astype(np.float32)
x[r.random(n) < 0.1, 2] = 1.5            # an atom above zero
lab = r.integers(0, 4, n).astype(np.int64)
cuts = [0, 200, 210, 700, n]             # shard 1 is two files
for i in range(4):
    np.save(f"x{i}.npy", x[cuts[i]:cuts[i + 1]])
    np.save(f"l{i}.npy", lab[cuts[i]:cuts[i + 1]])
np.save("x.npy", x); np.save("l.npy", lab)
np.save("narrow.npy", x[:50, :5])
PY
A=$ACTHIST

# three shards: {x0, x1}, {x2}, {x3}
shards() { # $1: extra fit options, $2: "labels" or empty
    opts=$1 withlab=$2
    set -- "x0.npy x1.npy" "x2.npy" "x3.npy"
    i=0
    for files in "$@"; do
        labs=""
        if [ -n "$withlab" ]; then
            for f in $files; do labs="$labs --labels l${f#x}"; done
        fi
        check "plan shard $i" $A fit $opts --plan-only -o p$i.plan $files $labs
        i=$((i + 1))
    done
    check "merge plans" $A merge -o all.plan p2.plan p0.plan p1.plan
    i=0
    for files in "$@"; do
        labs=""
        if [ -n "$withlab" ]; then
            for f in $files; do labs="$labs --labels l${f#x}"; done
        fi
        check "count shard $i" $A fit --plan all.plan -o c$i.counts $files $labs
        i=$((i + 1))
    done
}

for opts in "" "--bins 64" "--bins 7 --tail lower"; do
    shards "$opts" ""
    check "merge counts ($opts)" $A merge -o merged.ahm c1.counts c0.counts c2.counts
    check "one fit ($opts)" $A fit $opts -o one.ahm x.npy
    cmp -s merged.ahm one.ahm && pass || fail "pooled, '$opts': merged model differs from one fit"
done

shards "" labels
check "merge counts in a tree (1)" $A merge --counts -o c01.counts c0.counts c1.counts
check "merge counts in a tree (2)" $A merge -o merged.ahm c2.counts c01.counts
check "one conditional fit" $A fit -o one.ahm x.npy --labels l.npy
cmp -s merged.ahm one.ahm && pass || fail "conditional: merged model differs from one fit"
check "p-values of the merged model" $A pvalues merged.ahm x2.npy --labels l2.npy -o pm.npy
check "p-values of one fit" $A pvalues one.ahm x2.npy --labels l2.npy -o po.npy
cmp -s pm.npy po.npy && pass || fail "p-values differ"

check "info plan" $A info all.plan
grep -q "kind:       plan" "$TMP/out" && pass || fail "info does not name a plan"
check "info counts json" $A info --json c01.counts
$PY -c "
import json; d = json.load(open('$TMP/out'))
assert d['kind'] == 'counts' and d['rows'] == 700 and d['plan_rows'] == 1300 and d['labels'] == 4 and d['nodes'] == 6, d
" && pass || fail "info --json of counts"

# fit --threads: slices fitted as shards in threads
for t in 2 3 7; do
    check "fit --threads $t" $A fit --threads $t -o th.ahm x0.npy x1.npy x2.npy x3.npy --labels l0.npy --labels l1.npy --labels l2.npy --labels l3.npy
    cmp -s th.ahm one.ahm && pass || fail "fit --threads $t differs from one thread"
done
check "fit --threads 2 --bins 64" $A fit --threads 2 --bins 64 --tail lower -o th64.ahm x.npy
check "fit --bins 64" $A fit --bins 64 --tail lower -o one64.ahm x.npy
cmp -s th64.ahm one64.ahm && pass || fail "fit --threads 2 --bins 64 differs"
$PY -c "
import numpy as np
x = np.load('x3.npy'); x[550, 1] = np.nan; np.save('xnan.npy', x)
"
expect_error "a NaN in the last thread's slice" 1 "xnan.npy: row 550, column 1: NaN" th.x $A fit --threads 3 -o th.x x0.npy xnan.npy
expect_error "--threads with quantile bins" 2 "equal-width" th.x $A fit --threads 2 --binning quantile -o th.x x.npy
expect_error "--threads with auto bins" 2 "equal-width" th.x $A fit --threads 2 --bins auto -o th.x x.npy
expect_error "--threads 0" 2 "--threads" th.x $A fit --threads 0 -o th.x x.npy
expect_error "--threads with --plan-only" 2 "do not go together" th.x $A fit --threads 2 --plan-only -o th.x x.npy

# refusals
expect_error "plan and counts" 2 "merge plans with plans" out.x $A merge -o out.x all.plan c0.counts
expect_error "the same file twice" 2 "given twice" out.x $A merge -o out.x c0.counts ./c0.counts c1.counts c2.counts
expect_error "a shard missing" 1 "cover 810 of the plan's 1300 rows: a shard is missing" out.x $A merge -o out.x c0.counts c2.counts
cp c0.counts copy.counts
expect_error "a shard counted twice" 1 "counted twice" out.x $A merge -o out.x c0.counts copy.counts c1.counts c2.counts
expect_error "counts of another plan" 2 "different plans" out.x sh -c "$A fit --plan p0.plan -o other.counts x0.npy x1.npy --labels l0.npy --labels l1.npy 2>/dev/null && $A merge -o out.x other.counts c1.counts"
expect_error "a shard outside its plan" 1 "outside the plan's range" out.x $A fit --plan p2.plan -o out.x x0.npy x1.npy --labels l0.npy --labels l1.npy
expect_error "no labels against a conditional plan" 2 "has labels and this shard none" out.x $A fit --plan all.plan -o out.x x3.npy
expect_error "other node count" 1 "plan has 6 nodes, the shard 5" out.x $A fit --plan all.plan -o out.x narrow.npy
expect_error "fit options with --plan" 2 "come from the plan" out.x $A fit --plan all.plan --bins 9 -o out.x x3.npy --labels l3.npy
expect_error "counts as the plan" 2 "not a plan" out.x $A fit --plan c0.counts -o out.x x3.npy --labels l3.npy
expect_error "--counts of plans" 2 "is a plan" out.x $A merge --counts -o out.x p0.plan p1.plan
expect_error "empirical shards" 2 "histogram method" out.x $A fit --method empirical --plan-only -o out.x x0.npy
check "a plan of 64 bins" $A fit --bins 64 --tail two --plan-only -o p64.plan x3.npy
expect_error "plans of other bins" 2 "different bin counts" out.x $A merge -o out.x p0.plan p64.plan
expect_error "a model is not a shard" 1 "one.ahm: not an acthist shard" out.x $A merge -o out.x one.ahm
head -c 1000 all.plan > cut.plan
expect_error "a truncated plan" 1 "cut.plan: truncated or extended shard" out.x $A merge -o out.x cut.plan p0.plan
expect_error "a truncated plan (info)" 1 "cut.plan: truncated" - $A info cut.plan
printf 'garbage!' > junk.bin
expect_error "info on neither" 1 "junk.bin: neither an acthist model nor a shard" - $A info junk.bin
expect_error "no -o" 2 "missing -o" - $A merge c0.counts
expect_error "unwritable output" 1 "cannot (create|write)" /nonexistent/dir/m.ahm $A merge -o /nonexistent/dir/m.ahm c0.counts c1.counts c2.counts
# A shard merged twice, with the rows adding up to the plan's: the merge
# refuses it (issue 17: a copy of a file, or the same rows again).
$PY -c "
import numpy as np
x = np.load('x.npy'); np.save('h0.npy', x[:650]); np.save('h1.npy', x[650:])
y = x[650:].copy(); y[5, 3] = y[6, 3] if y[6, 3] != y[5, 3] else y[7, 3]
np.save('h1b.npy', y)
"
check "plan half 0" $A fit --plan-only -o h0.plan h0.npy
check "plan half 1" $A fit --plan-only -o h1.plan h1.npy
cp h0.plan h0copy.plan
expect_error "a copy of a plan" 1 "h0copy.plan: a shard of 650 rows is in this merge twice \(planned twice" out.x $A merge -o out.x h0.plan h0copy.plan
check "plan half 0 again" $A fit --plan-only -o h0again.plan h0.npy
expect_error "a shard planned twice" 1 "planned twice" out.x $A merge -o out.x h1.plan h0.plan h0again.plan
check "merge the halves' plans" $A merge -o h.plan h0.plan h1.plan
check "count half 0" $A fit --plan h.plan -o h0.counts h0.npy
cp h0.counts h0copy.counts
expect_error "a copy of counts, the other half never counted" 1 "h0copy.counts: a shard of 650 rows is in this merge twice \(counted twice" out.x $A merge -o out.x h0.counts h0copy.counts
expect_error "a copy of counts, --counts" 1 "counted twice" out.x $A merge --counts -o out.x h0.counts h0copy.counts
check "count half 0 again" $A fit --plan h.plan -o h0again.counts h0.npy
expect_error "a shard counted twice" 1 "counted twice" out.x $A merge -o out.x h0again.counts h0.counts
check "count half 1, a value changed" $A fit --plan h.plan -o h1b.counts h1b.npy
expect_error "counts of other rows than planned" 1 "not the rows the plan was made from" out.x $A merge -o out.x h0.counts h1b.counts
check "count half 1" $A fit --plan h.plan -o h1.counts h1.npy
check "merge the halves' counts" $A merge -o h.ahm h1.counts h0.counts
check "one pooled fit" $A fit -o hone.ahm x.npy
cmp -s h.ahm hone.ahm && pass || fail "halves: merged model differs from one fit"
# format 1.0 shard files do not say which rows they hold: they load and
# finish alone, and merging them is refused
cp "$ROOT/fuzz/corpus/shard/plan_pooled.shard" old.plan
cp old.plan old2.plan
check "info on a format 1.0 plan" $A info old.plan
expect_error "merging format 1.0 plans" 1 "format 1.0" out.x $A merge -o out.x old.plan old2.plan
check "a format 1.0 counts file finishes alone" $A merge -o old.ahm "$ROOT/fuzz/corpus/shard/counts_pooled_all.shard"
check "merge --help" $A merge --help
grep -q "acthist merge -o OUT" "$TMP/out" && pass || fail "merge --help"
# fit --threads over slices that hold the same rows (a constant background,
# a file given twice): the same model as one thread, not "counted twice".
$PY -c "
import numpy as np
np.save('const.npy', np.ones((1000, 4), np.float32))
"
check "--threads, constant background" $A fit --threads 2 -o const2.ahm const.npy
check "one thread, constant background" $A fit -o const1.ahm const.npy
cmp -s const1.ahm const2.ahm && pass || fail "--threads 2 differs on a constant background"
check "--threads, a file given twice" $A fit --threads 2 -o twice2.ahm x.npy x.npy
check "one thread, a file given twice" $A fit -o twice1.ahm x.npy x.npy
cmp -s twice1.ahm twice2.ahm && pass || fail "--threads 2 differs on a file given twice"
done_tests
