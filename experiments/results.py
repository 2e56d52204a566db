#!/usr/bin/python3
# results.py - run `acthist compare` on every extracted layer and write
# docs/RESULTS.md: detection power (individual and group scans) of the exact
# empirical baseline, KDE and histograms for every tail, pooled and
# conditional on the predicted label, with model sizes and timings, the
# fidelity of each histogram to the exact p-values, and the best
# configuration for each anomaly type with the command that reproduces it.
#
# Interpreter: Debian's /usr/bin/python3 (standard library only).
# Input: experiments/out/<net>/<layer>/*.npy from experiments/run_all.sh.
#
#   /usr/bin/python3 experiments/results.py                 # all layers, ~55 min
#                                    (the four conv layers take 40 of them)
#   /usr/bin/python3 experiments/results.py --layers cnn/fc1,mlp/fc2
#   /usr/bin/python3 experiments/results.py --quick         # fewer methods
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETS = ["clean_holdout", "fgsm_eps05", "fgsm_eps10", "bim_eps05", "bim_eps10",
        "pgd_eps05", "pgd_eps10", "cw_l2", "synth"]
TAILS = ["upper", "lower", "two", "both"]
# "hist" is the default histogram (3072 equal-width bins, at most one per 2
# background values of a set); hist:2048 was the default before.
METHODS = ["empirical", "kde", "hist", "hist:2048", "hist:1024", "hist:auto",
           "hist:16", "hist:64", "hist:256",
           "hist:64:quantile", "hist:256:quantile", "hist:256:tails"]
QUICK_METHODS = ["empirical", "hist", "hist:256", "hist:256:quantile"]
# Group scans cost a p-value batch and restarts per run: on the default
# histogram, with the tails that work on hidden layers (two, both).
GROUP_METHODS = ["hist"]
GROUP_TAILS = ["two", "both"]
GROUP = {"batch": 50, "fractions": "0.1,0.5", "runs": 20, "restarts": 3,
         "seed": 1}
CAL_LEVELS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5]
CAL_METHODS = [("empirical", ["--method", "empirical"]),
               ("hist (default)", []),
               ("hist:256:quantile", ["--bins", "256", "--binning", "quantile"])]


def calibration(acthist, d, nodes, tmp, log):
    """Fraction of held-out clean p_max values at or below each level, per
    method, upper tail, pooled and conditional (NumPy, Debian's python3)."""
    import numpy as np
    methods = list(CAL_METHODS)
    methods.append(("kde", ["--method", "kde"]))
    out, cmds = {}, []
    for name, args in methods:
        model = os.path.join(tmp, "cal.ahm")
        fit = [acthist, "fit"] + args + ["-o", model,
               rel(f"{d}/background.npy"), "--labels",
               rel(f"{d}/background_labels.npy")]
        subprocess.run(fit, cwd=ROOT, check=True, capture_output=True)
        cmds.append(fmt_cmd(fit))
        for cond in (False, True):
            pv = os.path.join(tmp, "cal_p.npy")
            cmd = [acthist, "pvalues", model, rel(f"{d}/clean_holdout.npy"),
                   "--tail", "upper", "-o", pv]
            if cond:
                cmd += ["--labels", rel(f"{d}/clean_holdout_labels.npy")]
            subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True)
            if name == "empirical":
                cmds.append(fmt_cmd(cmd))
            pmax = np.load(pv)[..., 1].ravel()
            out[f"{name} {'cond' if cond else 'pooled'}"] = [
                float((pmax <= a).mean()) for a in CAL_LEVELS]
    print(f"  calibration done", file=log, flush=True)
    return {"levels": CAL_LEVELS, "rows": out, "cmds": cmds}


def rel(p):
    return os.path.relpath(p, ROOT)


def layer_args(d, conditional=True):
    args = ["--background", rel(f"{d}/background.npy"),
            "--clean", rel(f"{d}/clean.npy")]
    if conditional:
        args += ["--background-labels", rel(f"{d}/background_labels.npy"),
                 "--clean-labels", rel(f"{d}/clean_labels.npy")]
    for s in SETS:
        args += ["--anomalous", rel(f"{d}/{s}.npy")]
        if conditional:
            args += ["--anomalous-labels", rel(f"{d}/{s}_labels.npy")]
    return args


def run(cmd, log):
    t0 = time.time()
    print("+ " + " ".join(shlex.quote(c) for c in cmd), file=log, flush=True)
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout
    print(f"  ({time.time() - t0:.0f} s)", file=log, flush=True)
    return json.loads(out)


def npy_shape(path):
    with open(path, "rb") as f:
        head = f.read(256).decode("latin1")
    shape = head[head.index("(") + 1:head.index(")")]
    return tuple(int(x) for x in shape.split(",") if x.strip())


def fmt_cmd(cmd):
    return " ".join(shlex.quote(c) for c in cmd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(ROOT, "experiments", "out"))
    ap.add_argument("--acthist", default=os.path.join(ROOT, "build", "acthist"))
    ap.add_argument("--layers", default="")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "RESULTS.md"))
    ap.add_argument("--json", default=os.path.join(ROOT, "experiments", "out",
                                                   "results.json"))
    ap.add_argument("--resume", action="store_true",
                    help="skip layers already in the saved JSON")
    ap.add_argument("--doc-only", action="store_true",
                    help="rewrite the document from the saved JSON")
    a = ap.parse_args()
    manifest = json.load(open(os.path.join(a.out, "manifest.json")))
    layers = []
    for net, info in manifest["nets"].items():
        for layer in info["layers"]:
            layers.append(f"{net}/{layer}")
    if a.layers:
        layers = [l for l in a.layers.split(",") if l]

    def size(l):
        sh = npy_shape(os.path.join(a.out, l, "background.npy"))
        n = 1
        for x in sh[1:]:
            n *= x
        return n
    layers.sort(key=size)     # small layers first: results arrive early
    acthist = os.path.relpath(a.acthist, ROOT)
    log = sys.stderr
    results = {}
    if os.path.exists(a.json):
        results = json.load(open(a.json))
    if a.doc_only:
        layers = []
    for name in layers:
        d = os.path.join(a.out, name)
        shape = npy_shape(f"{d}/background.npy")
        nodes = 1
        for s in shape[1:]:
            nodes *= s
        methods = list(QUICK_METHODS if a.quick else METHODS)
        ind_cmd = [acthist, "compare"] + layer_args(d) + [
            "--methods", ",".join(methods), "--tails", ",".join(TAILS),
            "--json"]
        grp_cmd = [acthist, "compare"] + layer_args(d) + [
            "--methods", ",".join(GROUP_METHODS), "--tails",
            ",".join(GROUP_TAILS), "--group", str(GROUP["batch"]), "--fractions", GROUP["fractions"],
            "--runs", str(GROUP["runs"]), "--restarts", str(GROUP["restarts"]),
            "--seed", str(GROUP["seed"]), "--json"]
        print(f"== {name}: {shape[0]} x {nodes}", file=log, flush=True)
        if name in results and "individual" in results[name] and a.resume:
            print("  (kept from the saved JSON)", file=log)
            continue
        ind = run(ind_cmd, log)
        grp = run(grp_cmd, log)
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            cal = calibration(acthist, d, nodes, tmp, log)
        results[name] = {"rows": shape[0], "nodes": nodes, "dir": rel(d),
                         "individual": ind, "group": grp, "calibration": cal,
                         "individual_cmd": fmt_cmd(ind_cmd),
                         "group_cmd": fmt_cmd(grp_cmd)}
        os.makedirs(os.path.dirname(a.json), exist_ok=True)
        with open(a.json + ".tmp", "w") as f:
            json.dump(results, f)
        os.replace(a.json + ".tmp", a.json)
    write_doc(results, manifest, a.doc)


def short(s):
    return os.path.basename(s)[:-4] if s.endswith(".npy") else s


def write_doc(results, manifest, path):
    L = []
    L.append("# Results on real activations\n")
    L.append("Fashion-MNIST networks trained here, attacks crafted here, "
             "activations extracted here (`experiments/run_all.sh`); every "
             "table below was produced by `/usr/bin/python3 "
             "experiments/results.py`, which runs the `acthist compare` "
             "commands printed above each table (their JSON is kept in "
             "`experiments/out/results.json`).  AUCs are individual-scan "
             "Berk-Jones AUCs (alpha_max 0.5), clean test images versus each "
             "set, reported as measured: values below 0.5 are not flipped.  "
             "`clean_holdout` is a second clean set (the null: about 0.5).  "
             "`cond` = p-values against the background of the input's own "
             "predicted label.  Timings are seconds on a shared 2-core machine "
             "(fit: whole background; p-values and scans: all 10,000 query "
             "rows, p-values on all cores, scans on one).\n")
    notes = os.path.join(ROOT, "experiments", "results_notes.md")
    if os.path.exists(notes):   # the hand-written reading of these tables
        L.append(open(notes).read().rstrip() + "\n")
    nets = manifest["nets"]
    L.append("## Networks and attacks\n")
    L.append("| network | test accuracy | parameters |\n|---|---|---|")
    for net, info in nets.items():
        tr = info.get("training", {})
        L.append(f"| {net} | {tr.get('test_accuracy', '?')} | "
                 f"{tr.get('parameters', '?')} |")
    L.append("")
    L.append("| network | attack | success rate |\n|---|---|---|")
    for net, info in nets.items():
        for att, v in sorted(info.get("attacks", {}).items()):
            L.append(f"| {net} | {att} | {v.get('success_rate', '?')} |")
    L.append("")

    # fidelity and the best configuration per anomaly type
    fid = {}
    best = {}
    for name, r in results.items():
        rows = r["individual"]["rows"]
        sets = [short(s) for s in r["individual"]["sets"]]
        emp = {(x["tail"], x["conditional"]): x for x in rows
               if x["method"] == "empirical"}
        for x in rows:
            if x["method"] == "empirical":
                continue
            e = emp[(x["tail"], x["conditional"])]
            gaps = [abs(p - q) for p, q in zip(x["auc"], e["auc"])]
            worst = max(gaps)
            f = fid.setdefault(x["method"], {"worst": 0, "where": "",
                                             "pct": [], "sum": 0.0, "n": 0,
                                             "over": 0})
            f["sum"] += sum(gaps)
            f["n"] += len(gaps)
            f["over"] += sum(g > 0.005 for g in gaps)
            if worst > f["worst"]:
                f["worst"] = worst
                f["where"] = f"{name} {x['tail']} {'cond' if x['conditional'] else 'pooled'}"
            f["pct"].append(x["percent_raw"])
        for x in rows:
            if x["method"] != "hist":
                continue
            for s_, auc in zip(sets, x["auc"]):
                key = (s_, "individual")
                if s_ != "clean_holdout" and (key not in best or
                                              auc > best[key][0]):
                    best[key] = (auc, name, x["method"], x["tail"],
                                 x["conditional"], "individual", None)
        for x in r["group"]["rows"]:
            if x["method"] != "hist":
                continue
            for frac, aucs in x.get("group", {}).get("fractions", {}).items():
                for s_, auc in zip(sets, aucs):
                    key = (s_, f"group {frac}")
                    if s_ != "clean_holdout" and (key not in best or
                                                  auc > best[key][0]):
                        best[key] = (auc, name, x["method"], x["tail"],
                                     x["conditional"], "group", frac)
    L.append("## Fidelity of histograms to the exact p-values\n")
    L.append("|AUC(method) - AUC(exact empirical)| over every "
             "layer, anomaly, tail, pooled and conditional (the cells): the "
             "largest, where it is, the mean, and how many cells exceed "
             "the target's 0.005; the model size is the pooled or the "
             "pooled-plus-conditional file as a share of the raw float32 "
             "background of the layer.\n")
    L.append("| method | worst AUC gap | where | mean gap | cells > 0.005 "
             "| model % of raw (min-max) |\n"
             "|---|---|---|---|---|---|")
    for m, f in sorted(fid.items(), key=lambda kv: kv[1]["worst"]):
        L.append(f"| {m} | {f['worst']:.4f} | {f['where']} | "
                 f"{f['sum'] / f['n']:.4f} | {f['over']} of {f['n']} | "
                 f"{min(f['pct']):.2f}-{max(f['pct']):.2f} |")
    L.append("")
    L.append("## Best configuration per anomaly type\n")
    L.append("With the default histogram (`hist`), over every layer, tail and "
             "labelling: the best individual scan (one input at a time) and "
             "the best group scans (tails two and both; batches of "
             f"{GROUP['batch']}, "
             f"{GROUP['runs']} runs; `group 0.1` = 10% of the batch "
             "anomalous).\n")
    L.append("| anomaly | AUC | layer | method | tail | labels | scan |\n"
             "|---|---|---|---|---|---|---|")
    cmds = []
    modes = ["individual"] + [f"group {f}" for f in
                              GROUP["fractions"].split(",")]
    for s_, mode in [(x, y) for x in SETS for y in modes]:
        if (s_, mode) not in best:
            continue
        auc, name, m, tail, cond, scan, frac = best[(s_, mode)]
        scan_s = scan if frac is None else f"group {frac}"
        L.append(f"| {s_} | {auc:.4f} | {name} | {m} | {tail} | "
                 f"{'conditional' if cond else 'pooled'} | {scan_s} |")
        d = results[name]["dir"]
        fit = "acthist fit " + ("--method empirical " if m == "empirical" else "")
        fit += f"-o m.ahm {d}/background.npy"
        ev = f"acthist eval m.ahm --tail {tail} --clean {d}/clean.npy"
        if cond:
            fit += f" --labels {d}/background_labels.npy"
            ev += f" --clean-labels {d}/clean_labels.npy"
        ev += f" --anomalous {d}/{s_}.npy"
        if cond:
            ev += f" --anomalous-labels {d}/{s_}_labels.npy"
        if frac is not None:
            ev += (f" --group {GROUP['batch']} --fraction {frac} --runs "
                   f"{GROUP['runs']} --restarts {GROUP['restarts']} --seed "
                   f"{GROUP['seed']}")
        cmds.append(f"# {s_}, {mode}: AUC {auc:.4f}\n{fit} && \\\n  {ev}")
    L.append("")
    L.append("The command that reproduces each (paths as made by "
             "`experiments/run_all.sh`):\n")
    L.append("```\n" + "\n".join(cmds) + "\n```\n")

    for name, r in results.items():
        ind = r["individual"]
        sets = [short(s) for s in ind["sets"]]
        L.append(f"## {name}: {r['rows']} background rows x {r['nodes']} "
                 "nodes\n")
        L.append("Individual scans:\n\n```\n" + r["individual_cmd"] +
                 "\n```\n")
        L.append("| method | bytes | % raw | fit s | p-value s | scan s |\n"
                 "|---|---|---|---|---|---|")
        seen = set()
        for x in ind["rows"]:
            if x["method"] in seen:
                continue
            seen.add(x["method"])
            same = [y for y in ind["rows"] if y["method"] == x["method"]]
            pv = sum(y["pvalue_s"] for y in same) / len(same)
            sc = sum(y["scan_s"] for y in same) / len(same)
            L.append(f"| {x['method']} | {x['model_bytes']} | "
                     f"{x['percent_raw']:.2f} | {x['fit_s']:.2f} | {pv:.2f} | "
                     f"{sc:.2f} |")
        L.append("")
        L.append("| method | tail | cond | " + " | ".join(sets) + " |")
        L.append("|---|---|---|" + "---|" * len(sets))
        top = [max(x["auc"][i] for x in ind["rows"]) for i in range(len(sets))]
        for x in ind["rows"]:
            cells = [(f"**{v:.3f}**" if v == top[i] else f"{v:.3f}")
                     for i, v in enumerate(x["auc"])]
            L.append(f"| {x['method']} | {x['tail']} | "
                     f"{'yes' if x['conditional'] else 'no'} | " +
                     " | ".join(cells) + " |")
        L.append("")
        cal = r.get("calibration")
        if cal:
            L.append("Calibration: share of held-out clean p_max values (upper "
                     "tail, all nodes) at or below each level; a valid p-value "
                     "stays at or below the level up to sampling error.\n\n```\n" +
                     "\n".join(cal["cmds"]) + "\n```\n")
            L.append("| method | " + " | ".join(f"a={a:g}" for a in cal["levels"]) +
                     " |\n|---|" + "---|" * len(cal["levels"]))
            for m, v in cal["rows"].items():
                L.append(f"| {m} | " + " | ".join(f"{x:.4f}" for x in v) + " |")
            L.append("")
        grp = r["group"]
        L.append("Group scans (AUC over runs; `G10%` = 10% of each batch "
                 "anomalous):\n\n```\n" + r["group_cmd"] + "\n```\n")
        fr = GROUP["fractions"].split(",")
        head = [f"G{float(f) * 100:g}% {s}" for f in fr for s in sets]
        L.append("| method | tail | cond | " + " | ".join(head) + " |")
        L.append("|---|---|---|" + "---|" * len(head))
        for x in grp["rows"]:
            vals = []
            for f in fr:
                key = [k for k in x["group"]["fractions"]
                       if abs(float(k) - float(f)) < 1e-9][0]
                vals += [f"{v:.3f}" for v in x["group"]["fractions"][key]]
            L.append(f"| {x['method']} | {x['tail']} | "
                     f"{'yes' if x['conditional'] else 'no'} | " +
                     " | ".join(vals) + " |")
        L.append("")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(L) + "\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {rel(path)}", file=sys.stderr)


if __name__ == "__main__":
    main()
