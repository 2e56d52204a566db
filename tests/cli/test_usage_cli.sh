#!/bin/sh
# What the tool says about itself: the help texts (`acthist --help`, every
# command's --help and `acthist help CMD`) and the man page made from them
# print no printf escapes such as "%%".
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

done_tests
