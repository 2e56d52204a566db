#!/bin/sh
# A detector out of the box, on the bundled real activations (data/): the
# default tail from the evidence, no silent fallback to the pooled
# background, and a decision (calibrate, fit --fpr, score's flagged column).
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/../../data" && pwd)
cd "$TMP" || exit 1
A=$ACTHIST
$PY - "$DATA" <<'PY'
import sys
import numpy as np
d = sys.argv[1]
c, l = np.load(d + "/clean.npy"), np.load(d + "/clean_labels.npy")
np.save("c1.npy", c[0::2]); np.save("c1l.npy", l[0::2])
np.save("c2.npy", c[1::2]); np.save("c2l.npy", l[1::2])
PY

# The default tail: two-tailed with labels, lower without; the note.
check "fit with labels" $A fit -o m.ahm "$DATA/background.npy" --labels "$DATA/background_labels.npy"
grep -q "no --labels" "$TMP/err" && fail "a note about labels when they were given" || pass
$A info m.ahm | grep -q "^tail: *two" && pass || fail "default tail with labels is not two"
check "fit without labels" $A fit -o p.ahm "$DATA/background.npy"
grep -q "no --labels: a pooled model.  Labels" "$TMP/err" && pass || fail "no note about labels"
$A info p.ahm | grep -q "^tail: *lower" && pass || fail "default tail without labels is not lower"
check "fit --tail upper (the paper's)" $A fit --tail upper -o paper.ahm "$DATA/background.npy"
$A info paper.ahm | grep -q "^tail: *upper" && pass || fail "--tail upper"

# eval with no other flag uses the model's (evidence) tail and the labels.
check "eval, no flags" $A eval m.ahm --clean "$DATA/clean.npy" --clean-labels "$DATA/clean_labels.npy" \
    --anomalous "$DATA/pgd_eps10.npy" --anomalous-labels "$DATA/pgd_eps10_labels.npy" --json
$PY -c "
import json; d = json.load(open('$TMP/out'))
assert d['tail'] == 'two' and d['conditional'] is True and d['auc'] > 0.7, d
" && pass || fail "eval did not use the conditional two-tailed default"

# No silent fallback: a conditional model without labels is an error.
for cmd in "score m.ahm c2.npy" "pvalues m.ahm c2.npy -o pv.npy" "scan-group m.ahm c2.npy" \
           "eval m.ahm --clean c1.npy --anomalous c2.npy" \
           "calibrate m.ahm c1.npy --fpr 0.05 -o x.ahm"; do
    # shellcheck disable=SC2086
    expect_error "no labels: $cmd" 2 "conditional model \(10 labels\): give --(clean-)?labels.*--pooled" - $A $cmd
done
check "score --pooled" $A score m.ahm c2.npy --pooled
check "pvalues --pooled" $A pvalues m.ahm c2.npy --pooled -o pv.npy
check "scan-group --pooled" $A scan-group m.ahm c2.npy --pooled --restarts 2
check "eval --pooled" $A eval m.ahm --pooled --clean c1.npy --anomalous c2.npy
expect_error "--labels and --pooled" 2 "both given" - $A score m.ahm c2.npy --labels c2l.npy --pooled
check "labels on a pooled model" $A score p.ahm c2.npy --labels c2l.npy
grep -q "has no labels (a pooled model): --labels c2l.npy is not used" "$TMP/err" && pass || fail "no note for labels on a pooled model"

# calibrate on half of the clean set: about 5% of the other half flagged.
# 500 + 500 inputs: the flagged share's spread is about 0.014, so 0.05 +-
# 0.045 (over 3 standard deviations) fails by chance far below once in 1000.
check "calibrate" $A calibrate m.ahm c1.npy --labels c1l.npy --fpr 0.05 -o cal.ahm
grep -q "25 of 500 clean inputs" "$TMP/err" && pass || fail "calibrate: not 25 of 500 above"
check "score, calibrated" $A score cal.ahm c2.npy --labels c2l.npy -o s.csv
head -1 s.csv | grep -qx "index,score,alpha,size,flagged" && pass || fail "no flagged column"
$PY -c "
import numpy as np
s = np.genfromtxt('s.csv', delimiter=',', names=True)
rate = s['flagged'].mean()
print('calibrate --fpr 0.05 on 500 clean inputs: %.3f of the other 500 flagged' % rate)
assert abs(rate - 0.05) <= 0.045, rate
" && pass || fail "the flagged share is not near 0.05"
grep -q "of 500 inputs flagged" "$TMP/err" && pass || fail "no count of flagged inputs"
check "info shows the threshold" $A info cal.ahm
grep -q "^threshold:  score above .* a false-positive rate of 0.05 on 500 clean inputs" "$TMP/out" && pass || fail "info: threshold"
expect_error "other settings than calibrated" 2 "threshold of cal.ahm holds for --stat bj" - \
    $A score cal.ahm c2.npy --labels c2l.npy --tail lower
check "--ignore-threshold" $A score cal.ahm c2.npy --labels c2l.npy --tail lower --ignore-threshold -o s2.csv
head -1 s2.csv | grep -qx "index,score,alpha,size" && pass || fail "--ignore-threshold kept the column"
# The format: 1.2 with a threshold, 1.1 without (older readers read it).
$PY -c "
b = open('cal.ahm', 'rb').read(); m = open('m.ahm', 'rb').read()
assert (b[8], b[10]) == (1, 2) and (m[8], m[10]) == (1, 1), (b[10], m[10])
" && pass || fail "format versions"

# fit --fpr: cross-fitted on the background.
check "fit --fpr" $A fit -o cf.ahm "$DATA/background.npy" --labels "$DATA/background_labels.npy" --fpr 0.05 --folds 4
grep -q "500 of 10000 background rows above it" "$TMP/err" && pass || fail "fit --fpr: not 500 of 10000"
$A info cf.ahm | grep -q "cross-fitted on the background (4 folds, 10000 scores)" && pass || fail "info: cross-fitted"
check "score, cross-fitted" $A score cf.ahm "$DATA/clean_holdout.npy" --labels "$DATA/clean_holdout_labels.npy" -o h.csv
$PY -c "
import numpy as np
s = np.genfromtxt('h.csv', delimiter=',', names=True)
print('fit --fpr 0.05: %.3f of 1000 held-out clean inputs flagged' % s['flagged'].mean())
assert s['flagged'].mean() <= 0.1
" && pass || fail "fit --fpr flags too many clean inputs"
expect_error "--folds without --fpr" 2 "--folds goes with --fpr" - $A fit -o x.ahm "$DATA/background.npy" --folds 3
expect_error "--fpr 1" 2 "fpr" - $A fit -o x.ahm "$DATA/background.npy" --fpr 1

# Unseen labels get the note in every command, group scans included.
$PY -c "
import numpy as np
l = np.load('c2l.npy').copy(); l[:7] = 99; np.save('c2u.npy', l)
"
check "score, unseen labels" $A score m.ahm c2.npy --labels c2u.npy
grep -q "note: 7 of 500 rows" "$TMP/err" && pass || fail "score: no unseen note"
check "scan-group, unseen labels" $A scan-group m.ahm c2.npy --labels c2u.npy --restarts 2
grep -q "note: 7 of 500 rows" "$TMP/err" && pass || fail "scan-group: no unseen note"
check "eval --group, unseen labels" $A eval m.ahm --clean c1.npy --clean-labels c1l.npy \
    --anomalous c2.npy --anomalous-labels c2u.npy --group 20 --runs 4 --restarts 2
grep -q "note: 7 inputs have labels" "$TMP/err" && pass || fail "eval --group: no unseen note"

done_tests
