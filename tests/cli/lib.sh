# lib.sh - helpers for the CLI tests (sourced).  Each test script counts
# checks and ends with "N passed, N failed".  $ACTHIST is the binary; data
# is made and checked with Debian's /usr/bin/python3 and NumPy, an
# implementation independent of ours.
set -u
PASSED=0
FAILED=0
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
: "${ACTHIST:?set ACTHIST to the acthist binary}"

pass() { PASSED=$((PASSED + 1)); }
fail() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }

# check DESC COMMAND...: the command must succeed
check() {
    desc=$1; shift
    if "$@" >"$TMP/out" 2>"$TMP/err"; then pass; else
        fail "$desc (exit $?)"; cat "$TMP/err" >&2; fi
}

# expect_error DESC CODE PATTERN OUTPUT COMMAND...: the command must exit with
# CODE, print PATTERN (grep -E) on stderr, and leave no OUTPUT file (or "-")
# and no temporary file beside it.
expect_error() {
    desc=$1 code=$2 pattern=$3 output=$4; shift 4
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        fail "$desc: exit $rc, expected $code"; cat "$TMP/err" >&2; return
    fi
    if ! grep -Eq -- "$pattern" "$TMP/err"; then
        fail "$desc: stderr does not match '$pattern':"; cat "$TMP/err" >&2; return
    fi
    if [ "$output" != "-" ]; then
        if [ -e "$output" ]; then fail "$desc: $output was left behind"; return; fi
        if ls "$output".tmp.* >/dev/null 2>&1; then
            fail "$desc: a temporary file was left behind"; return; fi
    fi
    pass
}

done_tests() {
    echo "$(basename "$0"): $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
}
