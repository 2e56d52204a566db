#!/usr/bin/env python3
"""fit_in_shards.py - a background fitted by worker processes, each seeing
only its own shard of rows, then merged exactly (docs/SHARDS.md).

Each worker plans its shard; the parent merges the plans and hands the
merged plan back; each worker counts its shard against it; the parent
merges the counts and finishes the model.  Only shards cross process
boundaries (pickled as their file's bytes), never rows.  The same pattern
fits torch.distributed: all_gather_object the plans, then the counts.

    PYTHONPATH=python python3 examples/fit_in_shards.py [WORKERS] [DATA_DIR]

Runs on any Python with NumPy (Debian's /usr/bin/python3 included).  Prints
one JSON object; "same_bytes" is whether the model equals Model.fit on all
the rows at once.
"""
import json
import multiprocessing
import os
import sys

import numpy as np

import acthist


def shard_rows(data, k, workers):
    """Worker k's rows (a worker would read its own files instead)."""
    x = np.load(os.path.join(data, "background.npy"), mmap_mode="r")
    y = np.load(os.path.join(data, "background_labels.npy"))
    lo, hi = len(x) * k // workers, len(x) * (k + 1) // workers
    return np.asarray(x[lo:hi]), y[lo:hi]


def plan(args):
    data, k, workers = args
    x, y = shard_rows(data, k, workers)
    return acthist.Shard.plan(x, labels=y)


def count(args):
    data, k, workers, merged_plan = args
    x, y = shard_rows(data, k, workers)
    return merged_plan.count(x, labels=y)


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    data = sys.argv[2] if len(sys.argv) > 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data")
    jobs = [(data, k, workers) for k in range(workers)]
    with multiprocessing.Pool(workers) as pool:
        merged_plan = acthist.Shard.merged(pool.map(plan, jobs))
        counts = pool.map(count, [j + (merged_plan,) for j in jobs])
    model = acthist.Shard.merged(counts).finish()

    x = np.load(os.path.join(data, "background.npy"))
    y = np.load(os.path.join(data, "background_labels.npy"))
    one = acthist.Model.fit(x, labels=y)
    info = model.info()
    print(json.dumps({"workers": workers, "rows": info["rows"],
                      "labels": info["labels"],
                      "model_bytes": info["file_bytes"],
                      "same_bytes": model.to_bytes() == one.to_bytes()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
