"""acthist.Shard on the bundled real activations: shards planned, merged,
counted and finished give the bytes of Model.fit and of `acthist fit`;
shards pickle (across worker processes too: examples/fit_in_shards.py),
save and load, and interoperate with `acthist merge`;
refusals raise acthist.Error."""
import json
import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np

import acthist
from check import check, raises, repo_path, run

ACTHIST = os.environ.get("ACTHIST") or repo_path("build", "acthist")
TMP = tempfile.mkdtemp(prefix="acthist-shard-py-")
X = np.load(repo_path("data", "background.npy"))
L = np.load(repo_path("data", "background_labels.npy"))
CUTS = [0, 1234, 1240, 6000, len(X)]  # a shard of 6 rows among them


def parts(labels=True):
    for a, b in zip(CUTS, CUTS[1:]):
        yield (X[a:b], L[a:b] if labels else None)


def fit_in_shards(labels, **opts):
    plans = [acthist.Shard.plan(x, labels=y, **opts) for x, y in parts(labels)]
    plan = acthist.Shard.merged(pickle.loads(pickle.dumps(p)) for p in plans)
    counts = [plan.count(x, labels=y) for x, y in parts(labels)]
    c = acthist.Shard.merged(reversed(counts))
    return c.finish(), plan, counts


def test_same_bytes():
    for labels in (False, True):
        for opts in ({}, {"bins": 64, "tail": "two"}):
            model, _, _ = fit_in_shards(labels, **opts)
            ref = acthist.Model.fit(X, labels=L if labels else None, **opts)
            check(model.to_bytes() == ref.to_bytes(),
                  "labels %s, %s: merged model differs from Model.fit"
                  % (labels, opts))


def test_batches_and_float64():
    x64 = X.astype(np.float64)
    plan = acthist.Shard.merged(
        acthist.Shard.plan_batches([(x64[a:b], L[a:b])])
        for a, b in zip(CUTS, CUTS[1:]))
    counts = acthist.Shard.merged(
        plan.count_batches(lambda a=a, b=b: iter([(X[a:b], L[a:b])]))
        for a, b in zip(CUTS, CUTS[1:]))
    ref = acthist.Model.fit(X, labels=L)
    check(counts.finish().to_bytes() == ref.to_bytes(),
          "batches and float64: merged model differs")


def test_with_the_cli():
    """Python plans and counts through files, merged by `acthist merge`."""
    model, plan, counts = fit_in_shards(True)
    paths = []
    for i, c in enumerate(counts):
        p = os.path.join(TMP, "c%d.counts" % i)
        c.save(p)
        paths.append(p)
    out = os.path.join(TMP, "m.ahm")
    r = subprocess.run([ACTHIST, "merge", "-o", out] + paths,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, "acthist merge: %s" % r.stderr.decode())
    with open(out, "rb") as f:
        check(f.read() == model.to_bytes(), "acthist merge of Python counts "
              "differs from Shard.finish")
    p = os.path.join(TMP, "plan")
    plan.save(p)
    again = acthist.Shard.load(p)
    check(again.to_bytes() == plan.to_bytes(), "plan save/load round trip")
    info = counts[1].info()
    check(info == acthist.ShardInfo("counts", 128, 10, 6, 10000),
          "info of a 6-row shard: %r" % (info,))
    check(plan.info().kind == "plan" and plan.info().rows == 10000,
          "info of the plan")


def test_example_with_processes():
    """examples/fit_in_shards.py: shards pickled across worker processes."""
    r = subprocess.run([sys.executable, repo_path("examples", "fit_in_shards.py"),
                        "4"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check(r.returncode == 0, "fit_in_shards.py: %s" % r.stderr.decode())
    out = json.loads(r.stdout.decode() or "{}")
    check(out.get("same_bytes") is True and out.get("rows") == 10000,
          "fit_in_shards.py with 4 workers: %r" % out)


def test_fit_with_threads():
    """Model.fit(threads=K): slices fitted as shards in threads, the bytes
    of one thread; other binnings refused."""
    ref = acthist.Model.fit(X, labels=L)
    for k in (2, 3, 0):
        m = acthist.Model.fit(X, labels=L, threads=k)
        check(m.to_bytes() == ref.to_bytes(),
              "Model.fit(threads=%d) differs from one thread" % k)
    x64 = X[:3000].astype(np.float64)
    check(acthist.Model.fit(x64, bins=64, tail="lower", threads=2).to_bytes()
          == acthist.Model.fit(x64, bins=64, tail="lower").to_bytes(),
          "float64, 64 bins, threads=2 differs")
    raises(lambda: acthist.Model.fit(X, binning="quantile", threads=2),
           ValueError, "equal-width", "quantile with threads")
    raises(lambda: acthist.Model.fit(X, bins="auto", threads=2), ValueError,
           "equal-width", "auto bins with threads")
    raises(lambda: acthist.Model.fit(X, threads=-1), ValueError, "threads",
           "negative threads")


def test_refusals():
    model, plan, counts = fit_in_shards(True)
    e = raises(lambda: acthist.Shard.merged(counts[:2]).finish(),
               acthist.Error, "a shard is missing", "missing shard")
    check(e is not None and e.status == "AH_ERR_VALUE", "missing: status")
    raises(lambda: acthist.Shard.merged([counts[2], counts[3], counts[2]]),
           acthist.Error, "counted twice", "a shard counted twice")
    raises(lambda: plan.merge(counts[0]), acthist.Error, "do not merge",
           "plan with counts")
    raises(lambda: plan.merge(plan), acthist.Error, "itself", "self merge")
    raises(lambda: plan.finish(), acthist.Error, "from counts",
           "finish a plan")
    raises(lambda: counts[0].count(X[:5], labels=L[:5]), acthist.Error,
           "needs a plan", "count against counts")
    raises(lambda: plan.count(X[:5, :100], labels=L[:5]), acthist.Error,
           "nodes", "other D")
    raises(lambda: plan.count(X[:5]), acthist.Error, "labels",
           "no labels against a conditional plan")
    small = acthist.Shard.plan(X[:100], labels=L[:100])
    raises(lambda: small.count(X[:2000], labels=L[:2000]), acthist.Error,
           "outside the plan", "rows outside the plan")
    raises(lambda: acthist.Shard.plan(X, bins=64).merge(
        acthist.Shard.plan(X)), acthist.Error, "bin counts", "other bins")
    raises(lambda: acthist.Shard.from_bytes(plan.to_bytes()[:-9]),
           acthist.Error, "truncated", "truncated bytes")
    raises(lambda: acthist.Shard.from_bytes(model.to_bytes()),
           acthist.Error, "not an acthist shard", "a model as a shard")
    raises(lambda: acthist.Shard.plan(X[:10], labels=L[:9]), ValueError,
           "labels", "labels of the wrong length")
    x = X[:50].astype(np.float64)
    x[7, 3] = np.nan
    e = raises(lambda: acthist.Shard.plan(x), acthist.Error, "NaN", "NaN")
    check(e is not None and e.row == 7 and e.col == 3, "NaN row and column")


if __name__ == "__main__":
    run("test_shard_binding.py", [test_same_bytes, test_batches_and_float64,
                                  test_with_the_cli,
                                  test_example_with_processes,
                                  test_fit_with_threads, test_refusals])
