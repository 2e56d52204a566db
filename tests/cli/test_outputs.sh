#!/bin/sh
# Where outputs go (include/acthist.h, "How every output ... is written"):
# every writer of the CLI, pointed at a character device, a full device, a
# FIFO, a symbolic link, an existing file of mode 0640 and under umask 077;
# inputs that are FIFOs (a process killed mid-write: tests/test_output_files.c).
# The devices are private ones made with mknod in a temporary folder.
. "$(dirname "$0")/lib.sh"
cd "$TMP" || exit 1
A="timeout 30 $ACTHIST"  # a hang is a failure, not a stuck suite
$PY - <<'PY'
import numpy as np
r = np.random.default_rng(5)
np.save("bg.npy", r.normal(size=(400, 6)).astype(np.float32))
np.save("lab.npy", r.integers(0, 3, 400))
np.save("x.npy", r.normal(size=(30, 6)))
np.save("xl.npy", r.integers(0, 3, 30))
PY
$A fit -o m.ahm bg.npy 2>/dev/null || fail "setup fit"
$A fit --plan-only -o p.plan bg.npy 2>/dev/null || fail "setup plan"
$A fit --plan p.plan -o c.counts bg.npy 2>/dev/null || fail "setup counts"

# Each writer, as "name|command with OUT for the output path".
writers() {
    cat <<'EOF'
fit|$A fit -o OUT bg.npy
fit --plan-only|$A fit --plan-only -o OUT bg.npy
fit --plan|$A fit --plan p.plan -o OUT bg.npy
merge|$A merge -o OUT c.counts
pvalues|$A pvalues m.ahm x.npy -o OUT
score|$A score m.ahm x.npy -o OUT
plot-node|$A plot-node m.ahm --node 1 --input x.npy -o OUT
eval --roc|$A eval m.ahm --clean x.npy --anomalous x.npy --roc OUT
eval --plot|$A eval m.ahm --clean x.npy --anomalous x.npy --plot OUT
EOF
}

mknod -m 666 null c 1 3 || fail "mknod null"
mknod -m 666 full c 1 7 || fail "mknod full"
writers | while IFS='|' read -r name cmd; do
    # A character device is written in place, never replaced by a file.
    eval "$(echo "$cmd" | sed 's/OUT/null/')" >/dev/null 2>err
    rc=$?
    kind=$(stat -c %F null)
    if [ "$rc" -ne 0 ] || [ "$kind" != "character special file" ]; then
        echo "FAIL: $name -o <char device>: exit $rc, now a $kind" >&2
        cat err >&2
        echo x
    fi
    # A full device: the error, exit 1, and the device is still one.
    eval "$(echo "$cmd" | sed 's/OUT/full/')" >/dev/null 2>err
    rc=$?
    kind=$(stat -c %F full)
    if [ "$rc" -ne 1 ] || ! grep -q "No space left on device" err ||
       [ "$kind" != "character special file" ]; then
        echo "FAIL: $name -o <full device>: exit $rc, now a $kind" >&2
        cat err >&2
        echo x
    fi
    # A FIFO with a reader gets the bytes the regular file gets.
    rm -f fifo reg reg.got
    mkfifo fifo
    timeout 30 cat fifo >reg.got &
    reader=$!
    eval "$(echo "$cmd" | sed 's/OUT/fifo/')" >/dev/null 2>err
    rc=$?
    wait $reader
    eval "$(echo "$cmd" | sed 's/OUT/reg/')" >/dev/null 2>&1
    if [ "$rc" -ne 0 ] || [ ! -p fifo ]; then
        echo "FAIL: $name -o <fifo>: exit $rc" >&2
        cat err >&2
        echo x
    elif [ "$name" = pvalues ] || [ "$name" = score ] ||
         [ "$name" = "eval --roc" ]; then
        # Deterministic outputs must match byte for byte.
        cmp -s reg reg.got || { echo "FAIL: $name -o <fifo>: other bytes" >&2; echo x; }
    fi
    # umask 077: a new output is 0600; a 0640 file replaced stays 0640.
    rm -f new.out old.out
    (umask 077; eval "$(echo "$cmd" | sed 's/OUT/new.out/')") >/dev/null 2>&1
    echo old >old.out
    chmod 640 old.out
    eval "$(echo "$cmd" | sed 's/OUT/old.out/')" >/dev/null 2>&1
    if [ "$(stat -c %a new.out)" != 600 ] || [ "$(stat -c %a old.out)" != 640 ]; then
        echo "FAIL: $name: modes $(stat -c %a new.out) under umask 077," \
             "$(stat -c %a old.out) over a 0640 file" >&2
        echo x
    fi
    # A symbolic link to a file: the file is replaced, the link stays.
    rm -f target.out link.out
    echo old >target.out
    ln -s target.out link.out
    eval "$(echo "$cmd" | sed 's/OUT/link.out/')" >/dev/null 2>&1
    if [ ! -L link.out ] || [ "$(cat target.out)" = old ]; then
        echo "FAIL: $name -o <symlink>: the link was replaced or the file not written" >&2
        echo x
    fi
    ls ./*.tmp.* >/dev/null 2>&1 && { echo "FAIL: $name left a temporary" >&2; echo x; }
    echo ok
done >results 2>errors
n_ok=$(grep -c '^ok$' results)
n_bad=$(grep -c '^x$' results)
[ "$n_ok" -eq 9 ] && pass || fail "only $n_ok of 9 writers ran"
if [ "$n_bad" -eq 0 ]; then pass; else fail "$n_bad writer checks"; cat errors >&2; fi

# A directory or a block device is refused, and left as it was.
mkdir adir
expect_error "-o a directory" 1 "adir: is a directory" - $A fit -o adir bg.npy
[ -d adir ] && pass || fail "the directory was replaced"
if mknod -m 600 blk b 7 200 2>/dev/null; then
    expect_error "-o a block device" 1 "blk: is a block device" - $A fit -o blk bg.npy
    [ -b blk ] && pass || fail "the block device was replaced"
fi

# A FIFO as an input is refused at once, not waited on.
mkfifo in.fifo
for cmd in "info in.fifo" "fit -o o.ahm in.fifo" "score m.ahm in.fifo" \
           "fit -o o.ahm bg.npy --labels in.fifo" "pvalues in.fifo x.npy -o o.npy"; do
    # shellcheck disable=SC2086
    expect_error "FIFO input ($cmd)" 1 "in.fifo: not a regular file" - \
        $A $cmd
done

# An output that names an input would replace it: refused, the input kept.
cp bg.npy bgcopy.npy
ln -s bg.npy bglink.npy
for cmd in "fit -o bg.npy bg.npy" "fit -o bglink.npy bg.npy" "pvalues m.ahm x.npy -o x.npy" \
           "pvalues m.ahm x.npy -o m.ahm" "score m.ahm x.npy -o x.npy" "merge -o c.counts c.counts"; do
    # shellcheck disable=SC2086
    expect_error "output = input ($cmd)" 2 "is also an input" - $A $cmd
done
cmp -s bg.npy bgcopy.npy && pass || fail "the background was replaced"
$A fit -o cm.ahm bg.npy --labels lab.npy 2>/dev/null
check "calibrate in place (OUT = MODEL)" $A calibrate cm.ahm x.npy --labels xl.npy --fpr 0.1 -o cm.ahm
$A info cm.ahm | grep -q "^threshold:  score above" && pass || fail "calibrate in place"

# Progress: on a terminal (a pseudo-terminal from script(1)) fit and score
# say how far they are; in a pipe they say nothing of it.
if command -v script >/dev/null 2>&1; then
    script -qec "$ACTHIST fit -o prog.ahm bg.npy --labels lab.npy" /dev/null >tty.out 2>&1
    grep -q "fit: .* of 400 rows" tty.out && pass || fail "fit on a terminal: no progress"
    script -qec "$ACTHIST score prog.ahm x.npy --labels xl.npy -o prog.csv" /dev/null >tty.out 2>&1
    grep -q "score: 30 of 30 rows" tty.out && pass || fail "score on a terminal: no progress"
    $A fit -o prog.ahm bg.npy --labels lab.npy 2>pipe.err
    $A score prog.ahm x.npy --labels xl.npy -o prog.csv 2>>pipe.err
    grep -q "rows/s" pipe.err && fail "progress in a pipe" || pass
fi

done_tests
