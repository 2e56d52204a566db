#!/bin/sh
# fit / info / pvalues against NumPy: empirical p-values bit-identical to a
# NumPy count for every tail, pooled and conditional; histogram ranges
# containing them; the chunk size not changing the model; --help and usage.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(7)
n, shape = 800, (3, 2, 2)
x = np.maximum(r.normal(size=(n,) + shape), 0).astype(np.float32)
x[:, 0, 0, 0] = 0.5                       # a constant node
x[r.random(n) < 0.3, 1, 1, 1] = 2.0       # a spike above zero
lab = r.integers(0, 3, n).astype(np.int64)
np.save("bg.npy", x[:500]); np.save("bg2.npy", x[500:])
np.save("lab.npy", lab[:500]); np.save("lab2.npy", lab[500:])
q = np.concatenate([x[:40], np.maximum(r.normal(size=(40,) + shape), 0).astype(np.float32)])
np.save("q.npy", q)
ql = r.integers(0, 4, len(q)).astype(np.int64)   # label 3 is unseen
np.save("ql.npy", ql)
np.save("qf.npy", np.asfortranarray(q.astype(">f8")))
PY
A=$ACTHIST
check "fit empirical" $A fit --method empirical -o emp.ahm bg.npy bg2.npy --labels lab.npy --labels lab2.npy
check "fit hist" $A fit -o hist.ahm bg.npy bg2.npy --labels lab.npy --labels lab2.npy
check "fit hist quantile auto" $A fit --bins auto --binning quantile -o histq.ahm bg.npy bg2.npy
check "fit hist chunk 7" $A fit --chunk-rows 7 -o hist7.ahm bg.npy bg2.npy --labels lab.npy --labels lab2.npy
check "fit kde" $A fit --method kde -o kde.ahm bg.npy bg2.npy
if cmp -s hist.ahm hist7.ahm; then pass; else fail "chunk size changed the model"; fi
check "info" $A info hist.ahm
grep -q "labels:     3 (conditional)" "$TMP/out" && pass || fail "info does not report 3 labels"
check "info json" $A info --json emp.ahm
$PY -c "import json,sys; d=json.load(open('$TMP/out')); assert d['method']=='empirical' and d['rows']==800 and d['nodes']==12" && pass || fail "info --json"
for tail in upper lower two both; do
    check "pvalues emp $tail" $A pvalues emp.ahm q.npy --labels ql.npy --tail $tail -o pe_$tail.npy
    grep -q "40\? of 80 rows\|of 80 rows of q.npy have labels" "$TMP/err" && pass || fail "no note on unseen labels"
    check "pvalues hist $tail" $A pvalues hist.ahm qf.npy --labels ql.npy --tail $tail -o ph_$tail.npy
    check "pvalues emp pooled $tail" $A pvalues emp.ahm q.npy --tail $tail --pooled -o pp_$tail.npy
done
$PY - <<'PY' && pass || fail "p-values differ from the NumPy reference"
import numpy as np
bg = np.concatenate([np.load("bg.npy"), np.load("bg2.npy")]).reshape(800, -1).astype(np.float64)
lab = np.concatenate([np.load("lab.npy"), np.load("lab2.npy")])
q = np.load("q.npy").reshape(80, -1).astype(np.float64)
ql = np.load("ql.npy")
def ranges(b, x):
    N = len(b)
    gt = (b > x).sum(); ge = (b >= x).sum(); lt = (b < x).sum(); le = (b <= x).sum()
    up = (gt / (N + 1), (ge + 1) / (N + 1)); lo = (lt / (N + 1), (le + 1) / (N + 1))
    return up, lo
def ref(tail, conditional):
    out = []
    for i in range(80):
        sel = lab == ql[i] if conditional and (lab == ql[i]).any() else np.ones(800, bool)
        row = []; rowlo = []
        for j in range(12):
            up, lo = ranges(bg[sel, j], q[i, j])
            if tail == "upper": row.append(up)
            elif tail == "lower": row.append(lo)
            elif tail == "two": row.append((min(1, 2 * min(up[0], lo[0])), min(1, 2 * min(up[1], lo[1]))))
            else: row.append(up); rowlo.append(lo)
        out.append(row + rowlo)
    return np.array(out)
for tail in ["upper", "lower", "two", "both"]:
    r = ref(tail, True)
    e = np.load(f"pe_{tail}.npy"); h = np.load(f"ph_{tail}.npy")
    assert e.dtype == np.float64 and e.shape == r.shape, (e.shape, r.shape)
    assert np.array_equal(e, r), tail                 # bit-identical
    assert (h[..., 0] <= r[..., 0]).all() and (h[..., 1] >= r[..., 1]).all(), tail
    assert np.array_equal(np.load(f"pp_{tail}.npy"), ref(tail, False)), tail
PY
# usage and help
check "help fit" $A help fit
cp "$TMP/out" help1
check "fit --help" $A fit --help
cmp -s help1 "$TMP/out" && pass || fail "help fit and fit --help differ"
expect_error "unknown command" 2 "no such command" - $A frobnicate
expect_error "unknown option" 2 "unknown option '--frob'" - $A fit --frob -o x.ahm bg.npy
expect_error "bad bins" 2 "--bins" x.ahm $A fit --bins 0 -o x.ahm bg.npy
expect_error "bad method" 2 "--method: 'nope' is not one of" x.ahm $A fit --method nope -o x.ahm bg.npy
expect_error "labels count" 2 "labels files" x.ahm $A fit -o x.ahm bg.npy bg2.npy --labels lab.npy
done_tests
