#!/usr/bin/env python3
"""Splits a paired latency run by the state the machine was in.

Reads the CSV files that `concnas run --baseline DIR --latencies FILE` writes (one row per
timed inference: the deployment's ms, the one-process baseline's ms on the same images, in
blocks of 10 that alternate). On a machine whose speed changes for seconds at a time, the
median of per-inference ratios mixes two questions: how much faster the deployment is, and
how often the baseline happened to run in the slow state. This script answers the first
one separately: a block counts as "fast" when the baseline's median in it is within
FAST_MARGIN of the baseline's fast-state speed (the 10th percentile of its block medians
over all files given, so give every round of one deployment and baseline together: a round
spent wholly in the slow state then has no fast blocks); the ratio over fast blocks is the
speedup against the one process at its best.

Usage: benchmarks/paired_blocks.py FILE.csv [FILE.csv ...]
Prints one line per file and one for all of them: blocks, fast blocks, the deployment's and
the baseline's median over each group, and the median block ratio (baseline / deployment)
over each group.
"""
import csv
import statistics
import sys

BLOCK = 10
FAST_MARGIN = 1.15


def blocks(path):
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        sys.exit(f"{path}: cannot read it: {e.strerror}")
    if not rows or "baseline_ms" not in rows[0]:
        sys.exit(f"{path}: not a paired latency file (run concnas run with --baseline and --latencies)")
    out = {}
    for line, r in enumerate(rows, start=2):
        try:
            out.setdefault(int(r["inference"]) // BLOCK, []).append((float(r["ms"]), float(r["baseline_ms"])))
        except (TypeError, ValueError):
            sys.exit(f"{path}:{line}: not a row of inference,ms,baseline_ms,baseline_first")
    return [(statistics.median(d for d, _ in v), statistics.median(b for _, b in v)) for v in out.values()]


def summary(group):
    if not group:
        return "   -        -        -   "
    return "{:6.3f}ms {:6.3f}ms {:5.2f}x".format(statistics.median(d for d, _ in group),
                                                 statistics.median(b for _, b in group),
                                                 statistics.median(b / d for d, b in group))


def main(paths):
    per_file = [(path, blocks(path)) for path in paths]
    pooled = [x for _, bm in per_file for x in bm]
    base = sorted(b for _, b in pooled)
    fast_speed = base[max(0, int(0.1 * len(base)) - 1)]
    print("baseline fast-state speed (10th percentile of block medians): {:.3f} ms; fast blocks are within {:.0%}"
          .format(fast_speed, FAST_MARGIN - 1))
    print("{:<28} {:>6} {:>5}   {:<27}  {:<27}".format("file", "blocks", "fast", "fast: deploy  1 proc  ratio",
                                                       "slow: deploy  1 proc  ratio"))
    for path, bm in per_file + ([("all", pooled)] if len(per_file) > 1 else []):
        fast = [x for x in bm if x[1] <= FAST_MARGIN * fast_speed]
        slow = [x for x in bm if x[1] > FAST_MARGIN * fast_speed]
        print("{:<28} {:>6} {:>5}   {}  {}".format(path[-28:], len(bm), len(fast), summary(fast), summary(slow)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
