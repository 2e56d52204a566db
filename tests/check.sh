#!/bin/sh
# The whole check, as CI runs it: the suite in build/, then the same suite
# built with AddressSanitizer + UBSan in build-san/, then the threaded tests
# under ThreadSanitizer in build-tsan/ (about half a minute), then each
# libFuzzer target for 30 s on its corpus (make fuzz-ci, about two minutes
# with its build), then one closing line adding them up: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
total_p=0
total_f=0
status=0
for variant in test test-san test-tsan fuzz-ci; do
    log=$(mktemp)
    make --no-print-directory "$variant" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    rm -f "$log"
    p=${line%% passed*}
    f=${line#*passed, }
    f=${f%% failed*}
    [ -n "$line" ] || { p=0; f=1; }
    [ "$rc" -eq 0 ] || status=1
    echo "$variant: $p passed, $f failed"
    total_p=$((total_p + p))
    total_f=$((total_f + f))
done
[ "$total_f" -eq 0 ] || status=1
echo "$total_p passed, $total_f failed"
exit $status
