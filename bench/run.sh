#!/usr/bin/env bash
# bench/run.sh BUILD_DIR - the acthist benchmark (what `make bench` runs).
#
# Builds bench/gen_activations.c and bench/bench_acthist.c against
# BUILD_DIR/libacthist.a (flags as the Makefile's, OPT=-O2 unless OPT is
# set), generates seeded synthetic activations into a temporary directory
# (removed at the end), times libacthist and the ART-style NumPy baseline
# (bench/art_baseline.py, Debian's /usr/bin/python3 + python3-numpy) side by
# side, runs the streaming-fit scale test through the CLI, and prints the
# tables of bench/report.py.  JSON results stay in BUILD_DIR/bench/.
#
# The baseline runs on NumPy 2 or later: its np.unique and np.sort use
# vectorised sorts, which made the baseline's individual scan 2.7x and its
# group scan 2.3x faster than on Debian 12's NumPy 1.24 (42.6 against
# 114.8 us, 185 against 428 ms a restart, at D = 4096, N = 50,000), so
# ratios against 1.24 would flatter us.  The interpreter is BENCH_PYTHON if
# set, else the first of `python3` on PATH and BUILD_DIR/bench/venv whose
# NumPy is 2 or later, else that venv made here (python3-venv, then pip
# install numpy from PyPI); failing all, Debian's /usr/bin/python3, said so
# in the report.
#
# Environment:
#   BENCH_QUICK=1        small sizes, few repetitions: under a minute
#   BENCH_SCALE_ROWS     rows for the scale test (default "50000 200000 800000")
#   BENCH_PARTS          which parts to run (default "cases isa python shards
#                        basis scale memory e2e";
#                        memory: a loaded model's memory (acthist info)
#                        against the resident set its loading adds;
#                        e2e: acthist score end to end against the NumPy
#                        pipeline (bench/e2e.py);
#                        realscale, not by default: real network sizes,
#                        bench/scale_real.c, minutes and 14 GB each;
#                        isa: the library rebuilt with -DAH_ISA_MAX=0 and 1,
#                        to time the scalar and AVX2 kernels on this CPU;
#                        python: the same calls through the Python binding,
#                        bench/python_binding.py, in the baseline's
#                        interpreter, over BUILD_DIR/libacthist.so;
#                        shards: acthist fit against acthist-mpi-fit on 1
#                        and 2 processes, whose models must be identical;
#                        basis: fit --basis pca against the plain model)
#   BENCH_CASES          only these cases, e.g. "4096x50000" (default: all)
#   BENCH_TMPDIR         where the data goes (default $TMPDIR or /tmp)
#   BENCH_OUT            where results and binaries go (default BUILD_DIR/bench)
#   OPT                  optimisation flags for the two bench programs
#   BENCH_PYTHON         the interpreter of the NumPy baseline (see above)
#
# Every number is a median of repetitions on a shared machine: noisy, never
# a pass/fail test.
set -euo pipefail

BUILD=${1:-build}
QUICK=${BENCH_QUICK:-0}
CC=${CC:-cc}
OPT=${OPT:--O2}
PY=/usr/bin/python3
cd "$(dirname "$0")/.."

if [ ! -f "$BUILD/libacthist.a" ] || [ ! -f "$BUILD/libacthist.so" ] ||
   [ ! -x "$BUILD/acthist" ]; then
    echo "run.sh: $BUILD/libacthist.a, .so or $BUILD/acthist missing; build first:" \
         "make BUILD=$BUILD $BUILD/libacthist.a $BUILD/libacthist.so $BUILD/acthist" >&2
    exit 2
fi

OUT=${BENCH_OUT:-$BUILD/bench}
mkdir -p "$OUT"
FLAGS="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wvla $OPT -g -Iinclude"
$CC $FLAGS bench/gen_activations.c -o "$OUT/gen_activations" -lm
$CC $FLAGS bench/bench_acthist.c "$BUILD/libacthist.a" -o "$OUT/bench_acthist" -lm -lpthread
GEN=$OUT/gen_activations
BENCH=$OUT/bench_acthist

TMP=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/acthist-bench.XXXXXX")
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

RES=$OUT/results.jsonl
: > "$RES"
log() { echo "[bench $(date +%T)] $*" >&2; }
json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
skip() {
    printf '{"bench": "skip", "what": "%s", "why": "%s"}\n' \
        "$(json_str "$1")" "$(json_str "$2")" >> "$RES"
}

# The baseline's interpreter (see the top): NumPy 2 or later if we can.
numpy2() { "$1" -c 'import numpy, sys; sys.exit(int(numpy.__version__.split(".")[0]) < 2)' 2>/dev/null; }
BPY=${BENCH_PYTHON:-}
if [ -z "$BPY" ]; then
    for cand in "$(command -v python3 || true)" "$OUT/venv/bin/python"; do
        if [ -n "$cand" ] && [ -x "$cand" ] && numpy2 "$cand"; then BPY=$cand; break; fi
    done
fi
if [ -z "$BPY" ]; then
    log "making $OUT/venv with NumPy 2 for the baseline"
    if { /usr/bin/python3 -m venv "$OUT/venv" >/dev/null 2>&1 ||
         { sh tools/install-deps.sh --only python3-venv && /usr/bin/python3 -m venv "$OUT/venv"; }; } &&
       "$OUT/venv/bin/python" -m pip install -q 'numpy>=2' >&2 && numpy2 "$OUT/venv/bin/python"; then
        BPY=$OUT/venv/bin/python
    else
        BPY=$PY
        skip "NumPy 2 for the baseline" "could not get it; the baseline runs on $("$PY" -c 'import numpy; print("NumPy", numpy.__version__)' 2>/dev/null || echo "no NumPy"), whose scans are 2-3x slower, so the scan ratios are flattered"
    fi
fi
HAVE_NUMPY=1
if ! "$BPY" -c 'import numpy' 2>/dev/null; then
    HAVE_NUMPY=0
    skip "ART-style NumPy baseline" "$BPY cannot import numpy (apt-get install -y python3-numpy)"
fi

if [ "$QUICK" = 1 ]; then
    REPS=3; MINT=0.02; FITREPS=3; RESTARTS=2; NPRESTARTS=2; Q=200
    SCALE_ROWS=${BENCH_SCALE_ROWS:-"20000 40000 80000"}
else
    REPS=5; MINT=0.1; FITREPS=3; RESTARTS=4; NPRESTARTS=3; Q=1000
    SCALE_ROWS=${BENCH_SCALE_ROWS:-"50000 200000 800000"}
fi

# run_case D N FITS [flags...]
#   FITS: space-separated method:bins list, e.g. "hist:16 hist:256 empirical:0"
#   flags: numpy | art-layout | kde | scan=METHOD:BINS | batches=LIST | group-rows=M
run_case() {
    local D=$1 N=$2 fits=$3; shift 3
    local numpy=0 artl=0 kde=0 scan="empirical:0" batches="1,$Q" grows=$Q
    for f in "$@"; do
        case $f in
        numpy) numpy=$HAVE_NUMPY ;;
        art-layout) artl=1 ;;
        kde) kde=1 ;;
        scan=*) scan=${f#scan=} ;;
        batches=*) batches=${f#batches=} ;;
        group-rows=*) grows=${f#group-rows=} ;;
        esac
    done
    local tag="${D}x${N}" bg="$TMP/bg_${D}x${N}.npy" q="$TMP/q_${D}.npy"
    if [ -n "${BENCH_CASES:-}" ] && [[ " $BENCH_CASES " != *" $tag "* ]]; then
        skip "case D=$D N=$N" "not in BENCH_CASES=$BENCH_CASES"
        return
    fi
    log "case D=$D N=$N: generating"
    "$GEN" -n "$N" -d "$D" --seed 1 -o "$bg"
    [ -f "$q" ] || "$GEN" -n "$Q" -d "$D" --seed 2 --anomalous 0.1 -o "$q"
    local spec method bins model threads
    for spec in $fits $([ $kde = 1 ] && echo kde:0); do
        method=${spec%%:*}; bins=${spec#*:}
        model="$TMP/m_${tag}_${method}${bins}.model"
        log "case D=$D N=$N: fit $spec"
        "$BENCH" fit "$bg" "$method" "$bins" "$model" --reps $FITREPS --tag "$tag" >> "$RES"
        "$BENCH" load "$model" --reps 3 --min-time "$MINT" --tag "$tag" >> "$RES"
        threads=1
        [ "$spec" = "hist:$DEFBINS" ] || [ "$spec" = empirical:0 ] && threads=1,2
        log "case D=$D N=$N: p-values $spec"
        if [ "$method" = kde ]; then
            # a few microseconds per value: three repetitions are enough
            "$BENCH" pvalues "$model" "$q" --batches "$batches" --threads 1 --reps 3 \
                --min-time "$MINT" --tag "$tag" >> "$RES"
        else
            "$BENCH" pvalues "$model" "$q" --batches "$batches" --threads $threads \
                --reps $REPS --min-time "$MINT" --tag "$tag" >> "$RES"
        fi
    done
    method=${scan%%:*}; bins=${scan#*:}
    log "case D=$D N=$N: scans on $scan p-values"
    "$BENCH" scan "$TMP/m_${tag}_${method}${bins}.model" "$q" --threads 1,2 \
        --restarts $RESTARTS --group-rows "$grows" --reps $REPS --min-time "$MINT" \
        --tag "$tag" --scores-out "$TMP/scores_c_${tag}.txt" >> "$RES"
    log "case D=$D N=$N: read floor"
    "$BENCH" read "$q" --reps $REPS --min-time "$MINT" --tag "$tag" >> "$RES"
    if [ $numpy = 1 ]; then
        log "case D=$D N=$N: ART-style NumPy baseline"
        "$BPY" bench/art_baseline.py --bg "$bg" --queries "$q" --batches "$batches" \
            --reps $REPS --min-time "$MINT" --restarts $NPRESTARTS \
            --group-rows "$grows" --tag "$tag" \
            --scores-out "$TMP/scores_np_${tag}.txt" \
            $([ $artl = 1 ] && echo --art-layout) >> "$RES"
    fi
    rm -f "$bg" "$TMP"/m_"${tag}"_*.model
}

log "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
busy=$(pgrep -af 'python3.*(experiments|train|attack|extract|synth)' | grep -v bench || true)
[ -n "$busy" ] && log "WARNING: other jobs are running, timings will be noisy: $busy"

PARTS=${BENCH_PARTS:-cases isa python shards basis scale memory e2e}
# The library's default bin count gets the thread and ratio rows.
DEFBINS=$("$BENCH" default-bins)
ALLHIST="hist:16 hist:64 hist:256"
[[ " 16 64 256 " == *" $DEFBINS "* ]] || ALLHIST="$ALLHIST hist:$DEFBINS"
if [[ " $PARTS " != *" cases "* ]]; then
    skip "all timing cases" "BENCH_PARTS=$PARTS"
elif [ "$QUICK" = 1 ]; then
    run_case 256 5000 "$ALLHIST empirical:0" numpy kde
    run_case 4096 5000 "hist:$DEFBINS empirical:0" numpy
    skip "D=256 N=50000, D=4096 N=50000, D=65536 N=5000" "BENCH_QUICK=1 runs two small cases only"
else
    run_case 256 5000 "$ALLHIST empirical:0" numpy kde
    run_case 256 50000 "$ALLHIST empirical:0" numpy kde
    run_case 4096 5000 "$ALLHIST empirical:0" numpy kde
    run_case 4096 50000 "$ALLHIST empirical:0" numpy art-layout
    run_case 65536 5000 "hist:$DEFBINS" scan=hist:$DEFBINS batches=1,100 group-rows=100
    skip "KDE at D=4096 N=50000 and D=65536" "its fit keeps the sorted background (1.6 GB at D=4096 N=50000), as the empirical one does"
    skip "D=65536: empirical, other bin counts, NumPy, batch 1000" "time budget; p-values of 1000 x 65536 are 1 GB of output: batch 100 instead, scans on hist:$DEFBINS p-values"
    skip "D=65536 N=50000" "12.5 GB of float32 background per case; the scale test covers growth in N"
fi
[[ " $PARTS " == *" cases "* ]] &&
    skip "ART-style p-values on ART's own (N, D) layout" "timed at D=4096 N=50000 only (pvalues_art_layout rows): each column is copied before searchsorted"

# Instruction sets: the same calls with the library capped at scalar and
# AVX2 kernels (isa.c), at D = 4096 (N = 50,000; 5,000 with BENCH_QUICK),
# one thread; the uncapped library is timed again beside them.
isa_case() {
    local D=4096 N=50000 lvl lib b model="$TMP/isa.model" q="$TMP/q_4096.npy"
    [ "$QUICK" = 1 ] && N=5000
    log "isa: D=$D N=$N, the library at each instruction-set cap"
    for lvl in 0 1; do
        lib="$OUT/isa$lvl"
        make -s BUILD="$lib" CFLAGS="$OPT -g -DAH_ISA_MAX=$lvl" "$lib/libacthist.a"
        $CC $FLAGS bench/bench_acthist.c "$lib/libacthist.a" -o "$lib/bench_acthist" -lm -lpthread
    done
    "$GEN" -n "$N" -d "$D" --seed 1 -o "$TMP/isa_bg.npy"
    [ -f "$q" ] || "$GEN" -n "$Q" -d "$D" --seed 2 --anomalous 0.1 -o "$q"
    "$BENCH" fit "$TMP/isa_bg.npy" hist "$DEFBINS" "$model" --reps 1 --tag isa > /dev/null
    rm -f "$TMP/isa_bg.npy"
    for lvl in 0 1 2; do
        b=$BENCH
        [ $lvl -lt 2 ] && b=$OUT/isa$lvl/bench_acthist
        { "$b" pvalues "$model" "$q" --batches "$Q" --threads 1 --reps $REPS \
              --min-time "$MINT" --tag "isa$lvl"
          "$b" scan "$model" "$q" --threads 1 --restarts $RESTARTS --group-rows "$Q" \
              --reps $REPS --min-time "$MINT" --tag "isa$lvl"; } |
            sed "s/^{/{\"isa\": $lvl, /" >> "$RES"
    done
    rm -f "$model"
}
if [[ " $PARTS " == *" isa "* ]]; then
    if [ "$(uname -m)" = x86_64 ]; then isa_case; else skip "instruction sets" "not x86-64"; fi
fi

# Python: the binding against the same calls in C, at D = 4096 (N = 50,000;
# 5,000 with BENCH_QUICK), one thread.  The queries are float32, as a
# network's activations are: the binding passes them to ah_pvalues_f32 and
# ah_score_f32, timed in C too (--f32).
python_case() {
    local D=4096 N=50000 model="$TMP/py.model" q="$TMP/q_4096.npy"
    [ "$QUICK" = 1 ] && N=5000
    log "python: D=$D N=$N, the binding in $BPY against the C calls"
    "$GEN" -n "$N" -d "$D" --seed 1 -o "$TMP/py_bg.npy"
    [ -f "$q" ] || "$GEN" -n "$Q" -d "$D" --seed 2 --anomalous 0.1 -o "$q"
    "$BENCH" fit "$TMP/py_bg.npy" hist "$DEFBINS" "$model" --reps 1 --tag python > /dev/null
    rm -f "$TMP/py_bg.npy"
    { "$BENCH" pvalues "$model" "$q" --batches "1,$Q" --threads 1 --reps $REPS \
          --min-time "$MINT" --tag python --f32
      "$BENCH" scan "$model" "$q" --threads 1 --restarts $RESTARTS --group-rows "$Q" \
          --reps $REPS --min-time "$MINT" --tag python; } |
        sed 's/^{/{"part": "python", /' >> "$RES"
    ACTHIST_LIBRARY="$PWD/$BUILD/libacthist.so" "$BPY" bench/python_binding.py \
        --model "$model" --queries "$q" --restarts $RESTARTS --reps $REPS \
        --min-time "$MINT" --tag python >> "$RES"
    rm -f "$model"
}
if [[ " $PARTS " == *" python "* ]]; then
    if [ $HAVE_NUMPY = 1 ]; then python_case; else skip "Python binding" "$BPY cannot import numpy"; fi
fi

# Fit in shards: `acthist fit` against `mpirun -n P acthist-mpi-fit` for
# P = 1 (the cost of planning, counting and merging) and P = 2 (this
# machine's cores), at D = 4096 (N = 50,000; 5,000 with BENCH_QUICK),
# alternating, 3 runs each; each model is compared with cmp to the fit's.
seconds() { # seconds COMMAND...: the wall time of COMMAND (output dropped)
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1 || return 1
    t1=$(date +%s%N)
    echo "$(( (t1 - t0) / 1000 ))e-6"
}
shards_case() {
    local D=4096 N=50000 bg="$TMP/sh_bg.npy" r p t same
    local mpi="$BUILD/acthist-mpi-fit"
    [ "$QUICK" = 1 ] && N=5000
    log "shards: D=$D N=$N, acthist fit against acthist-mpi-fit"
    "$GEN" -n "$N" -d "$D" --seed 1 -o "$bg"
    local fit=() p1=() p2=()
    for r in 1 2 3; do
        fit+=("$(seconds "$BUILD/acthist" fit -o "$TMP/sh_fit.ahm" "$bg")")
        for p in 1 2; do
            t=$(seconds mpirun -n $p "$mpi" -o "$TMP/sh_mpi$p.ahm" "$bg")
            if [ $p = 1 ]; then p1+=("$t"); else p2+=("$t"); fi
        done
    done
    for p in 1 2; do
        same=false
        cmp -s "$TMP/sh_fit.ahm" "$TMP/sh_mpi$p.ahm" && same=true
        local ts="${p1[*]}"
        [ $p = 2 ] && ts="${p2[*]}"
        printf '{"bench": "shards", "D": %d, "N": %d, "processes": %d, "fit_s": [%s], "mpi_s": [%s], "identical": %s}\n' \
            "$D" "$N" "$p" "$(IFS=,; echo "${fit[*]}")" "$(echo $ts | tr ' ' ,)" "$same" >> "$RES"
    done
    rm -f "$bg" "$TMP"/sh_*.ahm
}
if [[ " $PARTS " == *" shards "* ]]; then
    if [ -x "$BUILD/acthist-mpi-fit" ] && command -v mpirun > /dev/null; then
        shards_case
    else
        skip "fit in shards" "$BUILD/acthist-mpi-fit not built (no mpicc: tools/install-deps.sh installs MPICH)"
    fi
fi

# Basis: the conditional model (ten labels) with basis pca against the
# plain one on the same rows in the same run: fit time, bytes, and the
# time to score a batch, as ratios (D = 256 and 1024, N = 50,000; D = 256,
# N = 5,000 with BENCH_QUICK).
basis_case() {
    local D=$1 N=$2 bg="$TMP/basis_bg.npy" q="$TMP/basis_q_$1.npy"
    log "basis: D=$D N=$N, pca against none"
    "$GEN" -n "$N" -d "$D" --seed 1 -o "$bg"
    "$GEN" -n "$Q" -d "$D" --seed 2 --anomalous 0.1 -o "$q"
    "$BENCH" basis "$bg" "$q" --batches "$Q" --reps $REPS --min-time "$MINT" \
        --tag "${D}x${N}" >> "$RES"
    rm -f "$bg" "$q"
}
if [[ " $PARTS " == *" basis "* ]]; then
    if [ "$QUICK" = 1 ]; then
        basis_case 256 5000
    else
        basis_case 256 50000
        basis_case 1024 50000
    fi
fi

# Scale: the streaming CLI fit, time and peak RSS per N.
[[ " $PARTS " == *" scale "* ]] || SCALE_ROWS=""
for n in $SCALE_ROWS; do
    f="$TMP/scale_${n}.npy"
    need=$(( n * 256 * 4 + 4096 ))
    avail=$(( $(df -Pk "$TMP" | awk 'NR==2 {print $4}') * 1024 ))
    if [ $(( need + need / 10 + (1 << 30) )) -gt "$avail" ]; then
        skip "scale N=$n" "needs $need bytes on $(dirname "$TMP"), $avail free"
        continue
    fi
    log "scale: N=$n D=256 (generating $(( need >> 20 )) MB)"
    "$GEN" -n "$n" -d 256 --seed 3 -o "$f"
    reps=3
    [ "$need" -gt $(( 1 << 30 )) ] && reps=1
    "$BENCH" scale "$f" "$TMP/scale.model" "$BUILD/acthist" --reps $reps \
        --tag "scale" >> "$RES"
    rm -f "$f" "$TMP/scale.model"
done

# Memory: what a loaded model holds (acthist info's memory line) against
# what loading adds to the resident set, on bench/memory_case.py's
# background (N = 50,000 x D = 1,024, 60% exact zeros, 10 labels), pooled
# and conditional.
memory_case() {
    local d="$TMP/memory"
    mkdir -p "$d"
    log "memory: N=50000 D=1024, 60% zeros, 10 labels (bench/memory_case.py)"
    "$PY" bench/memory_case.py "$d"
    "$BUILD/acthist" fit "$d/bg.npy" -o "$d/pooled.model" 2> /dev/null
    "$BUILD/acthist" fit "$d/bg.npy" --labels "$d/labels.npy" \
        -o "$d/conditional.model" 2> /dev/null
    for m in pooled conditional; do
        "$BENCH" load "$d/$m.model" --reps 3 --min-time "$MINT" \
            --tag "memory $m" >> "$RES"
    done
    rm -rf "$d"
}
# End to end: `acthist score` of 2,000 x 2,048 float32 inputs against a
# model of N = 20,000 (load, read, p-values, scan, CSV) and the NumPy
# pipeline on the same files (bench/e2e.py, in the baseline's interpreter).
e2e_case() {
    local d="$TMP/e2e" n=20000 q=2000
    [ "$QUICK" = 1 ] && n=5000 q=500
    mkdir -p "$d"
    log "e2e: acthist score against the NumPy pipeline, D=2048 N=$n, $q inputs"
    "$GEN" -n "$n" -d 2048 --seed 1 -o "$d/bg.npy"
    "$GEN" -n "$q" -d 2048 --seed 2 --anomalous 0.1 -o "$d/q.npy"
    "$BPY" bench/e2e.py "$BUILD/acthist" "$d/bg.npy" "$d/q.npy" "$d" \
        --reps "$REPS" >> "$RES"
    rm -rf "$d"
}
if [[ " $PARTS " == *" e2e "* ]]; then
    if [ "$HAVE_NUMPY" = 1 ]; then e2e_case
    else skip "e2e" "no NumPy for the pipeline"; fi
fi

# Real network sizes (bench/scale_real.c: rows made on demand, the raw
# data never on disk), opt-in: BENCH_PARTS=realscale.  Minutes and up to
# 14 GB of memory each (the fit counts its label sets in groups that fit
# half of the machine's memory).
realscale_case() {
    $CC $FLAGS bench/scale_real.c "$BUILD/libacthist.a" -o "$OUT/scale_real" -lm -lpthread
    log "realscale: D=200704 pooled, N=10000"
    "$OUT/scale_real" --rows 10000 --cols 200704 --out "$TMP/real_a.model" \
        --score-rows 100 >> "$RES"
    rm -f "$TMP/real_a.model"
    log "realscale: D=2048, 1000 labels, N=1281167"
    "$OUT/scale_real" --rows 1281167 --cols 2048 --labels 1000 \
        --out "$TMP/real_b.model" --score-rows 1000 >> "$RES"
    rm -f "$TMP/real_b.model"
}
[[ " $PARTS " == *" realscale "* ]] && realscale_case

if [[ " $PARTS " == *" memory "* ]]; then
    if "$PY" -c 'import numpy' 2> /dev/null; then memory_case
    else skip "memory" "$PY cannot import numpy (apt-get install -y python3-numpy)"; fi
fi

"$PY" bench/report.py "$RES" --scores "$TMP" | tee "$OUT/report.txt"
log "results: $RES, tables: $OUT/report.txt"
