#!/bin/sh
# Bad input: every case gets a message naming the file and the
# problem, a non-zero exit, and no output file (nor temporary) left behind.
. "$(dirname "$0")/lib.sh"
DATA=$(cd "$(dirname "$0")/../data" && pwd)
cd "$TMP"
$PY - <<'PY'
import numpy as np, struct
r = np.random.default_rng(1)
x = r.normal(size=(100, 6)).astype(np.float32)
np.save("bg.npy", x)
np.save("q5.npy", x[:, :5])
np.save("empty.npy", np.zeros((0, 6), np.float32))
y = x.copy(); y[17, 3] = np.nan; np.save("nan.npy", y)
y = x.copy(); y[4, 2] = np.inf; np.save("inf.npy", y)
np.save("obj.npy", np.array([{"a": 1}] * 3, dtype=object), allow_pickle=True)
np.save("lab_short.npy", np.arange(50))
np.save("lab_float.npy", np.linspace(0, 1, 100))
raw = open("bg.npy", "rb").read()
open("trunc.npy", "wb").write(raw[:-10])                 # data cut short
open("hdr_trunc.npy", "wb").write(raw[:30])              # header cut short
open("magic.npy", "wb").write(b"XNUMPY" + raw[6:])       # not a .npy
# a lying header: claims 1000 rows
h = raw[:128].replace(b"(100, 6)", b"(1000, 6)")
open("lie.npy", "wb").write(h + raw[128:])
# a shape whose product overflows 64 bits
def npy(header, data=b""):
    header = header + " " * (118 - len(header)) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data
open("overflow.npy", "wb").write(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }"))
open("badver.npy", "wb").write(b"\x93NUMPY\x09\x00" + raw[8:])
open("garbage_hdr.npy", "wb").write(npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (100, 6), }", x.tobytes()))
PY
A=$ACTHIST
check "fit reference model" $A fit -o m.ahm bg.npy
# .npy inputs
expect_error "missing file" 1 "nope.npy" out.ahm $A fit -o out.ahm nope.npy
expect_error "truncated data" 1 "trunc.npy" out.ahm $A fit -o out.ahm trunc.npy
expect_error "truncated header" 1 "hdr_trunc.npy" out.ahm $A fit -o out.ahm hdr_trunc.npy
expect_error "bad magic" 1 "magic.npy" out.ahm $A fit -o out.ahm magic.npy
expect_error "lying header" 1 "lie.npy" out.ahm $A fit -o out.ahm lie.npy
expect_error "shape overflow" 1 "overflow.npy" out.ahm $A fit -o out.ahm overflow.npy
expect_error "unsupported version" 1 "badver.npy" out.ahm $A fit -o out.ahm badver.npy
expect_error "unparsable header" 1 "garbage_hdr.npy" out.ahm $A fit -o out.ahm garbage_hdr.npy
expect_error "object dtype" 1 "obj.npy" out.ahm $A fit -o out.ahm obj.npy
expect_error "NaN in background" 1 "nan.npy.*row 17.*column 3" out.ahm $A fit -o out.ahm nan.npy
expect_error "inf in input" 1 "inf.npy.*row 4.*column 2" out.npy $A pvalues m.ahm inf.npy -o out.npy
expect_error "empty background" 1 "empty.npy.*empty" out.ahm $A fit -o out.ahm empty.npy
expect_error "empty input" 1 "empty.npy.*empty" out.npy $A pvalues m.ahm empty.npy -o out.npy
expect_error "D mismatch" 1 "q5.npy.*5 nodes.*6" out.npy $A pvalues m.ahm q5.npy -o out.npy
expect_error "D mismatch between backgrounds" 1 "q5.npy" out.ahm $A fit -o out.ahm bg.npy q5.npy
expect_error "labels count" 1 "lab_short.npy.*50 labels" out.ahm $A fit -o out.ahm bg.npy --labels lab_short.npy
expect_error "non-integer labels" 1 "lab_float.npy" out.ahm $A fit -o out.ahm bg.npy --labels lab_float.npy
# models
head -c 100 m.ahm > trunc.ahm
expect_error "truncated model" 1 "trunc.ahm.*truncated" out.npy $A pvalues trunc.ahm bg.npy -o out.npy
cp m.ahm corrupt.ahm
printf '\377' | dd of=corrupt.ahm bs=1 seek=200 conv=notrunc 2>/dev/null
expect_error "corrupted model" 1 "corrupt.ahm.*checksum" out.npy $A pvalues corrupt.ahm bg.npy -o out.npy
cp m.ahm future.ahm
printf '\002' | dd of=future.ahm bs=1 seek=8 conv=notrunc 2>/dev/null
expect_error "future model version" 1 "future.ahm.*version 2" out.npy $A pvalues future.ahm bg.npy -o out.npy
expect_error "not a model" 1 "bg.npy.*not an acthist model" out.npy $A pvalues bg.npy bg.npy -o out.npy
expect_error "missing model" 1 "nomodel.ahm" out.npy $A info nomodel.ahm
# golden model and shard files (tests/data/make_bad_files.py): the good
# ones load, each bad one (a header field out of range, or a structural
# lie, checksum made right) is refused with its message naming the file
for f in model/good.ahm model/good_cond.ahm shard/good.plan shard/good_cond.plan shard/good.counts; do
    check "golden $f loads" $A info "$DATA/$f"
done
check "golden counts finish" $A merge -o golden.ahm "$DATA/shard/good.counts"
for dir in model shard; do
    n=0
    while IFS='	' read -r f msg; do
        case "$f" in ''|'#'*) continue ;; esac
        n=$((n + 1))
        $A info "$DATA/$dir/$f" >"$TMP/out" 2>"$TMP/err"
        rc=$?
        if [ "$rc" -eq 1 ] && grep -qF -- "$DATA/$dir/$f: " "$TMP/err" &&
           grep -qF -- "$msg" "$TMP/err"; then pass; else
            fail "golden $dir/$f: exit $rc, wanted 1 and '$msg':"
            cat "$TMP/err" >&2
        fi
    done <"$DATA/$dir/EXPECTED"
    [ "$n" -ge 40 ] && pass || fail "$dir/EXPECTED lists $n files"
done
# outputs
expect_error "unwritable output dir" 1 "nodir/out.npy" nodir/out.npy $A pvalues m.ahm bg.npy -o nodir/out.npy
expect_error "unwritable model path" 1 "nodir/out.ahm" nodir/out.ahm $A fit -o nodir/out.ahm bg.npy
# an existing output is not clobbered by a failing run
echo keep > keep.npy
$A pvalues m.ahm nan.npy -o keep.npy 2>/dev/null
[ "$(cat keep.npy)" = keep ] && pass || fail "a failing run replaced an existing output"
ls ./*.tmp.* >/dev/null 2>&1 && fail "temporary files left in $TMP" || pass
done_tests
