#!/bin/sh
# fit --basis pca through the command line: info shows the basis, p-values
# come out over the scanned nodes, the empirical method's equal NumPy
# counts of the model's own transform of the background (computed here
# from the model file's basis block), score runs; --fpr cross-fits with the basis; refusals with their messages
# and exit codes.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(3)
n, d = 600, 6
f = r.normal(size=(n, 2))
x = (f @ r.normal(size=(2, d)) + 0.1 * r.normal(size=(n, d))).astype(np.float32)
lab = r.integers(0, 3, n).astype(np.int64)
np.save("bg.npy", x); np.save("lab.npy", lab)
q = (r.normal(size=(30, d)) * 1.5).astype(np.float32)
np.save("q.npy", q); np.save("ql.npy", r.integers(0, 4, 30).astype(np.int64))
np.save("big.npy", np.zeros((3, 2049), np.float32))
PY
A=$ACTHIST
check "fit --basis pca" $A fit --basis pca --basis-components 3 --method empirical -o m.ahm bg.npy --labels lab.npy
check "info" $A info m.ahm
grep -q "^basis:      pca, 3 components per label and the residual norm: 10 nodes scanned" "$TMP/out" && pass || fail "info: $(grep basis "$TMP/out")"
check "info --json" $A info --json m.ahm
$PY -c "import json; d=json.load(open('$TMP/out')); assert d['basis']=='pca' and d['basis_components']==3 and d['scanned_nodes']==10 and d['nodes']==6" && pass || fail "info --json basis"
check "fit (no basis)" $A fit -o plain.ahm bg.npy --labels lab.npy
$A info plain.ahm | grep -q "^basis:      none" && pass || fail "info of a plain model"
check "pvalues" $A pvalues m.ahm q.npy --labels ql.npy --tail upper -o p.npy
check "score" $A score m.ahm q.npy --labels ql.npy -o s.csv
$PY - <<'PY' && pass || fail "p-values differ from counting the transformed background"
import struct, numpy as np
b = open("m.ahm", "rb").read()
d, r = 6, 3
S = 4                                       # pooled + 3 labels
per = 8 * d + ((4 * d * r + 7) // 8) * 8
blk = b[len(b) - 8 - (32 + S * per):len(b) - 8]
assert struct.unpack("<IIQQQ", blk[:32]) == (1, 1, d, r, len(blk))
mu, V = [], []
for s in range(S):
    o = 32 + s * per
    mu.append(np.frombuffer(blk[o:o + 8 * d], "<f8"))
    V.append(np.frombuffer(blk[o + 8 * d:o + 8 * d + 4 * d * r], "<f4")
             .astype(np.float64).reshape(d, r))
def t(x, s):
    x = x.astype(np.float64)
    c = x - mu[s]
    z = np.zeros((len(x), r))
    for i in range(d):                          # the library's summation order
        z += c[:, i:i + 1] * V[s][i]
    res = np.sqrt(np.maximum(0, (c * c).sum(1) - (z * z).sum(1)))
    return np.hstack([x, z, res[:, None]])
bg, lab = np.load("bg.npy"), np.load("lab.npy")
q, ql = np.load("q.npy"), np.load("ql.npy")
p = np.load("p.npy")
assert p.shape == (30, 10, 2), p.shape
for i in range(30):
    s = ql[i] + 1 if ql[i] < 3 else 0          # label 3 is unseen: pooled
    rows = bg[lab == ql[i]] if s else bg
    tb, tq = t(rows, s), t(q[i:i + 1], s)[0]
    N = len(tb)
    gt, ge = (tb > tq).sum(0), (tb >= tq).sum(0)
    assert np.array_equal(p[i, :, 0], gt / (N + 1)), i
    assert np.array_equal(p[i, :, 1], (ge + 1) / (N + 1)), i
PY
check "fit --basis pca --fpr" $A fit --basis pca --fpr 0.1 --folds 3 -o f.ahm bg.npy --labels lab.npy
$A info f.ahm | grep -q "^threshold:  score above" && pass || fail "no threshold kept"
expect_error "too many nodes" 2 "above its limit of 2048" x.ahm $A fit --basis pca -o x.ahm big.npy
expect_error "unknown basis" 2 "basis" x.ahm $A fit --basis qr -o x.ahm bg.npy
expect_error "components 0" 2 "basis_components must be in 1..2048, not 0" x.ahm $A fit --basis pca --basis-components 0 -o x.ahm bg.npy
expect_error "with --threads" 2 "learnt in one thread" x.ahm $A fit --basis pca --threads 2 -o x.ahm bg.npy --labels lab.npy
expect_error "plan-only" 2 "fitting in shards learns no basis" x.plan $A fit --basis pca --plan-only -o x.plan bg.npy
expect_error "wrong width" 1 "big.npy: 2049 nodes per row, but the model m.ahm has 6" - $A score m.ahm big.npy --pooled
done_tests
