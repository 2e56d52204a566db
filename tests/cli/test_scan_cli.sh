#!/bin/sh
# score / scan-group / eval / compare on synthetic activations, checked
# against NumPy: individual-scan scores recomputed from `pvalues` output by
# brute force, AUCs recomputed by pair counting; clean versus clean near
# 0.5, clean versus shifted clearly above; group scans thread-independent.
. "$(dirname "$0")/lib.sh"
cd "$TMP"
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(3)
D = 40
def relu(n): return np.maximum(r.normal(size=(n, D)), 0).astype(np.float32)
bg = relu(2000); np.save("bg.npy", bg); np.save("bgl.npy", r.integers(0, 2, 2000))
np.save("clean.npy", relu(200)); np.save("cl.npy", r.integers(0, 2, 200))
np.save("clean2.npy", relu(200)); np.save("cl2.npy", r.integers(0, 2, 200))
a = relu(200); a[:, :6] += 1.2; np.save("anom.npy", a); np.save("al.npy", r.integers(0, 2, 200))
PY
A=$ACTHIST
check "fit" $A fit -o m.ahm bg.npy --labels bgl.npy
check "score csv" $A score m.ahm anom.npy --pooled -o s.csv
check "score json" $A score m.ahm anom.npy --pooled --json --stat hc
$PY -c "import json; d=json.load(open('$TMP/out')); assert len(d['scores'])==200 and d['stat']=='hc'" && pass || fail "score --json"
check "pvalues" $A pvalues m.ahm anom.npy --pooled -o p.npy
$PY - <<'PY' && pass || fail "score differs from a brute-force scan of the p-values"
import numpy as np, csv, math
p = np.load("p.npy")[..., 1]
rows = list(csv.DictReader(open("s.csv")))
assert len(rows) == p.shape[0]
for i, row in enumerate(rows):
    best = 0.0
    for a in sorted(set(v for v in p[i] if v <= 0.5)):
        n = int((p[i] <= a).sum())
        best = max(best, n * math.log(1 / a))   # n_a = n: KL(1 || a) = ln(1/a)
    s = float(row["score"])
    assert abs(s - best) <= 1e-9 * max(1, best), (i, s, best)
PY
check "eval" $A eval m.ahm --pooled --clean clean.npy --anomalous clean2.npy --anomalous anom.npy --json --roc roc.csv --plot roc.svg
cp "$TMP/out" eval.json
check "score clean" $A score m.ahm clean.npy --pooled -o c.csv
check "score clean2" $A score m.ahm clean2.npy --pooled -o c2.csv
$PY - <<'PY' && pass || fail "eval AUCs wrong or not as expected"
import json, csv, numpy as np
d = json.load(open("eval.json"))
def scores(f): return np.array([float(r["score"]) for r in csv.DictReader(open(f))])
c, c2, a = scores("c.csv"), scores("c2.csv"), scores("s.csv")
def auc(x, y): return ((y[:, None] > x[None, :]).sum() + 0.5 * (y[:, None] == x[None, :]).sum()) / (len(x) * len(y))
assert abs(d["sets"][0]["auc"] - auc(c, c2)) < 1e-6 and abs(d["sets"][1]["auc"] - auc(c, a)) < 1e-6
assert 0.4 < d["sets"][0]["auc"] < 0.6, d          # clean vs clean
assert d["sets"][1]["auc"] > 0.8, d                # clean vs shifted
assert d["auc"] == d["sets"][0]["auc"]
PY
head -1 roc.csv | grep -q "^set,fpr,tpr$" && pass || fail "roc csv header"
$PY -c "import xml.etree.ElementTree as E; E.parse('roc.svg')" && pass || fail "roc.svg is not XML"
check "eval conditional" $A eval m.ahm --clean clean.npy --clean-labels cl.npy --anomalous anom.npy --anomalous-labels al.npy --tail two
grep -q "conditional" "$TMP/out" && pass || fail "eval did not run conditionally"
check "eval group" $A eval m.ahm --pooled --clean clean.npy --anomalous anom.npy --group 20 --fraction 0.5 --runs 20 --restarts 3 --json
$PY -c "import json; d=json.load(open('$TMP/out')); assert d['mode']=='group' and d['auc']>0.8, d" && pass || fail "group eval"
check "scan-group 1 thread" $A scan-group m.ahm anom.npy --pooled --json --seed 5 --restarts 4 --threads 1
sed 's/"seconds": [0-9.e-]*//' "$TMP/out" > g1.json
check "scan-group 2 threads" $A scan-group m.ahm anom.npy --pooled --json --seed 5 --restarts 4 --threads 2
sed 's/"seconds": [0-9.e-]*//' "$TMP/out" > g2.json
cmp -s g1.json g2.json && pass || fail "scan-group differs between 1 and 2 threads"
check "compare" $A compare --background bg.npy --background-labels bgl.npy --clean clean.npy --clean-labels cl.npy --anomalous anom.npy --anomalous-labels al.npy --methods empirical,hist:16,hist:auto:quantile --tails upper,two --json
$PY -c "
import json; d=json.load(open('$TMP/out'))
assert len(d['rows']) == 3 * 2 * 2, len(d['rows'])
emp = [r for r in d['rows'] if r['method']=='empirical' and r['tail']=='upper' and not r['conditional']][0]
assert emp['auc'][0] > 0.8, emp
" && pass || fail "compare json"
expect_error "eval without anomalous" 2 "anomalous" - $A eval m.ahm --clean clean.npy
expect_error "eval labels mismatch" 2 "labels" - $A eval m.ahm --clean clean.npy --clean-labels cl.npy --anomalous anom.npy
expect_error "score bad stat" 2 "--stat: 'xx' is not one of" - $A score m.ahm anom.npy --stat xx
check "score in chunks of 7 rows" $A score m.ahm anom.npy --labels al.npy --chunk-rows 7 -o s7.csv
check "score in one chunk" $A score m.ahm anom.npy --labels al.npy -o s1.csv
cmp -s s7.csv s1.csv && pass || fail "score depends on --chunk-rows"
check "score json in chunks" $A score m.ahm anom.npy --pooled --json --chunk-rows 13
cp "$TMP/out" j13.json
check "score json" $A score m.ahm anom.npy --pooled --json
cmp -s "$TMP/out" j13.json && pass || fail "score --json depends on --chunk-rows"
$PY -c "
import numpy as np
a = np.load('anom.npy'); a[150, 9] = np.nan; np.save('nan.npy', a)
"
expect_error "a NaN in a later chunk" 1 "nan.npy: row 150, column 9: NaN" s.out $A score m.ahm nan.npy --pooled --chunk-rows 16 -o s.out
expect_error "score chunk 0" 2 "chunk-rows" - $A score m.ahm anom.npy --chunk-rows 0
expect_error "compare bad method" 2 "unknown method" - $A compare --background bg.npy --clean clean.npy --anomalous anom.npy --methods hist:0
done_tests
