#!/bin/sh
# The shared library's contract: it exports the public calls of
# include/acthist.h and nothing else (src/acthist.map), so no internal
# ah__ symbol, and every function the header declares is there.  Checked
# with `nm -D --defined-only` on BUILD/libacthist.so; the static library
# keeps the internals for the tests.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SO="$(dirname "$ACTHIST")/libacthist.so"
if ! command -v nm >/dev/null 2>&1; then
    fail "nm not found (binutils)"; done_tests; exit
fi
nm -D --defined-only "$SO" | awk '{print $NF}' | sort -u >"$TMP/exported" \
    && [ -s "$TMP/exported" ] && pass || fail "nm -D $SO listed nothing"
if grep '^ah__' "$TMP/exported" >"$TMP/internal"; then
    fail "$SO exports $(wc -l <"$TMP/internal") internal ah__ symbols:" \
         "$(head -n 5 "$TMP/internal" | tr '\n' ' ')"
else pass; fi
if grep -v '^ah_[a-z]' "$TMP/exported" >"$TMP/other"; then
    fail "$SO exports symbols that are not public calls:" \
         "$(head -n 5 "$TMP/other" | tr '\n' ' ')"
else pass; fi
# The functions the header declares: names followed by "(" outside its
# comment lines.
grep -v '^ *\*\|^ */\*' "$ROOT/include/acthist.h" | grep -o 'ah_[a-z0-9_]*(' |
    tr -d '(' | sort -u >"$TMP/declared"
[ "$(wc -l <"$TMP/declared")" -ge 60 ] && pass ||
    fail "found only $(wc -l <"$TMP/declared") declarations in acthist.h"
if diff "$TMP/declared" "$TMP/exported" >"$TMP/diff"; then pass; else
    fail "exported and declared calls differ (< declared only, > exported only):"
    cat "$TMP/diff" >&2
fi
for f in ah_version ah_struct_size; do
    grep -qx "$f" "$TMP/exported" && pass || fail "$f is not exported"
done
done_tests
