#!/bin/sh
# acthist-mpi-fit under mpirun: 1 to 5 processes (more than rows, too) give
# the bytes of `acthist fit`, pooled and conditional, several files, other
# options; a NaN in one process's slice, a missing file and a bad option
# stop every process with a message, a non-zero exit and no output file.
. "$(dirname "$0")/lib.sh"
MPI_FIT="$(dirname "$ACTHIST")/acthist-mpi-fit"
if [ ! -x "$MPI_FIT" ]; then
    if command -v mpicc >/dev/null 2>&1; then
        fail "mpicc is installed but $MPI_FIT was not built"
    else
        echo "test_mpi.sh: no MPI installed (tools/install-deps.sh installs MPICH): nothing run"
    fi
    done_tests
    exit $?
fi
# Under the sanitizers, MPICH's MPI_Init keeps what hwloc allocated: full
# stacks (slow unwinding) let the suppressions name it; our leaks still fail.
if ldd "$MPI_FIT" | grep -q libasan; then
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}fast_unwind_on_malloc=0"
    export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan_mpi.supp:print_suppressions=0"
fi
cd "$TMP"
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(5)
n, D = 1100, 7
x = np.maximum(r.normal(size=(n, D)) * np.arange(1, D + 1), 0).astype(np.float32)
x[r.random(n) < 0.2, 4] = 3.0
lab = r.integers(0, 5, n).astype(np.int64)
np.save("a.npy", x[:333]); np.save("b.npy", x[333:])
np.save("la.npy", lab[:333]); np.save("lb.npy", lab[333:])
np.save("tiny.npy", x[:3])
y = x[333:].copy(); y[700, 2] = np.nan      # row 1033 overall: the last process's slice
np.save("nan.npy", y)
PY
A=$ACTHIST
# mpirun as root needs no flag with MPICH; a timeout turns a hang into a failure
run() { timeout 120 mpirun "$@"; }
for p in 1 2 3 5; do
    check "mpi fit, $p processes" run -n $p "$MPI_FIT" -o m$p.ahm a.npy b.npy
    check "fit" $A fit -o one.ahm a.npy b.npy
    cmp -s m$p.ahm one.ahm && pass || fail "$p processes: model differs from acthist fit"
    check "mpi conditional, $p processes" run -n $p "$MPI_FIT" -o c$p.ahm a.npy b.npy --labels la.npy --labels lb.npy
    check "conditional fit" $A fit -o onec.ahm a.npy b.npy --labels la.npy --labels lb.npy
    cmp -s c$p.ahm onec.ahm && pass || fail "$p processes: conditional model differs"
done
check "mpi, other options" run -n 3 "$MPI_FIT" --bins 50 --tail two --atom-share 0.1 --chunk-rows 13 -o o.ahm a.npy b.npy
check "fit, other options" $A fit --bins 50 --tail two --atom-share 0.1 -o oneo.ahm a.npy b.npy
cmp -s o.ahm oneo.ahm && pass || fail "other options: model differs"
check "more processes than rows" run -n 4 "$MPI_FIT" -o t.ahm tiny.npy
grep -q "with 4 processes: 3 rows x 7 nodes" "$TMP/err" && pass || fail "the summary line of 4 processes"
check "fit tiny" $A fit -o onet.ahm tiny.npy
cmp -s t.ahm onet.ahm && pass || fail "3 rows on 4 processes: model differs"
expect_error "a NaN in the last slice" 1 "process 2: nan.npy: row 700, column 2: NaN" bad.ahm run -n 3 "$MPI_FIT" -o bad.ahm a.npy nan.npy
expect_error "a missing file" 1 "nothere.npy: cannot open" bad.ahm run -n 3 "$MPI_FIT" -o bad.ahm a.npy nothere.npy
[ "$(grep -c "cannot open" "$TMP/err")" -eq 1 ] && pass || fail "the error is printed more than once"
expect_error "a bad option" 2 "--bins" bad.ahm run -n 2 "$MPI_FIT" --bins x -o bad.ahm a.npy
expect_error "an unknown tail" 2 "^acthist: --tail: 'upp' is not one of upper, lower, two, both$" \
    bad.ahm run -n 2 "$MPI_FIT" --tail upp -o bad.ahm a.npy
expect_error "an unknown binning" 2 "^acthist: --binning: 'x' is not one of width, quantile, tails$" \
    bad.ahm run -n 2 "$MPI_FIT" --binning x -o bad.ahm a.npy
expect_error "no -o" 2 "missing -o" - run -n 2 "$MPI_FIT" a.npy
done_tests
