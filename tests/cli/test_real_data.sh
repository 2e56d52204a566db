#!/bin/sh
# The bundled real activations (data/, a Fashion-MNIST CNN's fc1 layer):
# representations against NumPy references on real values (empirical
# bit-identical, histogram ranges containing the exact ranges and equal at
# atoms, KDE within 1e-12 relative), detection sanity (clean versus held-out
# clean near 0.5, every attack above 0.5 in the configuration that works
# there) and the demo's table.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$ROOT/data
A=$ACTHIST
cd "$TMP"
$PY - "$DATA" <<'PY'
import sys, numpy as np
d = sys.argv[1]
bg = np.load(f"{d}/background.npy"); lab = np.load(f"{d}/background_labels.npy")
np.save("bg.npy", bg[:3000, :24]); np.save("bgl.npy", lab[:3000])
q = np.concatenate([np.load(f"{d}/clean.npy")[:100, :24], np.load(f"{d}/pgd_eps10.npy")[:100, :24]])
ql = np.concatenate([np.load(f"{d}/clean_labels.npy")[:100], np.load(f"{d}/pgd_eps10_labels.npy")[:100]])
np.save("q.npy", q); np.save("ql.npy", ql)
PY
for m in empirical hist:width:256 hist:quantile:64 hist:tails:64 kde; do
    case $m in
        hist:*) b=${m##*:}; k=${m#hist:}; k=${k%%:*}; args="--bins $b --binning $k" ;;
        *) args="--method $m" ;;
    esac
    check "fit $m" $A fit $args -o "$m.ahm" bg.npy --labels bgl.npy
    for tail in upper lower two both; do
        check "pvalues $m $tail" $A pvalues "$m.ahm" q.npy --labels ql.npy --tail $tail -o "p_${m}_$tail.npy"
        check "pvalues $m $tail pooled" $A pvalues "$m.ahm" q.npy --tail $tail --pooled -o "pp_${m}_$tail.npy"
    done
done
$PY - <<'PY' && pass || fail "p-values on real activations differ from the NumPy references"
import numpy as np, math
bg = np.load("bg.npy").astype(np.float64); lab = np.load("bgl.npy")
q = np.load("q.npy").astype(np.float64); ql = np.load("ql.npy")
erfc = np.vectorize(math.erfc)
def exact(b, x):
    N = len(b)
    up = ((b > x).sum() / (N + 1), ((b >= x).sum() + 1) / (N + 1))
    lo = ((b < x).sum() / (N + 1), ((b <= x).sum() + 1) / (N + 1))
    return up, lo
def kde(b, x):
    N = len(b); s = b.std(ddof=1); h = s * N ** -0.2
    if not (h > 0) or b.min() == b.max():
        return exact(b, x)
    z = (x - b) / h
    up = (0.5 * erfc(z / math.sqrt(2))).sum() / N
    lo = (0.5 * erfc(-z / math.sqrt(2))).sum() / N
    return (up, up), (lo, lo)
def tailed(up, lo, tail):
    if tail == "upper": return up
    if tail == "lower": return lo
    return (min(1, 2 * min(up[0], lo[0])), min(1, 2 * min(up[1], lo[1])))
D = q.shape[1]
for tail, pre, pooled in [(t, p, p == "pp") for t in ["upper", "lower", "two", "both"] for p in ["p", "pp"]]:
    e = np.load(f"{pre}_empirical_{tail}.npy"); k = np.load(f"{pre}_kde_{tail}.npy")
    hs = [np.load(f"{pre}_hist:{m}_{tail}.npy") for m in ["width:256", "quantile:64", "tails:64"]]
    assert e.shape == (len(q), 2 * D if tail == "both" else D, 2), e.shape
    for i in range(len(q)):
        sel = np.ones(len(lab), bool) if pooled else lab == ql[i]
        for jj in range(e.shape[1]):
            j = jj % D
            t = tail if tail != "both" else ("upper" if jj < D else "lower")
            b = bg[sel, j]; x = q[i, j]
            r = tailed(*exact(b, x), t)
            assert tuple(e[i, jj]) == r, ("empirical", tail, pre, i, jj, e[i, jj], r)
            for h in hs:
                assert h[i, jj, 0] <= r[0] and h[i, jj, 1] >= r[1], ("hist", tail, pre, i, jj, h[i, jj], r)
                if (b == x).sum() >= max(2, math.ceil(len(b) / 32)):   # an atom: exact
                    assert tuple(h[i, jj]) == r, ("atom", tail, pre, i, jj, h[i, jj], r)
            kr = tailed(*kde(b, x), t)
            for a, c in zip(k[i, jj], kr):
                assert abs(a - c) <= 1e-12 * max(abs(a), abs(c)) or a == c, ("kde", tail, i, j, a, c)
PY
# detection sanity on the full bundled layer
check "fit conditional" $A fit -o m.ahm "$DATA/background.npy" --labels "$DATA/background_labels.npy"
check "eval" $A eval m.ahm --tail lower --json \
    --clean "$DATA/clean.npy" --clean-labels "$DATA/clean_labels.npy" \
    --anomalous "$DATA/clean_holdout.npy" --anomalous-labels "$DATA/clean_holdout_labels.npy" \
    --anomalous "$DATA/fgsm_eps10.npy" --anomalous-labels "$DATA/fgsm_eps10_labels.npy" \
    --anomalous "$DATA/pgd_eps10.npy" --anomalous-labels "$DATA/pgd_eps10_labels.npy" \
    --anomalous "$DATA/cw_l2.npy" --anomalous-labels "$DATA/cw_l2_labels.npy" \
    --anomalous "$DATA/synth.npy" --anomalous-labels "$DATA/synth_labels.npy"
$PY -c "
import json; d = json.load(open('$TMP/out')); a = [s['auc'] for s in d['sets']]
assert 0.45 < a[0] < 0.55, a          # clean vs held-out clean
assert min(a[1:]) > 0.6, a            # every attack and the synthesized set
" && pass || fail "conditional lower-tail detection on the bundled set"
# the demo: the table's shape, and the best configuration above 0.5
check "demo" $A demo --data "$DATA" --plot demo.svg
$PY - "$TMP/out" <<'PY' && pass || fail "demo output"
import sys, re
t = open(sys.argv[1]).read()
rows = [l for l in t.splitlines() if re.match(r"^(empirical|hist\S*)\s+\d+", l)]
assert len(rows) == 4 * 4 * 2, len(rows)          # methods x tails x labels
assert all(len(r.split()) == 5 + 5 for r in rows), rows[0]
best = re.findall(r"^\s+(\w+)\s+AUC ([0-9.]+)\s+tail", t, re.M)
assert [b[0] for b in best] == ["fgsm", "pgd", "cw_l2", "synth"], best
assert all(float(a) > 0.5 for n, a in best), best
assert re.search(r"^\s+holdout\s+\(a second clean set", t, re.M)
PY
$PY -c "import xml.etree.ElementTree as E; E.parse('demo.svg')" && pass || fail "demo ROC SVG"
done_tests
