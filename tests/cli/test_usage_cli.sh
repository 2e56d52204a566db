#!/bin/sh
# What the tool says about itself: the help texts (`acthist --help`, every
# command's --help and `acthist help CMD`) and the man page made from them
# print no printf escapes such as "%%"; an unknown name given to --tail,
# --tails, --stat, --method, --methods or --binning exits 2 and lists the
# valid names, for every command that takes one.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
A=$ACTHIST
cd "$TMP"

# Help texts and the man page.
check "acthist --help" $A --help
cp out help.txt
cmds=$(sed -n 's/^  \([a-z-][a-z-]*\)  .*/\1/p' help.txt)
[ -n "$cmds" ] && pass || fail "acthist --help lists no commands"
for c in $cmds; do
    check "$c --help" $A "$c" --help
    cat out >>help.txt
    check "help $c" $A help "$c"
    cat out >>help.txt
done
grep -n '%%' help.txt >pct && fail "help texts print '%%': $(cat pct)" || pass
grep -n '%%' "$ROOT/docs/acthist.1" >pct && fail "docs/acthist.1 has '%%': $(cat pct)" || pass
$A compare --help | grep -q 'bytes, % of the raw float32 background' && pass \
    || fail "compare --help: no '% of the raw float32 background'"

# Unknown names.
$PY -c "
import numpy as np
r = np.random.default_rng(5)
np.save('bg.npy', r.normal(size=(300, 6)))
np.save('x.npy', r.normal(size=(40, 6)))
"
check "fit" $A fit -o m.ahm bg.npy
TAILS="is not one of upper, lower, two, both$"
STATS="is not one of bj, hc, ks$"
expect_error "fit --tail" 2 "^acthist: --tail: 'upp' $TAILS" o.ahm \
    $A fit --tail upp -o o.ahm bg.npy
expect_error "fit --method" 2 "^acthist: --method: 'nope' is not one of hist, empirical, kde$" \
    o.ahm $A fit --method nope -o o.ahm bg.npy
expect_error "fit --binning" 2 "^acthist: --binning: 'nope' is not one of width, quantile, tails$" \
    o.ahm $A fit --binning nope -o o.ahm bg.npy
expect_error "pvalues --tail" 2 "^acthist: --tail: 'upp' $TAILS" p.npy \
    $A pvalues m.ahm x.npy --tail upp -o p.npy
for c in score scan-group; do
    expect_error "$c --tail" 2 "^acthist: --tail: 'upp' $TAILS" - $A $c m.ahm x.npy --tail upp
    expect_error "$c --stat" 2 "^acthist: --stat: 'xx' $STATS" - $A $c m.ahm x.npy --stat xx
done
expect_error "eval --tail" 2 "^acthist: --tail: 'upp' $TAILS" - \
    $A eval m.ahm --clean x.npy --anomalous x.npy --tail upp
expect_error "eval --stat" 2 "^acthist: --stat: 'xx' $STATS" - \
    $A eval m.ahm --clean x.npy --anomalous x.npy --stat xx
CMP="compare --background bg.npy --clean x.npy --anomalous x.npy"
expect_error "compare --tails" 2 "^acthist: --tails: 'upp' $TAILS" - $A $CMP --tails two,upp
expect_error "compare --stat" 2 "^acthist: --stat: 'xx' $STATS" - $A $CMP --stat xx
expect_error "compare --methods binning" 2 \
    "^acthist: --methods: unknown method 'hist:64:nope' .*B one of width, quantile, tails" - \
    $A $CMP --methods hist:64:nope
expect_error "compare --methods" 2 \
    "^acthist: --methods: unknown method 'nope' \(one of hist, empirical, kde, hist:N" - \
    $A $CMP --methods nope
expect_error "demo --methods" 2 "^acthist: --methods: unknown method 'nope'" - \
    $A demo --methods nope
done_tests
