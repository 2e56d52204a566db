#!/bin/sh
# Run every test binary in BUILD/tests and every CLI test script in
# tests/cli/, then print the total as "N passed, N failed".
# Usage: tests/run.sh BUILD_DIR
set -u
build=${1:-build}
export ACTHIST="$PWD/$build/acthist"
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$build"/tests/test_* tests/cli/test_*.sh; do
    [ -e "$t" ] || continue
    case "$t" in *.sh) cmd="sh $t" ;; *) cmd="$t" ;; esac
    $cmd >"$log" 2>&1
    rc=$?
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(printf ' %s\n' "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\1/p')
    f=$(printf ' %s\n' "$line" | sed -n 's/.*[^0-9]\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed.*/\2/p')
    [ -n "$p" ] || p=0
    [ -n "$f" ] || f=0
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1  # a crash or sanitizer report counts as a failure
    fi
    if [ "$f" -ne 0 ]; then
        echo "---- $t (exit $rc)"
        cat "$log"
    fi
    echo "$(basename "$t"): $p passed, $f failed"
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
