#!/bin/sh
# SVG plots: plot-node on hist, conditional and empirical models with and
# without new activations (all of them, or those of one label with
# --input-labels), regrouped into fewer bars with --bins, the degenerate
# histograms (one atom, no cells, zero counts, marks far outside, thousands
# of bins) and ROC curves through a small C driver of cli/svg.c.  Every SVG must parse as XML (Python's
# ElementTree) and hold the expected elements; each is rendered in headless
# Chromium when it is installed ("SKIP chromium" otherwise) and must give a
# PNG clearly larger than a blank page's.  Usage errors exit 2, runtime
# errors exit 1, both naming the file, with no output left behind.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(dirname "$ACTHIST")
A=$ACTHIST
cd "$TMP"

$PY - <<'PY'
import numpy as np
r = np.random.default_rng(11)
n = 1500
x = np.maximum(r.normal(size=(n, 4)), 0)       # node 0: ReLU, atom at 0
x[:, 1] = r.normal(5, 2, size=n)               # node 1: no atom
x[:, 2] = 0.5                                  # node 2: constant
x[r.random(n) < 0.25, 3] = 2.0                 # node 3: a spike at 2
np.save("bg.npy", x.astype(np.float32))
np.save("lab.npy", r.integers(0, 3, n).astype(np.int64))
q = np.maximum(r.normal(1.5, 1, size=(20, 4)), 0)
q[:3, 0] = [-40.0, 0.0, 250.0]                 # far outside the background
np.save("q.npy", q)
np.save("q3.npy", q[:, :3])
np.save("qbig.npy", np.maximum(r.normal(0.8, 1, size=(3000, 4)), 0))
np.save("wide.npy", r.normal(size=(20000, 1)))
np.save("qlab.npy", np.arange(20) % 3)          # labels 0, 1, 2 of q.npy's rows
np.save("qlab0.npy", np.zeros(20, np.int64))
np.save("qlab19.npy", np.arange(19) % 3)
PY

# svg FILE: well-formed XML whose root is an SVG 1.1 element with a size.
svg_ok() {
    $PY - "$1" <<'PY'
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
assert r.get("version") == "1.1"
assert r.get("width") and r.get("height") and r.get("viewBox"), "no size"
assert r.find("{http://www.w3.org/2000/svg}title") is not None
PY
}

# texts FILE: every text element's content, one a line.
texts() {
    $PY - "$1" <<'PY'
import sys, xml.etree.ElementTree as E
for t in E.parse(sys.argv[1]).getroot().iter("{http://www.w3.org/2000/svg}text"):
    print("".join(t.itertext()))
PY
}

# render FILE.svg: Chromium must exit 0 and draw something.
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$CHROMIUM" ]; then
    printf '%s\n' '<?xml version="1.0"?>' \
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>' \
        >blank.svg
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --screenshot="$TMP/blank.png" --window-size=800,800 \
        "file://$TMP/blank.svg" >/dev/null 2>&1
    BLANK=$(stat -c %s blank.png 2>/dev/null || echo 0)
fi
render() {
    if [ -z "$CHROMIUM" ]; then echo "SKIP chromium ($1)"; return; fi
    png=${1%.svg}.png
    rm -f "$png"
    if ! timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
        --screenshot="$TMP/$png" --window-size=800,800 "file://$TMP/$1" \
        >chromium.log 2>&1; then
        fail "chromium failed on $1"; tail -5 chromium.log >&2; return
    fi
    size=$(stat -c %s "$png" 2>/dev/null || echo 0)
    if [ "$size" -gt $((2 * BLANK + 2000)) ]; then pass; else
        fail "$png is blank or missing ($size bytes, blank $BLANK)"; fi
    [ -n "${SVG_KEEP:-}" ] && cp "$1" "$png" "$SVG_KEEP"/ 2>/dev/null
    return 0
}

check "fit hist" $A fit --bins 256 -o m.ahm bg.npy
check "fit conditional" $A fit --bins 256 -o ml.ahm bg.npy --labels lab.npy
check "fit empirical" $A fit --method empirical -o e.ahm bg.npy
check "fit 4000 bins" $A fit --bins 4000 -o wide.ahm wide.npy

# Node 0 to standard output, no input: bins, the atom at 0, no marks.
check "plot-node stdout" $A plot-node m.ahm --node 0
cp "$TMP/out" n0.svg
svg_ok n0.svg && pass || fail "n0.svg is not a well-formed SVG"
grep -q '<path fill="#56B4E9"' n0.svg && pass || fail "n0.svg: no bins path"
grep -q '#009E73' n0.svg && pass || fail "n0.svg: no atom bar"
grep -q '#D55E00' n0.svg && fail "n0.svg: marks without --input" || pass
texts n0.svg >t0
grep -qx "activation of node 0" t0 && pass || fail "n0.svg: no x label"
grep -qx "background count per bin" t0 && pass || fail "n0.svg: no y label"
grep -q "m.ahm: node 0" t0 && pass || fail "n0.svg: no title"
render n0.svg

# With new activations, to a file: marks, a legend with their count, and an
# x axis stretched to the marks at -40 and 250.
check "plot-node --input -o" $A plot-node m.ahm --node 0 --input q.npy -o n0q.svg
svg_ok n0q.svg && pass || fail "n0q.svg is not a well-formed SVG"
[ ! -s "$TMP/out" ] && pass || fail "-o also wrote to standard output"
ls n0q.svg.tmp.* >/dev/null 2>&1 && fail "temporary file left" || pass
grep -q 'stroke="#D55E00"' n0q.svg && pass || fail "n0q.svg: no marks"
texts n0q.svg >t0q
grep -qx "new activations (n = 20)" t0q && pass || fail "n0q.svg: no marks legend"
$PY - t0q <<'PY' && pass || fail "x axis does not reach the marks at -40 and 250"
import sys
v = []
for s in open(sys.argv[1]).read().split("\n"):
    try: v.append(float(s))
    except ValueError: pass
assert min(v) <= -40 + 50 and max(v) >= 250 - 50, v
PY
render n0q.svg

# Node 3: an atom far taller than the bins is cut, its count written.
check "plot-node spike" $A plot-node m.ahm --node 3 --input q.npy -o n3.svg
svg_ok n3.svg && pass || fail "n3.svg is not a well-formed SVG"
texts n3.svg >t3
spike=$($PY -c "import numpy as np; x=np.load('bg.npy')[:,3]; print((x==2).sum())")
grep -qx "$spike" t3 && pass || fail "n3.svg: the spike count $spike is not written"
grep -q "written above the cut ones" t3 && pass || fail "n3.svg: no cut note"
render n3.svg

# Node 2: one atom, a zero-width background range.
check "plot-node constant" $A plot-node m.ahm --node 2 -o n2.svg
svg_ok n2.svg && pass || fail "n2.svg is not a well-formed SVG"
texts n2.svg >t2
grep -qx 1500 t2 && pass || fail "n2.svg: the atom count is not written"
grep -qx "background count" t2 && pass || fail "n2.svg: y label"
grep -c '^0\.[0-9]*$' t2 | grep -qv '^[01]$' && pass || fail "n2.svg: no ticks around 0.5"
render n2.svg

# Conditional background; empirical model grouped into display bins;
# 4000 bins stay a compact path.
check "plot-node --label" $A plot-node ml.ahm --node 1 --label 2 -o l1.svg
svg_ok l1.svg && pass || fail "l1.svg is not a well-formed SVG"
grep -q "node 1, label 2" l1.svg && pass || fail "l1.svg: label not in title"
render l1.svg
check "plot-node empirical" $A plot-node e.ahm --node 1 --input qbig.npy -o e1.svg
svg_ok e1.svg && pass || fail "e1.svg is not a well-formed SVG"
texts e1.svg >te
grep -qx "background count per display bin" te && pass || fail "e1.svg: y label"
grep -q "1500 exact values" te && pass || fail "e1.svg: grouping legend"
render e1.svg
check "plot-node 4000 bins" $A plot-node wide.ahm --node 0 -o w.svg
svg_ok w.svg && pass || fail "w.svg is not a well-formed SVG"
[ "$(stat -c %s w.svg)" -lt 200000 ] && pass || fail "w.svg is $(stat -c %s w.svg) bytes"
[ "$(grep -c '<rect' w.svg)" -lt 10 ] && pass || fail "w.svg: bins drawn one rect each"
render w.svg

# marks FILE: the number of new activations drawn as lines; bars FILE: the
# number of background bars (one H command each in the bins path).
marks() {
    $PY - "$1" <<'PY'
import sys, xml.etree.ElementTree as E
ns = "{http://www.w3.org/2000/svg}"
r = E.parse(sys.argv[1]).getroot()
print(sum(1 for g in r.iter(ns + "g") if g.get("stroke") == "#D55E00"
          for l in g.iter(ns + "line") if l.get("stroke-dasharray")))
PY
}
bars() {
    $PY - "$1" <<'PY'
import sys, xml.etree.ElementTree as E
ns = "{http://www.w3.org/2000/svg}"
r = E.parse(sys.argv[1]).getroot()
print(sum(p.get("d").count("H") for p in r.iter(ns + "path")
          if p.get("stroke-width") == "0.8"))
PY
}

# --input-labels: with --label L only the inputs labelled L are drawn,
# against that label's background; without --label, all of them.
for l in 0 2; do
    check "plot-node --input-labels --label $l" $A plot-node ml.ahm --node 0 \
        --label $l --input q.npy --input-labels qlab.npy -o il$l.svg
    svg_ok il$l.svg && pass || fail "il$l.svg is not a well-formed SVG"
    want=$($PY -c "import numpy as np; print((np.load('qlab.npy') == $l).sum())")
    got=$(marks il$l.svg)
    [ "$got" = "$want" ] && pass || fail "il$l.svg: $got marks, but $want inputs have label $l"
    texts il$l.svg >til
    grep -qx "new activations (n = $want)" til && pass || fail "il$l.svg: marks legend"
    grep -q "node 0, label $l vs the $want of 20 inputs of q.npy labelled $l" til && pass \
        || fail "il$l.svg: title does not say which inputs"
done
render il2.svg
check "plot-node --input-labels, pooled" $A plot-node ml.ahm --node 0 \
    --input q.npy --input-labels qlab.npy -o ilp.svg
[ "$(marks ilp.svg)" = 20 ] && pass || fail "ilp.svg: $(marks ilp.svg) marks, not 20"
check "plot-node, no input with the label" $A plot-node ml.ahm --node 0 \
    --label 1 --input q.npy --input-labels qlab0.npy -o ilnone.svg
[ "$(marks ilnone.svg)" = 0 ] && pass || fail "ilnone.svg: $(marks ilnone.svg) marks, not 0"
grep -q "no input of q.npy has label 1" "$TMP/err" && pass \
    || fail "no note that no input has label 1: $(cat "$TMP/err")"

# --bins N: the model's bins regrouped into at most N display bars.
check "plot-node 256 bins" $A plot-node m.ahm --node 1 -o b0.svg
check "plot-node --bins 20" $A plot-node m.ahm --node 1 --bins 20 -o b20.svg
svg_ok b20.svg && pass || fail "b20.svg is not a well-formed SVG"
n0=$(bars b0.svg) n20=$(bars b20.svg)
[ "$n0" -eq 256 ] && pass || fail "b0.svg: $n0 bars, not 256"
[ "$n20" -le 20 ] && [ "$n20" -ge 15 ] && pass || fail "b20.svg: $n20 bars for --bins 20"
texts b20.svg >tb
grep -qx "background: 256 bins shown as $n20 bars, count per bar" tb && pass \
    || fail "b20.svg: no regrouping legend"
grep -qx "background count per display bin" tb && pass || fail "b20.svg: y label"
render b20.svg
check "plot-node spike --bins 10" $A plot-node m.ahm --node 3 --bins 10 -o b3.svg
texts b3.svg >tb3
[ "$(bars b3.svg)" -le 10 ] && grep -qx "$spike" tb3 && grep -q '#009E73' b3.svg \
    && pass || fail "b3.svg: $(bars b3.svg) bars, or the atom at 2 is lost"
check "plot-node --bins above the model's" $A plot-node m.ahm --node 1 --bins 400 -o b400.svg
[ "$(bars b400.svg)" -eq 256 ] && pass || fail "b400.svg: $(bars b400.svg) bars, not 256"
check "plot-node 4000 bins --bins 50" $A plot-node wide.ahm --node 0 --bins 50 -o w50.svg
n=$(bars w50.svg)
[ "$n" -le 50 ] && [ "$n" -ge 40 ] && pass || fail "w50.svg: $n bars for --bins 50"
check "plot-node empirical --bins 10" $A plot-node e.ahm --node 1 --bins 10 -o e10.svg
check "plot-node empirical" $A plot-node e.ahm --node 1 -o e60.svg
n10=$(bars e10.svg) n60=$(bars e60.svg)
[ "$n10" -le 20 ] && [ "$n10" -ge 5 ] && [ "$n60" -gt 30 ] && pass \
    || fail "empirical node: $n10 bars with --bins 10, $n60 without"
check "plot-node --bins with --input-labels" $A plot-node ml.ahm --node 1 \
    --label 2 --bins 16 --input q.npy --input-labels qlab.npy -o ilb.svg
[ "$(bars ilb.svg)" -le 16 ] && [ "$(marks ilb.svg)" -eq 6 ] && pass \
    || fail "ilb.svg: $(bars ilb.svg) bars, $(marks ilb.svg) marks"
# A node whose values span the double range (issue 17, item 9): near
# +-DBL_MAX the span hi - lo overflowed to x="inf", and atoms at +-1e308
# were drawn thousands of pixels off the canvas.  Every number in every
# attribute must be finite, and every absolute coordinate on the canvas.
$PY - <<'PY'
import sys, numpy as np
r = np.random.default_rng(9)
f = sys.float_info.max
x = np.zeros((400, 3))
x[:, 0] = r.choice([-f, f, -1e308, 1e308, 0.0, 1.0], size=400)  # atoms at the ends
x[:, 1] = r.uniform(-1, 1, size=400) * 1e308                     # bins over +-1e308
x[:, 2] = r.normal(size=400); x[:60, 2] = 1e308                  # one atom far out
np.save("huge.npy", x)
np.save("qhuge.npy", np.array([[f, -f, 1e308], [-1e308, 1e308, -f], [0, 0, 0]]))
PY
on_canvas() {
    /usr/bin/python3 - "$1" <<'PY'
import math, re, sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
root = doc.documentElement
W, H = float(root.getAttribute("width")), float(root.getAttribute("height"))
num = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[A-Za-z]+")
def within(v, top, what):
    assert -0.5 <= v <= top + 0.5, "%s = %r is off the %g canvas" % (what, v, top)
for e in root.getElementsByTagName("*"):
    for name, value in e.attributes.items():
        if name in ("x", "y", "x1", "y1", "x2", "y2", "width", "height", "d",
                    "transform", "points"):
            for t in num.findall(value):
                if t.isalpha():
                    assert t in "MmLlHhVvZz" or t == "rotate", \
                        "%s=%r in <%s>" % (name, value, e.tagName)
                else:
                    assert math.isfinite(float(t)), "%s=%r" % (name, value)
        if name in ("x", "x1", "x2"):
            within(float(value), W, name)
        if name in ("y", "y1", "y2"):
            within(float(value), H, name)
    if e.tagName == "path":  # absolute M x y, H x, V y
        cmd, k = None, 0
        for t in num.findall(e.getAttribute("d")):
            if t.isalpha():
                cmd, k = t, 0
                continue
            if cmd == "M":
                within(float(t), W if k % 2 == 0 else H, "path M")
            elif cmd == "H":
                within(float(t), W, "path H")
            elif cmd == "V":
                within(float(t), H, "path V")
            k += 1
PY
}
check "fit over the double range" $A fit --bins 64 -o huge.ahm huge.npy
check "fit empirical over the double range" $A fit --method empirical -o hugee.ahm huge.npy
for j in 0 1 2; do
    check "plot-node over the double range, node $j" \
        $A plot-node huge.ahm --node $j --input qhuge.npy -o huge$j.svg
    on_canvas huge$j.svg && pass || fail "huge$j.svg: a coordinate is not finite or off the canvas"
done
check "plot-node empirical over the double range" \
    $A plot-node hugee.ahm --node 0 --input qhuge.npy -o hugee0.svg
on_canvas hugee0.svg && pass || fail "hugee0.svg: a coordinate is not finite or off the canvas"
texts huge0.svg >th
grep -q 'e+308$' th && pass || fail "huge0.svg: no tick near 1e308"
render huge0.svg

# Help and errors.
check "help plot-node" $A help plot-node
grep -q "usage: acthist plot-node" "$TMP/out" && pass || fail "help text"
check "plot-node --help" $A plot-node --help
expect_error "no --node" 2 "give one MODEL and --node" - $A plot-node m.ahm
expect_error "bad --node" 2 "--node: 'x' is not an integer" - $A plot-node m.ahm --node x
expect_error "node out of range" 1 "m.ahm: node 4 is out of range \(the model has 4 nodes" \
    o.svg $A plot-node m.ahm --node 4 -o o.svg
expect_error "unknown label" 1 "ml.ahm: the model has no label 7" o.svg \
    $A plot-node ml.ahm --node 0 --label 7 -o o.svg
expect_error "label on a pooled model" 1 "m.ahm: no label 1: the model was fitted without labels" \
    o.svg $A plot-node m.ahm --node 0 --label 1 -o o.svg
expect_error "missing model" 1 "nosuch.ahm" o.svg $A plot-node nosuch.ahm --node 0 -o o.svg
expect_error "missing input" 1 "nosuch.npy" o.svg $A plot-node m.ahm --node 0 --input nosuch.npy -o o.svg
expect_error "input with 3 columns" 1 "q3.npy: 3 nodes per row, but the model m.ahm has 4 \(no column for --node\)" \
    o.svg $A plot-node m.ahm --node 3 --input q3.npy -o o.svg
expect_error "unwritable output" 1 "nodir/o.svg" - $A plot-node m.ahm --node 0 -o nodir/o.svg
expect_error "--bins 0" 2 "--bins: '0' is not an integer in 1..500" o.svg \
    $A plot-node m.ahm --node 0 --bins 0 -o o.svg
expect_error "--bins x" 2 "--bins: 'x' is not an integer in 1..500" o.svg \
    $A plot-node m.ahm --node 0 --bins x -o o.svg
expect_error "--input-labels without --input" 2 "plot-node: --input-labels needs --input" \
    o.svg $A plot-node ml.ahm --node 0 --label 1 --input-labels qlab.npy -o o.svg
expect_error "--input-labels, one short" 1 "qlab19.npy: 19 labels, but q.npy has 20 rows" \
    o.svg $A plot-node ml.ahm --node 0 --label 1 --input q.npy --input-labels qlab19.npy -o o.svg
expect_error "--input-labels missing" 1 "nosuch.npy" o.svg \
    $A plot-node ml.ahm --node 0 --input q.npy --input-labels nosuch.npy -o o.svg

# svg_roc and the degenerate histograms, driven from C.
cat >driver.c <<'C'
#include "svg.h"
#include <math.h>
#include <stdio.h>
#include <string.h>
static double f[3][2001], t[3][2001];
int main(int argc, char **argv)
{
    cli_buf b = {0};
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "roc") == 0) {
        for (int i = 0; i < 2001; i++) { /* a staircase, a curve, a corner */
            f[0][i] = (i / 2) / 1000.0; t[0][i] = ((i + 1) / 2) / 1000.0;
            double u = i / 2000.0;
            f[1][i] = u; t[1][i] = sqrt(u);
            f[2][i] = i <= 1000 ? 0 : (i - 1000) / 1000.0;
            t[2][i] = i <= 1000 ? i / 1000.0 : 1;
        }
        t[1][7] = NAN;
        const double *fp[] = {f[0], f[1], f[2]}, *tp[] = {t[0], t[1], t[2]};
        const char *names[] = {"clean vs clean", "a<b & \"c\" 'd'", NULL};
        size_t np[] = {2001, 2001, 2001};
        double auc[] = {0.5, 0.873, NAN};
        svg_roc(&b, "ROC <test> & \xff title", 3, names, fp, tp, np, auc);
    } else if (strcmp(mode, "roc-many") == 0) {
        const double *fp[10], *tp[10];
        size_t np[10];
        for (int k = 0; k < 10; k++) {
            fp[k] = f[0]; tp[k] = t[1]; np[k] = 2001;
        }
        for (int i = 0; i < 2001; i++) {
            f[0][i] = i / 2000.0; t[1][i] = pow(i / 2000.0, 0.2);
        }
        svg_roc(&b, NULL, 10, NULL, fp, tp, np, NULL);
    } else if (strcmp(mode, "roc-empty") == 0) {
        svg_roc(&b, "", 0, NULL, NULL, NULL, NULL, NULL);
    } else if (strcmp(mode, "zero") == 0) {
        ah_cell c[3] = {{0, 1, 0, 0}, {1, 2, 0, 0}, {2, 2, 0, 1}};
        double m[2] = {1.5, INFINITY};
        svg_node_histogram(&b, "zero counts", c, 3, m, 2, NULL);
    } else if (strcmp(mode, "none") == 0) {
        svg_node_histogram(&b, NULL, NULL, 0, NULL, 0, NULL);
    } else if (strcmp(mode, "tiny") == 0) {
        ah_cell c[1] = {{1e-7, 1e-7, 3, 1}};
        double m[1] = {-2e-7};
        svg_node_histogram(&b, "tiny", c, 1, m, 1, "x <&>");
    } else {
        return 2;
    }
    fwrite(b.s, 1, b.n, stdout);
    cli_buf_free(&b);
    return 0;
}
C
CFL="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror -I$ROOT/include -I$ROOT/cli"
SRC="driver.c $ROOT/cli/svg.c $ROOT/cli/common.c $BUILD/libacthist.a -lm -lpthread"
# shellcheck disable=SC2086
if cc $CFL -o driver $SRC 2>cc.log ||
    cc $CFL -fsanitize=address,undefined -o driver $SRC 2>cc.log; then
    pass
else
    fail "cannot build the svg driver"; cat cc.log >&2
fi
for mode in roc roc-many roc-empty zero none tiny; do
    check "driver $mode" ./driver $mode
    cp "$TMP/out" "$mode.svg"
    svg_ok "$mode.svg" && pass || fail "$mode.svg is not a well-formed SVG"
done
$PY - <<'PY' && pass || fail "roc.svg: curves, legend or escaping"
import xml.etree.ElementTree as E
ns = "{http://www.w3.org/2000/svg}"
r = E.parse("roc.svg").getroot()
lines = [p.get("points").split() for p in r.iter(ns + "polyline")]
assert len(lines) == 3, len(lines)
assert len(lines[2]) == 3, lines[2]          # up then across: 3 corners
assert len(lines[0]) <= 2002                 # staircase corners only
texts = ["".join(t.itertext()) for t in r.iter(ns + "text")]
for want in ["clean vs clean (AUC 0.500)", "a<b & \"c\" 'd' (AUC 0.873)",
             "set 3 (AUC n/a)", "false positive rate", "true positive rate",
             "ROC <test> & ? title", "0.2", "0.8"]:
    assert want in texts, (want, texts)
dashed = [l for l in r.iter(ns + "line") if l.get("stroke-dasharray")]
assert dashed, "no dashed diagonal"
PY
$PY - <<'PY' && pass || fail "roc-many.svg: 10 curves, palette wrap"
import xml.etree.ElementTree as E
ns = "{http://www.w3.org/2000/svg}"
r = E.parse("roc-many.svg").getroot()
p = list(r.iter(ns + "polyline"))
assert len(p) == 10
assert p[0].get("stroke") == p[8].get("stroke")
assert p[8].get("stroke-dasharray") and not p[0].get("stroke-dasharray")
assert len(set(q.get("stroke") for q in p[:8])) == 8
texts = ["".join(t.itertext()) for t in r.iter(ns + "text")]
assert "set 10" in texts, texts
PY
texts tiny.svg >tt
grep -qx "x <&>" tt && pass || fail "tiny.svg: x label escaping"
grep -qx 3 tt && pass || fail "tiny.svg: atom count"
for f in roc.svg roc-many.svg zero.svg none.svg tiny.svg; do render $f; done

done_tests
