#!/usr/bin/python3
"""report.py - turn the JSON lines of one benchmark run into tables.

Usage: report.py RESULTS.jsonl [--scores DIR]

Every number is a median over repetitions (see bench_acthist.c); ratios are
taken between medians measured in the same run.  Only the standard library
is used, so the tables print even without NumPy.
"""
import glob
import json
import os
import statistics
import sys

TARGETS = {  # docs/METHOD.md section 9: (what, direction, bound)
    "pv_numpy": ("hist p-values vs ART NumPy, batch %s", ">=", 50),
    "pv_emp": ("hist p-values vs our empirical, batch %s", ">=", 10),
    "pv_read": ("hist p-values / npy read (f32->f64), batch %s", "<=", 4),
    "pv_raw": ("hist p-values / raw read() of the bytes, batch %s", "<=", 4),
    "scan_ind": ("individual scan vs ART NumPy", ">=", 100),
    "scan_grp": ("group scan per restart vs ART NumPy", ">=", 100),
}


def load(path):
    recs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                recs.append(json.loads(line))
    for r in recs:
        r.setdefault("impl", "acthist")
    return recs


def isa_table(isa):
    """The same calls with the library capped at scalar (0), AVX2 (1) and
    uncapped (2: AVX-512 where the CPU has it)."""
    ops = [("pvalues", "p-values, batch %s (per input-node pair)"),
           ("score", "fused ah_score, batch %s (per input)"),
           ("scan_individual", "individual scan (per input)"),
           ("scan_group", "group scan (per restart)")]
    rows = []
    for bench, what in ops:
        t = {}
        for r in isa:
            if r["bench"] == bench:
                if bench == "pvalues":
                    t[r["isa"]] = 1.0 / r["pairs_per_s"]
                else:
                    t[r["isa"]] = r.get("per_input_s", r.get("per_restart_s"))
                batch = r.get("batch")
        if not t:
            continue
        rows.append([what.replace("%s", str(batch)), fmt_t(t.get(0)),
                     fmt_t(t.get(1)), fmt_t(t.get(2)),
                     fmt_x(t[1] / t[2]) if 1 in t and 2 in t else "-",
                     fmt_x(t[0] / t[2]) if 0 in t and 2 in t else "-"])
    if rows:
        r0 = isa[0]
        table("INSTRUCTION SETS (D = %d, N = %d, %s:%s, one thread; the library "
              "built with -DAH_ISA_MAX)" % (r0["D"], r0["N"], r0["method"],
                                           r0.get("bins")),
              ["operation", "scalar", "AVX2", "best here", "AVX2/best",
               "scalar/best"], rows)


def python_table(py):
    """The Python binding against the same calls in C (bench/run.sh's
    python part): same model, same queries, one thread."""
    ops = [("pvalues", 1, "p-values, batch 1 (per input)"),
           ("pvalues", None, "p-values, batch %s (per input)"),
           ("score", 1, "fused score, batch 1 (per input)"),
           ("score", None, "fused score, batch %s (per input)"),
           ("scan_individual", None, "individual scan (per input)"),
           ("scan_individual_rows", None,
            "individual scans, batch %s (per input)"),
           ("scan_individual_rows_pmax", None,
            "the same from p_max alone (per input)"),
           ("scan_group", None, "group scan, %s inputs (per restart)")]
    rows, numpy = [], "?"
    for bench, batch, what in ops:
        t, shown = {}, ""
        # the C side of the batch scan is the one-input call, per input
        c_bench = ("scan_individual" if bench.startswith("scan_individual_rows")
                   else bench)
        for r in py:
            name = bench if r["impl"] == "python" else c_bench
            if r["bench"] not in (name, name + "_f32"):
                continue
            if bench in ("pvalues", "score") and \
                    (r.get("batch") == 1) != (batch == 1):
                continue
            per = r.get("per_input_s", r.get("per_restart_s"))
            if bench == "pvalues":
                per = r["median_s"] / r["batch"]
            f32 = r["bench"].endswith("_f32")
            t[r["impl"] + ("_f32" if f32 else "")] = per
            numpy = r.get("numpy", numpy)
            shown = r.get("batch", shown)
        if "acthist" in t and "python" in t:
            c = t.get("acthist_f32", t["acthist"])
            rows.append([what.replace("%s", str(shown)), fmt_t(t["acthist"]),
                         fmt_t(t.get("acthist_f32")), fmt_t(t["python"]),
                         fmt_x(t["python"] / c)])
    if rows:
        r0 = py[0]
        table("PYTHON BINDING (D = %d, N = %d, %s:%s, one thread; NumPy %s; "
              "float32 queries)"
              % (r0["D"], r0["N"], r0["method"], r0.get("bins"), numpy),
              ["operation", "C float64", "C float32", "Python",
               "Python/C"], rows,
              "C float32: ah_pvalues_f32 / ah_score_f32, the path of the "
              "binding's float32 views; Python/C is against them")


def shards_table(recs):
    """acthist fit against acthist-mpi-fit (bench/run.sh's shards part)."""
    rows = []
    for r in sorted((r for r in recs if r["bench"] == "shards"),
                    key=lambda r: r["processes"]):
        fit, mpi = statistics.median(r["fit_s"]), statistics.median(r["mpi_s"])
        if not rows:
            rows.append(["acthist fit (one process)", fmt_t(fit), "1.0x",
                         "-"])
        rows.append(["acthist-mpi-fit, %d process%s" %
                     (r["processes"], "es" if r["processes"] > 1 else ""),
                     fmt_t(mpi), fmt_x(fit / mpi),
                     "yes" if r["identical"] else "NO"])
    if rows:
        r0 = next(r for r in recs if r["bench"] == "shards")
        table("FIT IN SHARDS (D = %d, N = %d, default hist; medians of 3 "
              "alternating runs)" % (r0["D"], r0["N"]),
              ["fit", "time", "speed-up", "same bytes"], rows,
              "each process reads 1/P of the rows; plans and counts merge "
              "up a tree of processes (docs/SHARDS.md)")


def basis_table(recs):
    """The conditional model with basis pca against the plain one, fitted
    on the same rows in the same run (bench/run.sh's basis part)."""
    rows = []
    for r in sorted((r for r in recs if r["bench"] == "basis"),
                    key=lambda r: (r["D"], r["N"])):
        fb, mb, fs, ss = (r["file_bytes"], r["memory_bytes"], r["fit_s"],
                          r["score_s"])
        rows.append(["D=%d N=%d, r=%d (%d scanned)" % (
                         r["D"], r["N"], r["components"], r["scanned_nodes"]),
                     "%s / %s = %s" % (fmt_b(fb[1]), fmt_b(fb[0]),
                                       fmt_x(fb[1] / fb[0])),
                     "%.1f%% / %.1f%%" % (100.0 * fb[1] / r["raw_bytes"],
                                          100.0 * fb[0] / r["raw_bytes"]),
                     fmt_b(r["basis_bytes"]),
                     "%s / %s = %s" % (fmt_b(mb[1]), fmt_b(mb[0]),
                                       fmt_x(mb[1] / mb[0])),
                     "%s / %s = %s" % (fmt_t(fs[1]), fmt_t(fs[0]),
                                       fmt_x(fs[1] / fs[0])),
                     "%s / %s = %s" % (fmt_t(ss[1] / r["batch"]),
                                       fmt_t(ss[0] / r["batch"]),
                                       fmt_x(ss[1] / ss[0]))])
    if rows:
        table("BASIS PCA against the plain conditional model (10 labels, "
              "default hist; one fit each, scores of a batch on 1 thread)",
              ["case", "file (basis / plain)", "% of raw", "basis block",
               "memory", "fit", "score per input"], rows,
              "the same rows, labels i mod 10, in the same run; docs/"
              "RESULTS.md has their detection power on real layers")


def find(recs, **kw):
    for r in recs:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def fmt_t(s):
    if s is None:
        return "-"
    if s >= 1:
        return "%.2f s" % s
    if s >= 1e-3:
        return "%.2f ms" % (s * 1e3)
    if s >= 1e-6:
        return "%.2f us" % (s * 1e6)
    return "%.0f ns" % (s * 1e9)


def fmt_x(x):
    if x is None:
        return "-"
    return "%.1fx" % x if x < 100 else "%.0fx" % x


def fmt_b(b):
    for unit in ("B", "KB", "MB", "GB"):
        if b < 1024 or unit == "GB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (b, unit)
        b /= 1024.0


def table(title, header, rows, note=None):
    print("\n" + title)
    if note:
        print(note)
    w = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h)
         for i, h in enumerate(header)]
    line = "  ".join("%-*s" % (w[i], h) for i, h in enumerate(header))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(("%-*s" if i == 0 else "%*s") % (w[i], c)
                        for i, c in enumerate(r)))


def verdict(key, value):
    if value is None:
        return "not measured"
    _, op, bound = TARGETS[key]
    ok = value >= bound if op == ">=" else value <= bound
    if ok:
        return "met"
    factor = bound / value if op == ">=" else value / bound
    return "MISSED by %.1fx" % factor


def default_bins(recs):
    for r in recs:
        if "default_bins" in r:
            return r["default_bins"]
    return 256


def ratio_tables(recs):
    cases = sorted({(r["D"], r["N"]) for r in recs
                    if r.get("impl") == "numpy" and r["bench"] == "pvalues"})
    rows = []
    summary = []
    dflt = default_bins(recs)
    hbins = [dflt] + ([256] if dflt != 256 else [])

    def t(r):
        return r["median_s"] if r else None

    def div(a, b):
        return a / b if a is not None and b is not None and b > 0 else None

    for d, n in cases:
        def ours(bench, method="hist", bins=dflt, **kw):
            return find(recs, impl="acthist", bench=bench, method=method,
                        bins=bins, D=d, N=n, **kw)

        def np_(bench, **kw):
            return find(recs, impl="numpy", bench=bench, D=d, N=n, **kw)

        case = "%d x %d" % (d, n)
        big = max(r["batch"] for r in recs if r.get("impl") == "numpy"
                  and r["bench"] == "pvalues" and r["D"] == d and r["N"] == n)
        rd = find(recs, bench="read_npy", D=d, tag="%dx%d" % (d, n))
        raw = find(recs, bench="read_raw", D=d, tag="%dx%d" % (d, n))
        for hb in hbins:
            for batch in (big, 1):
                h = t(ours("pvalues", bins=hb, batch=batch, threads=1))
                if h is None and hb != dflt:
                    continue
                e = t(ours("pvalues", method="empirical", bins=0, batch=batch, threads=1))
                p = t(np_("pvalues", batch=batch))
                # the read floor is the batch's share of reading 1000 query rows
                rd_t = t(rd) * batch / rd["rows"] if rd else None
                raw_t = t(raw) * batch / raw["rows"] if raw else None
                rows.append([case, "p-values hist:%d, batch %d" % (hb, batch),
                             fmt_t(h), fmt_t(p), fmt_x(div(p, h)), fmt_t(e),
                             fmt_x(div(e, h)), fmt_t(rd_t), fmt_x(div(h, rd_t)),
                             fmt_x(div(h, raw_t))])
                if hb == dflt:
                    summary.append((case, ("pv_numpy", batch), div(p, h)))
                    summary.append((case, ("pv_emp", batch), div(e, h)))
                    summary.append((case, ("pv_read", batch), div(h, rd_t)))
                    summary.append((case, ("pv_raw", batch), div(h, raw_t)))
        si = t(ours("scan_individual", method="empirical", bins=0))
        sp = t(np_("scan_individual"))
        rows.append([case, "individual scan / input", fmt_t(si),
                     fmt_t(sp), fmt_x(div(sp, si)), "", "", "", "", ""])
        summary.append((case, "scan_ind", div(sp, si)))
        pvb = np_("pvalues", batch=big)
        for hb in hbins:
            sc = ours("score", bins=hb, batch=big, threads=1)
            if sc and pvb and sp:
                e2e_np = t(pvb) / pvb["batch"] + sp
                e2e = sc["per_input_s"]
                rows.append([case, "p-values + scan / input, hist:%d" % hb,
                             fmt_t(e2e), fmt_t(e2e_np), fmt_x(div(e2e_np, e2e)),
                             "", "", "", "", ""])
        g = ours("scan_group", method="empirical", bins=0, threads=1)
        gp = np_("scan_group")
        if g or gp:
            gt = g["per_restart_s"] if g else None
            gpt = gp["per_restart_s"] if gp else None
            rows.append([case, "group scan / restart (M=%d)" % (g or gp)["batch"],
                         fmt_t(gt), fmt_t(gpt), fmt_x(div(gpt, gt)),
                         "", "", "", "", ""])
            summary.append((case, "scan_grp", div(gpt, gt)))
    nps = sorted({r["numpy"] for r in recs
                  if r.get("impl") == "numpy" and "numpy" in r}) or ["?"]
    table("RATIOS (one thread each; speed-up = other time / our time; "
          "hist:%d is the library default; NumPy %s)" % (dflt, ", ".join(nps)),
          ["D x N", "operation", "ours", "NumPy", "vs NumPy", "empirical",
           "hist vs emp", "npy read", "hist/read", "hist/raw read"], rows,
          "p-values: time per call of that batch; 'npy read' = "
          "ah_npy_read_rows of the same rows; 'raw read' = read() of the bytes; "
          "scans on exact p-values")
    rows = []
    for case, key, v in summary:
        arg = None
        if isinstance(key, tuple):
            key, arg = key
        what, op, bound = TARGETS[key]
        if arg is not None:
            what = what % arg
        rows.append([case, what, "%s %g" % (op, bound), fmt_x(v), verdict(key, v)])
    table("TARGETS (docs/METHOD.md section 9; default hist:%d; D x N = 4096 x 50000 is the size they name)" % dflt,
          ["D x N", "target", "bound", "measured", "verdict"], rows)


def fit_table(recs):
    rows = []
    for r in sorted((r for r in recs if r["bench"] == "fit"),
                    key=lambda r: (r["D"], r["N"], r["impl"], r["method"], r.get("bins", 0))):
        name = r["method"] + (":%d" % r["bins"] if r["method"] == "hist" else "")
        vals = r["D"] * r["N"]
        rows.append(["%d x %d" % (r["D"], r["N"]), name, fmt_t(r["median_s"]),
                     "%.1f" % (r["median_s"] / vals * 1e9),
                     fmt_b(r["file_bytes"]),
                     "%.2f%%" % (100.0 * r["file_bytes"] / r["raw_bytes"]),
                     fmt_b(r["memory_bytes"]), fmt_b(r["peak_rss_kb"] * 1024)])
    table("FIT (streamed from the .npy file as the CLI does; NumPy: np.sort "
          "of the in-memory array)",
          ["D x N", "method", "fit", "ns/value", "model file", "% of raw f32",
           "model memory", "peak RSS"], rows)


def pvalue_pivot(recs):
    hb = sorted({r["bins"] for r in recs if r["bench"] == "pvalues"
                 and r.get("method") == "hist"})
    methods = ([("hist", b) for b in hb] +
               [("empirical", 0), ("kde", 0), ("art-numpy", None)])
    cases = sorted({(r["D"], r["N"]) for r in recs if r["bench"] == "pvalues"})
    for batch_big in (True, False):
        rows = []
        for d, n in cases:
            row = ["%d x %d" % (d, n)]
            for meth, bins in methods:
                cands = [r for r in recs if r["bench"] == "pvalues" and r["D"] == d
                         and r["N"] == n and r["method"] == meth
                         and (bins is None or r.get("bins") == bins)
                         and r.get("threads", 1) == 1
                         and (r["batch"] > 1) == batch_big]
                row.append("%.1f (b=%d)" % (c["median_s"] / (c["batch"] * d) * 1e9, c["batch"])
                           if (c := (max(cands, key=lambda r: r["batch"]) if cands else None))
                           else "-")
            rows.append(row)
        table("P-VALUE COST, ns per input-node pair, one thread, %s"
              % ("largest batch" if batch_big else "batch 1"),
              ["D x N"] + ["hist:%d" % b for b in hb] +
              ["empirical", "kde", "ART NumPy"], rows)


def scan_table(recs):
    rows = []
    for r in recs:
        if r["bench"] in ("scan_individual", "score", "scan_group") and r.get("threads", 1) == 1:
            what = {"scan_individual": "individual scan / input",
                    "score": "fused ah_score / input (batch %s)" % r.get("batch"),
                    "scan_group": "group scan / restart (M=%s)" % r.get("batch")}[r["bench"]]
            v = r.get("per_input_s", r.get("per_restart_s"))
            name = r["method"] + (":%d" % r["bins"] if r.get("method") == "hist" else "")
            rows.append(["%d x %d" % (r["D"], r["N"]), what, name, fmt_t(v),
                         ("%.6g" % r["score"]) if "score" in r and r["bench"] == "scan_group" else ""])
    rows.sort()
    table("SCANS (per input or per restart, one thread)",
          ["D x N", "operation", "p-values from", "time", "group score"], rows)


def thread_table(recs):
    rows = []
    for r in recs:
        if r.get("threads") == 2:
            one = find(recs, bench=r["bench"], impl=r["impl"], method=r["method"],
                       bins=r.get("bins"), D=r["D"], N=r["N"],
                       batch=r.get("batch"), threads=1)
            if one:
                name = r["method"] + (":%d" % r["bins"] if r["method"] == "hist" else "")
                rows.append(["%d x %d" % (r["D"], r["N"]), r["bench"], name,
                             str(r.get("batch")), fmt_t(one["median_s"]),
                             fmt_t(r["median_s"]),
                             fmt_x(one["median_s"] / r["median_s"])])
    rows.sort()
    table("THREADS (same call with threads = 1 and 2; a 2-core machine)",
          ["D x N", "call", "model", "batch", "1 thread", "2 threads",
           "speed-up"], rows)


def scale_table(recs):
    rows = []
    base = None
    for r in sorted((r for r in recs if r["bench"] == "scale_fit"),
                    key=lambda r: r["N"]):
        per = r["median_s"] / r["N"]
        base = base or per
        rows.append(["%d" % r["N"], "%d" % r["D"], "hist:%d" % r["bins"], fmt_b(r["file_bytes"]),
                     "%.2f s" % r["median_s"], "%.2f us" % (per * 1e6),
                     "%.2f" % (per / base), "%.1f MB" % (r["peak_rss_kb"] / 1024.0)])
    if rows:
        table("SCALE: `acthist fit` (CLI, streaming, default options) on growing N; "
              "peak RSS of the process",
              ["N rows", "D", "model", "file", "fit time", "time / row",
               "relative", "peak RSS"], rows,
              "time / row flat = linear in N; peak RSS flat = memory independent of N")


def memory_table(recs):
    """MEMORY: acthist info's memory line against the resident set that
    loading adds; the issue's targets are 5% (pooled) and 10% (10 labels)
    of the raw float32 background, and info within 1.5x of the RSS."""
    rows = []
    for r in recs:
        if r["bench"] != "load" or not r.get("tag", "").startswith("memory"):
            continue
        raw = r["N"] * r["D"] * 4
        mem, rss = r["memory_bytes"], r["rss_added_bytes"]
        share = mem / raw
        limit = 0.10 if r["labels"] else 0.05
        ratio = max(mem, rss) / max(1, min(mem, rss)) if rss > 0 else float("nan")
        rows.append([r["tag"].split()[-1], "%d x %d, %d labels" % (r["N"], r["D"], r["labels"]),
                     fmt_b(r["file_bytes"]), fmt_b(mem), "%.2f%%" % (100 * share),
                     fmt_b(rss), "%.2f" % ratio, fmt_t(r["median_s"]),
                     "yes" if share <= limit and ratio <= 1.5 else "NO"])
    if rows:
        table("MEMORY: a loaded model (acthist info) against the resident set "
              "its loading adds (/proc/self/statm)",
              ["model", "background", "file", "info memory", "of raw f32",
               "RSS added", "max/min", "load", "target met"], rows,
              "target: at most 5% of the raw float32 background pooled, 10% "
              "with 10 labels, and info within 1.5x of the RSS added")


def e2e_table(recs):
    """E2E: acthist score from files to CSV against the NumPy pipeline."""
    ours = [r for r in recs if r["bench"] == "e2e_score" and r["impl"] == "acthist"]
    theirs = [r for r in recs if r["bench"] == "e2e_score" and r["impl"] == "numpy"]
    if not ours or not theirs:
        return
    a, b = ours[-1], theirs[-1]
    ratio = b["median_s"] / a["median_s"]
    table("E2E: `acthist score` (a process: load, read, p-values, scan, CSV) "
          "against the NumPy pipeline (in-process, imports excluded)",
          ["D x N", "inputs", "acthist", "NumPy", "speed-up", "target 50x"],
          [["%d x %d" % (a["D"], a["N"]), a["batch"], fmt_t(a["median_s"]),
            fmt_t(b["median_s"]), fmt_x(ratio), "met" if ratio >= 50 else "NOT met"]])


def realscale_table(recs):
    """REALSCALE: bench/scale_real.c at real network sizes."""
    fits = {(r["N"], r["D"], r["labels"]): r for r in recs
            if r["bench"] == "scale_real_fit"}
    rows = []
    for r in recs:
        if r["bench"] != "scale_real":
            continue
        f = fits.get((r["N"], r["D"], r["labels"]), {})
        rows.append(["%d x %d, %d labels" % (r["N"], r["D"], r["labels"]),
                     "%.0f s" % f.get("fit_s", float("nan")),
                     str(f.get("fit_passes", "")),
                     fmt_b(f.get("fit_peak_rss_kb", 0) * 1024),
                     fmt_b(r["raw_bytes"]), fmt_b(r["file_bytes"]),
                     fmt_b(r["memory_bytes"]), fmt_b(r["rss_added_bytes"]),
                     fmt_t(r["load_s"]), fmt_t(r["score_s_per_row"])])
    if rows:
        table("REALSCALE: real network sizes, rows made on demand "
              "(bench/scale_real.c)",
              ["N x D", "fit", "passes", "fit peak RSS", "raw f32", "file",
               "info memory",
               "RSS added", "load", "score a row"], rows)


def raw_table(recs):
    rows = []
    for r in recs:
        if r["bench"] in ("skip", "scale_fit", "shards", "basis", "e2e_score",
                          "e2e_check", "scale_real", "scale_real_fit"):
            continue
        name = r.get("method", "") + (":%d" % r["bins"] if r.get("method") == "hist" else "")
        rate = ""
        if "pairs_per_s" in r:
            rate = "%.3g pairs/s" % r["pairs_per_s"]
        elif "per_input_s" in r:
            rate = "%s/input" % fmt_t(r["per_input_s"])
        elif "per_restart_s" in r:
            rate = "%s/restart" % fmt_t(r["per_restart_s"])
        rows.append([r["bench"], r["impl"], name, "%s x %s" % (r.get("D"), r.get("N", r.get("rows"))),
                     str(r.get("batch", "")), str(r.get("threads", "")),
                     fmt_t(r["median_s"]),
                     "%s..%s" % (fmt_t(r["min_s"]), fmt_t(r["max_s"])),
                     "%dx%d" % (r["reps"], r["calls_per_rep"]), rate,
                     "%.0f MB" % (r["peak_rss_kb"] / 1024.0)])
    table("RAW (median per call; min..max over repetitions; reps x calls per rep)",
          ["bench", "impl", "method", "D x N", "batch", "thr", "median",
           "range", "reps", "rate", "peak RSS"], rows)


def group_scores(recs):
    for r in recs:
        if r["bench"] == "scan_group" and r["impl"] == "numpy":
            ours = find(recs, impl="acthist", bench="scan_group", D=r["D"],
                        N=r["N"], method="empirical", threads=1)
            if ours:
                print("group scan %dx%d, M=%d: best score ours %.6g (%d restarts), "
                      "ART-style NumPy %.6g (%d restarts)"
                      % (r["D"], r["N"], r["batch"], ours["score"],
                         ours["restarts"], r["score"], r["restarts"]))


def sanity(scores_dir):
    if not scores_dir:
        return
    for c_path in sorted(glob.glob(os.path.join(scores_dir, "scores_c_*.txt"))):
        tag = c_path[len(os.path.join(scores_dir, "scores_c_")):-4]
        np_path = os.path.join(scores_dir, "scores_np_%s.txt" % tag)
        if not os.path.exists(np_path):
            continue
        a = [list(map(float, l.split())) for l in open(c_path)]
        b = [list(map(float, l.split())) for l in open(np_path)]
        if len(a) != len(b):
            print("sanity %s: %d vs %d scores" % (tag, len(a), len(b)))
            continue
        dmax = max((abs(x[0] - y[0]) / max(1.0, abs(y[0])) for x, y in zip(a, b)), default=0)
        same = sum(x[2] == y[2] for x, y in zip(a, b))
        print("sanity %s: individual scan, ours vs NumPy on the same exact p-values: "
              "max relative score difference %.2g, subset sizes equal for %d of %d inputs"
              % (tag, dmax, same, len(a)))


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    recs = load(sys.argv[1])
    isa = [r for r in recs if "isa" in r]
    py = [r for r in recs if r.get("part") == "python"]
    recs = [r for r in recs if "isa" not in r and r.get("part") != "python"]
    scores = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--scores" else None
    ratio_tables(recs)
    fit_table(recs)
    pvalue_pivot(recs)
    scan_table(recs)
    thread_table(recs)
    isa_table(isa)
    python_table(py)
    shards_table(recs)
    basis_table(recs)
    scale_table(recs)
    memory_table(recs)
    e2e_table(recs)
    realscale_table(recs)
    raw_table(recs)
    print()
    sanity(scores)
    group_scores(recs)
    skips = [r for r in recs if r["bench"] == "skip"]
    if skips:
        print("\nSKIPPED (and why)")
        for r in skips:
            print("  - %s: %s" % (r["what"], r["why"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
