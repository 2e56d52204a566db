"""The evidence behind fit's default tail: for every tail, pooled and
conditional, the default histogram's individual-scan AUC over every layer
and anomaly of docs/RESULTS.md (13 layers of three networks, 8 anomalies;
the clean holdout left out), with its mean, its worst case and how many
tasks fall below 0.5.  Reads the per-layer tables of docs/RESULTS.md, which
experiments/results.py writes; standard-library Python.

    python3 experiments/default_tail.py [docs/RESULTS.md]
    python3 experiments/default_tail.py --tasks [docs/RESULTS.md]

--tasks: one row per task instead, the default (conditional two-tailed)
beside the paper's (upper tail, pooled) and the best of the eight.
"""
import collections
import re
import sys


def tasks(path):
    """{(tail, cond): [(auc, layer, anomaly), ...]} of the `hist` rows."""
    text = open(path).read()
    out = collections.defaultdict(list)
    for sec in re.split(r"\n## ", text):
        m = re.match(r"(\S+/\S+): \d+ background rows", sec)
        i = sec.find("| method | tail | cond |")
        if not m or i < 0:
            continue
        lines = sec[i:].split("\n")
        head = [c.strip() for c in lines[0].strip("|").split("|")]
        for line in lines[2:]:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells[0] != "hist":
                continue
            for name, v in zip(head[3:], cells[3:]):
                if name != "clean_holdout":
                    out[(cells[1], cells[2])].append((float(v), m.group(1),
                                                      name))
    return out


def per_task(rows):
    auc = {key: {(l, a): v for v, l, a in vals} for key, vals in rows.items()}
    default, paper = auc[("two", "yes")], auc[("upper", "no")]
    print("| layer | anomaly | default | paper's | best | best tail, labels |")
    print("|---|---|---|---|---|---|")
    for task in default:
        best = max(auc, key=lambda k: auc[k][task])
        print("| %s | %s | %.3f | %.3f | %.3f | %s, %s |"
              % (task[0], task[1], default[task], paper[task],
                 auc[best][task], best[0],
                 "conditional" if best[1] == "yes" else "pooled"))


def main():
    args = [a for a in sys.argv[1:] if a != "--tasks"]
    path = args[0] if args else "docs/RESULTS.md"
    rows = tasks(path)
    if "--tasks" in sys.argv[1:]:
        per_task(rows)
        return
    print("| tail | labels | tasks | mean AUC | worst AUC | worst task "
          "| tasks below 0.5 |")
    print("|---|---|---|---|---|---|---|")
    for (tail, cond), v in sorted(rows.items(),
                                  key=lambda kv: -sum(a for a, _, _ in kv[1])
                                  / len(kv[1])):
        a = [x[0] for x in v]
        w = min(v)
        print("| %s | %s | %d | %.3f | %.3f | %s %s | %d |"
              % (tail, "conditional" if cond == "yes" else "pooled", len(a),
                 sum(a) / len(a), w[0], w[1], w[2],
                 sum(x < 0.5 for x in a)))


if __name__ == "__main__":
    main()
