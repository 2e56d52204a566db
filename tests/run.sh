#!/bin/sh
# Run every test binary in BUILD/tests, every CLI test script in tests/cli/
# and every Python binding test in tests/python/ (Debian's /usr/bin/python3,
# over BUILD/libacthist.so), then print the total as "N passed, N failed".
# Usage: tests/run.sh BUILD_DIR
set -u
build=${1:-build}
export ACTHIST="$PWD/$build/acthist"
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The binding loads the library into Python; a sanitizer build of it needs
# the sanitizer runtimes loaded first (Python's own leaks are not ours).
py_env="PYTHONPATH=$PWD/python:$PWD/tests/python ACTHIST_LIBRARY=$PWD/$build/libacthist.so"
if ldd "$build/libacthist.so" 2>/dev/null | grep -q libasan; then
    py_env="$py_env ASAN_OPTIONS=detect_leaks=0"
    py_env="$py_env LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so)"
fi
for t in "$build"/tests/test_* tests/cli/test_*.sh tests/python/test_*.py; do
    [ -e "$t" ] || continue
    case "$t" in
        *.sh) cmd="sh $t" ;;
        *.py) cmd="env $py_env /usr/bin/python3 $t" ;;
        *) cmd="$t" ;;
    esac
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
