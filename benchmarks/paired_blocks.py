#!/usr/bin/env python3
"""Splits a paired latency run by the state each of the host's cores was in.

Reads the CSV files that `concnas run --local --baseline DIR --latencies FILE` writes: one
row per timed inference with the deployment's ms, the one-process baseline's ms on the same
images (in blocks of 10 that alternate), and the milliseconds each worker spent computing
(`wK_compute_ms`).

On this machine every vCPU, independently of the other, spends spells of seconds running
about 1.5x slower (the host's memory latency rises with it; docs/results.md). A one-process
run is slowed when its core is; a two-worker deployment whenever either of its cores is, so
over a whole run it is in the slow state more often, and the ratio of the two p50s mixes
the architecture's speedup with how often the host slowed one core or the other. This
script compares the two in the same state instead:

- a baseline block is "fast" when its median is within FAST_MARGIN of the baseline's
  fast-state speed (its lowest block median over all files given);
- a deployment block is "all fast" when every worker's median compute time in it is within
  FAST_MARGIN of that worker's fast-state speed (its lowest block median), "all slow" when
  none is, and "mixed" otherwise.

The slow state is 1.5-2x the fast one, so the margin falls in the gap between them; the
speeds found are printed, to see that a run had fast blocks at all.

Give every round of one deployment and baseline together: a round spent wholly in one state
then has no blocks of the other.

Usage: benchmarks/paired_blocks.py [--json] FILE.csv [FILE.csv ...]
Prints, per file and for all of them: the p50s and their ratio over every block, then the
deployment's and the baseline's median and their ratio over the fast blocks and over the
slow ones, and the number of blocks of each kind (deployment / baseline). With --json, only
the figures for all files together, as one JSON object.
"""
import csv
import json
import statistics
import sys

BLOCK = 10
FAST_MARGIN = 1.2


def read(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"{path}: cannot read it: {e.strerror}")
    workers = sorted((c for c in (rows[0] if rows else {}) if c.startswith("w") and c.endswith("_compute_ms")),
                     key=lambda c: int(c[1:-len("_compute_ms")]))
    if not rows or "baseline_ms" not in rows[0] or not workers:
        sys.exit(f"{path}: not a paired latency file with the workers' compute times "
                 "(run concnas run --local with --baseline and --latencies)")
    blocks = {}
    for line, r in enumerate(rows, start=2):
        try:
            values = [float(r["ms"]), float(r["baseline_ms"])] + [float(r[w]) for w in workers]
            blocks.setdefault(int(r["inference"]) // BLOCK, []).append(values)
        except (TypeError, ValueError):
            sys.exit(f"{path}:{line}: not a row of inference,ms,baseline_ms,...,{','.join(workers)}")
    # One row per block: medians of the deployment, the baseline and each worker's compute.
    return workers, [[statistics.median(col) for col in zip(*v)] for v in blocks.values()]


def states(bm, worker_fast, base_fast):
    """The deployment's and the baseline's block medians in each state."""
    fast = [all(b[2 + k] <= FAST_MARGIN * s for k, s in enumerate(worker_fast)) for b in bm]
    slow = [all(b[2 + k] > FAST_MARGIN * s for k, s in enumerate(worker_fast)) for b in bm]
    base_is_fast = [b[1] <= FAST_MARGIN * base_fast for b in bm]
    return {
        "all": ([b[0] for b in bm], [b[1] for b in bm]),
        "fast": ([b[0] for b, f in zip(bm, fast) if f], [b[1] for b, f in zip(bm, base_is_fast) if f]),
        "slow": ([b[0] for b, s in zip(bm, slow) if s], [b[1] for b, f in zip(bm, base_is_fast) if not f]),
        "mixed": ([b[0] for b, f, s in zip(bm, fast, slow) if not f and not s], []),
    }


def figures(deploy, base):
    out = {"deploy_blocks": len(deploy), "baseline_blocks": len(base)}
    if deploy:
        out["deploy_ms"] = statistics.median(deploy)
    if base:
        out["baseline_ms"] = statistics.median(base)
    if deploy and base:
        out["ratio"] = out["baseline_ms"] / out["deploy_ms"]
    return out


def main(paths, as_json):
    per_file = [(path,) + read(path) for path in paths]
    if len({tuple(w) for _, w, _ in per_file}) != 1:
        sys.exit("the files come from deployments with different numbers of workers: give one deployment's rounds")
    workers = per_file[0][1]
    pooled = [b for _, _, bm in per_file for b in bm]
    base_fast = min(b[1] for b in pooled)
    worker_fast = [min(b[2 + k] for b in pooled) for k in range(len(workers))]
    if as_json:
        groups = states(pooled, worker_fast, base_fast)
        print(json.dumps({"baseline_fast_ms": base_fast, "worker_fast_compute_ms": worker_fast,
                          "fast_margin": FAST_MARGIN, **{k: figures(*v) for k, v in groups.items()}}, indent=2))
        return
    print("fast-state speeds (lowest block medians): baseline {:.3f} ms; {}; fast is within {:.0%}"
          .format(base_fast, ", ".join("worker {} computes {:.3f} ms".format(k, s) for k, s in enumerate(worker_fast)),
                  FAST_MARGIN - 1))
    print("{:<24} {:>6}  {:<24}  {:<32}  {:<32}  {:>6}".format(
        "file", "blocks", "all: deploy 1 proc ratio", "all fast: deploy 1 proc ratio  n", "all slow: deploy 1 proc ratio  n",
        "mixed"))

    def group(deploy, base):
        if not deploy or not base:
            return "{:<32}".format("   -       -       -    {}/{}".format(len(deploy), len(base)))
        d, b = statistics.median(deploy), statistics.median(base)
        return "{:6.3f}  {:6.3f}  {:5.2f}x  {:>3}/{:<3}".format(d, b, b / d, len(deploy), len(base))

    for path, _, bm in per_file + ([("all", workers, pooled)] if len(per_file) > 1 else []):
        g = states(bm, worker_fast, base_fast)
        d_all, b_all = statistics.median(g["all"][0]), statistics.median(g["all"][1])
        print("{:<24} {:>6}  {:6.3f}  {:6.3f}  {:5.2f}x  {}  {}  {:>6}".format(
            path[-24:], len(bm), d_all, b_all, b_all / d_all, group(*g["fast"]), group(*g["slow"]),
            len(g["mixed"][0])))


if __name__ == "__main__":
    args = sys.argv[1:]
    as_json = "--json" in args
    paths = [a for a in args if a != "--json"]
    if not paths:
        sys.exit(__doc__)
    main(paths, as_json)
