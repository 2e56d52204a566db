#!/bin/sh
# --backend of pvalues and score: every backend (the names the error
# message lists, so a new one is covered) writes the default's bytes
# (the bundled real activations, data/, pooled and by label, histogram and
# empirical models, every tail, one and two threads); an unknown name
# exits 2 listing the valid ones and leaves no output.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DATA=$ROOT/data
A=$ACTHIST
cd "$TMP"
BACKENDS=$($A pvalues none.ahm none.npy --backend '?' -o p.npy 2>&1 |
    sed -n "s/.*is not one of //p" | tr -d ,)
[ -n "$BACKENDS" ] && pass || fail "--backend '?' lists no backends"
check "fit pooled" $A fit --bins 3072 -o pooled.ahm "$DATA/background.npy"
check "fit conditional" $A fit --bins 256 -o cond.ahm "$DATA/background.npy" \
    --labels "$DATA/background_labels.npy"
check "fit empirical" $A fit --method empirical -o emp.ahm "$DATA/clean.npy"
Q="$DATA/pgd_eps10.npy"
QL="--labels $DATA/pgd_eps10_labels.npy"
for m in pooled cond emp; do
    case $m in cond) lab=$QL ;; *) lab= ;; esac
    for tail in upper lower two both; do
        check "pvalues $m $tail" $A pvalues $m.ahm "$Q" $lab --tail $tail -o p_${m}_${tail}.npy
        for b in $BACKENDS; do
            for t in 1 2; do
                check "pvalues $m $tail $b $t" $A pvalues $m.ahm "$Q" $lab \
                    --tail $tail --threads $t --backend $b -o pb.npy
                cmp -s p_${m}_${tail}.npy pb.npy && pass ||
                    fail "pvalues $m --tail $tail --backend $b --threads $t: other bytes"
            done
        done
    done
    check "score $m" $A score $m.ahm "$Q" $lab -o s_$m.csv
    for b in $BACKENDS; do
        check "score $m $b" $A score $m.ahm "$Q" $lab --backend $b -o sb.csv
        cmp -s s_$m.csv sb.csv && pass || fail "score $m --backend $b: other bytes"
    done
done
NAMES="is not one of cpu, reference$"
expect_error "pvalues --backend" 2 "^acthist: --backend: 'gpu' $NAMES" p.npy \
    $A pvalues pooled.ahm "$Q" --backend gpu -o p.npy
expect_error "score --backend" 2 "^acthist: --backend: 'gpu' $NAMES" - \
    $A score pooled.ahm "$Q" --backend gpu
done_tests
