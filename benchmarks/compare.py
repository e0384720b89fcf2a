#!/usr/bin/python3
"""Compares the figures of a benchmark run (scripts/bench.sh's JSON) with a baseline.

  benchmarks/compare.py RESULTS_DIR --baseline benchmarks/baseline.json          # compare
  benchmarks/compare.py RESULTS_DIR --baseline benchmarks/baseline.json --save   # new baseline

Every figure is a ratio measured within the one run (concnas against the peer or the
variant it replaces, timed side by side), so a machine's drift cancels out; an absolute
time would not compare across machines or minutes. Each figure says whether lower or
higher is better and how much worse it may get (its threshold, kept in the baseline
file). Exits 1 when a figure regressed beyond its threshold or is missing.
"""
import argparse
import json
import math
import os
import sys


def medians(path):
    """Google Benchmark's median real times by benchmark name (without the suffix)."""
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    return {b["run_name"]: b["real_time"] * {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
            for b in runs if b.get("aggregate_name") == "median"}


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def figures(results):
    """name -> (value, lower_is_better, what)."""
    out = {}
    gen = medians(os.path.join(results, "concnas_bench_generate.json"))
    with open(os.path.join(results, "networkx_baseline.json")) as f:
        nx = json.load(f)["seconds_per_graph"]
    out["generate_vs_networkx"] = (gen["BM_GenerateGraphOnly"] / nx, True,
                                   "time to generate a graph, concnas / NetworkX")
    ops = medians(os.path.join(results, "concnas_bench_ops.json"))
    for op in ("BatchNorm", "WeightedSumRelu"):
        ratios = [t / ops[name.replace("/concnas/", "/libtorch/")] for name, t in ops.items()
                  if name.startswith(f"BM_{op}/concnas/")]
        out[f"{op.lower()}_vs_libtorch"] = (geomean(ratios), True, f"{op} training loop time, concnas / LibTorch")
    score = medians(os.path.join(results, "concnas_bench_score.json"))
    out["refinement_cost"] = (score["BM_ScoreArchitecture/dp_metis/40/4"] /
                              score["BM_ScoreArchitecture/dp_metis_unrefined/40/4"], True,
                              "scoring time, refined METIS / METIS alone")
    with open(os.path.join(results, "partition_quality.json")) as f:
        rows = json.load(f)["rows"]
    out["bytes_vs_metis"] = (geomean([r["mean_comm_bytes_refined"] / r["mean_comm_bytes_metis_alone"]
                                      for r in rows if r["mean_comm_bytes_metis_alone"] > 0]), True,
                             "bytes between units, refined METIS / METIS alone")
    with open(os.path.join(results, "search_throughput.json")) as f:
        st = json.load(f)
    out["search_scaling"] = (st["per_s"] / st["one_thread_per_s"], False,
                             "scoring throughput, 2 threads / 1 thread")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--save", action="store_true", help="write the run's figures as the new baseline")
    args = ap.parse_args()
    try:
        now = figures(args.results)
    except (OSError, KeyError, ValueError) as e:
        sys.exit(f"compare: cannot read the benchmark results in {args.results}: {e}")
    old = {}
    if os.path.exists(args.baseline):
        with open(args.baseline) as f:
            old = json.load(f)["figures"]
    if args.save:
        saved = {name: {"value": v, "lower_is_better": low, "what": what,
                        "threshold": old.get(name, {}).get("threshold", 0.02 if name == "bytes_vs_metis" else 0.25)}
                 for name, (v, low, what) in now.items()}
        with open(args.baseline, "w") as f:
            json.dump({"figures": saved}, f, indent=2)
            f.write("\n")
        print(f"compare: {len(saved)} figures saved as the baseline {args.baseline}")
        return 0
    failed = 0
    print(f"{'figure':24} {'baseline':>10} {'now':>10} {'worse by':>9}  verdict")
    for name, b in old.items():
        if name not in now:
            print(f"{name:24} {b['value']:10.4g} {'missing':>10}")
            failed += 1
            continue
        v = now[name][0]
        worse = (v / b["value"] - 1) if b["lower_is_better"] else (b["value"] / v - 1)
        verdict = "REGRESSED" if worse > b["threshold"] else "ok"
        failed += verdict != "ok"
        print(f"{name:24} {b['value']:10.4g} {v:10.4g} {100 * worse:+8.1f}%  {verdict} (threshold "
              f"{100 * b['threshold']:.0f}%: {b['what']})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
