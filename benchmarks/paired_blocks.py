#!/usr/bin/env python3
"""Compares a deployment with its one-process baseline in the same state of the host.

Reads the CSV files that `concnas run --local --baseline DIR --latencies FILE` writes: one
row per timed inference with the deployment's ms, the one-process baseline's ms on the same
images (in blocks of 10 that alternate, so a pair of blocks is a fraction of a second
apart), and the milliseconds each computed (`baseline_compute_ms`, `wK_compute_ms`).

On this machine each vCPU, independently of the other, spends spells of seconds about
1.5-2x slower (docs/results.md, "Host noise"; measured in docs/notes/runtime_2026-11.md). A one-process run is slowed when its core is; a two-worker
deployment whenever either of its cores is. Over a whole run the ratio of the two p50s
therefore mixes the architecture's speedup with how often the host slowed one core or the
other. This script compares the two in the same state instead, classifying every block by
compute time, which waiting does not inflate, by one rule for both sides:

- a side of a block is "fast" for a worker (or the baseline) when its median compute time
  there is within MARGIN of that worker's fastest block (over all files given), "slow"
  otherwise;
- a pair of blocks (the same block of the same file) is "fast" when the baseline and every
  worker are fast in it, "slow" when all are slow; the others (some core fast, some slow)
  have no one-process counterpart.

For each state it gives the median over its pairs of the baseline's block median over the
deployment's, with a 90% bootstrap interval, and the two medians. Give every round of one
deployment and baseline together. Blocks cut short at the end of a run are left out.

Usage: benchmarks/paired_blocks.py [--json] [--margin M] FILE.csv [FILE.csv ...]
(M defaults to 1.2: the slow state is 1.5-2x the fast one). Prints one line per file and
one for all of them; with --json, only the figures for all files together.
"""
import csv
import json
import random
import statistics
import sys

BLOCK = 10


def read(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"{path}: cannot read it: {e.strerror}")
    columns = list(rows[0]) if rows else []
    workers = sorted((c for c in columns if c.startswith("w") and c.endswith("_compute_ms")),
                     key=lambda c: int(c[1:-len("_compute_ms")]))
    if not workers or "baseline_compute_ms" not in columns:
        sys.exit(f"{path}: not a paired latency file with compute times "
                 "(run concnas run --local with --baseline and --latencies)")
    names = ["ms", "baseline_ms", "baseline_compute_ms"] + workers
    blocks = {}
    for line, r in enumerate(rows, start=2):
        try:
            blocks.setdefault(int(r["inference"]) // BLOCK, []).append([float(r[c]) for c in names])
        except (TypeError, ValueError):
            sys.exit(f"{path}:{line}: not a row of inference,{','.join(names)}")
    # Per whole block: the median of every column.
    return workers, [[statistics.median(c) for c in zip(*v)] for v in blocks.values() if len(v) == BLOCK]


def bootstrap_90(ratios, rounds=2000):
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(ratios, k=len(ratios))) for _ in range(rounds))
    return medians[int(0.05 * rounds)], medians[int(0.95 * rounds) - 1]


def states(blocks, fastest, margin):
    """The pairs of blocks in each state. A block is [ms, baseline_ms, baseline_compute_ms, w0, w1, ...];
    `fastest` holds the lowest block median of the baseline's compute and of each worker's."""
    out = {"fast": [], "slow": [], "mixed": []}
    for b in blocks:
        fast = [value <= margin * best for value, best in zip(b[2:], fastest)]
        out["fast" if all(fast) else "slow" if not any(fast) else "mixed"].append(b)
    return out


def figures(pairs):
    out = {"pairs": len(pairs)}
    if pairs:
        ratios = [b[1] / b[0] for b in pairs]
        out.update(deploy_ms=statistics.median(b[0] for b in pairs),
                   baseline_ms=statistics.median(b[1] for b in pairs),
                   ratio=statistics.median(ratios), ratio_90=bootstrap_90(ratios))
    return out


def line(f):
    if not f["pairs"]:
        return "{:<38}".format("     -       -       -    (0)")
    return "{:6.3f}  {:6.3f}  {:5.2f}x {:4.2f}-{:4.2f} ({})".format(
        f["deploy_ms"], f["baseline_ms"], f["ratio"], *f["ratio_90"], f["pairs"]).ljust(38)


def main(paths, as_json, margin):
    per_file = [(path,) + read(path) for path in paths]
    if len({tuple(w) for _, w, _ in per_file}) != 1:
        sys.exit("the files come from deployments with different numbers of workers: give one deployment's rounds")
    pooled = [b for _, _, bm in per_file for b in bm]
    if not pooled:
        sys.exit("no whole block of {} inferences in the files".format(BLOCK))
    fastest = [min(b[k] for b in pooled) for k in range(2, len(pooled[0]))]
    if as_json:
        g = states(pooled, fastest, margin)
        print(json.dumps({"margin": margin, "fastest_baseline_compute_ms": fastest[0],
                          "fastest_worker_compute_ms": fastest[1:], "blocks": len(pooled),
                          "whole": {"deploy_ms": statistics.median(b[0] for b in pooled),
                                    "baseline_ms": statistics.median(b[1] for b in pooled)},
                          "fast": figures(g["fast"]), "slow": figures(g["slow"]), "mixed": len(g["mixed"])}, indent=2))
        return
    print("fastest block medians: the baseline computes {:.3f} ms, {}; a side is fast within {:.0%} of it".format(
        fastest[0], ", ".join("worker {} {:.3f} ms".format(k, s) for k, s in enumerate(fastest[1:])), margin - 1))
    print("{:<24} {:>6}  {:<24}  {:<38}  {:<38}  {}".format(
        "file", "blocks", "whole: deploy 1 proc", "fast: deploy 1 proc ratio 90% (pairs)",
        "slow: deploy 1 proc ratio 90% (pairs)", "mixed"))
    for path, _, bm in per_file + ([("all", None, pooled)] if len(per_file) > 1 else []):
        g = states(bm, fastest, margin)
        d, b = statistics.median(x[0] for x in bm), statistics.median(x[1] for x in bm)
        print("{:<24} {:>6}  {:6.3f}  {:6.3f}  {:5.2f}x  {}  {}  {}".format(
            path[-24:], len(bm), d, b, b / d, line(figures(g["fast"])), line(figures(g["slow"])), len(g["mixed"])))


if __name__ == "__main__":
    args = sys.argv[1:]
    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    margin = 1.2
    if "--margin" in args:
        at = args.index("--margin")
        try:
            margin = float(args[at + 1])
        except (IndexError, ValueError):
            sys.exit("--margin needs a number, e.g. 1.2")
        if margin <= 1:
            sys.exit("--margin must be above 1")
        del args[at:at + 2]
    if not args:
        sys.exit(__doc__)
    main(args, as_json, margin)
