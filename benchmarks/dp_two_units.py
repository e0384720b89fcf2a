#!/usr/bin/python3
"""DP-40 architectures ranked by the simulator's predicted latency on two units.

Generates 40-vertex DP graphs over a grid of (alpha, beta, p) and seeds with the training
config's layout (probabilistic staging, stem 16, channel limit 96), scores each for two
units with `concnas score` (METIS and the components partitioner, several balance bounds)
under a device model given as a file (default: benchmarks/loopback_devices.yaml, this
machine's `concnas run` at batch 1: a fixed cost per layer call and per posted tensor),
and prints the best by predicted speedup among the architectures deep and large enough to
be worth training (default: a longest path of at least 10 vertices and at least 0.25 M
parameters; sparse settings otherwise win with dozens of one-vertex components).

  benchmarks/dp_two_units.py [--top N] [--seeds S] [--devices FILE] [--jobs J]
                             [--min-depth D] [--min-params P] [--out DIR]

Writes DIR/ranked.csv and keeps the architecture files of the top N in DIR.
"""
import argparse
import concurrent.futures
import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.environ.get("CONCNAS", os.path.join(ROOT, "build", "bin", "concnas"))
EPSILONS = "1.03,1.1,1.3,1.6"


def score(arch, partitioner, devices):
    out = subprocess.run([CLI, "score", arch, "-n", "2", "--partitioner", partitioner, "--epsilon", EPSILONS,
                          "--devices", devices, "--json"], check=True, capture_output=True, text=True).stdout
    return min(json.loads(out)["options"], key=lambda o: o["predicted_latency_s"])


def one(work, devices, alpha, beta, p, seed):
    name = f"dp40-a{alpha}-b{beta}-p{p}-s{seed}"
    arch = os.path.join(work, name + ".yaml")
    subprocess.run([CLI, "generate", "--generator", "dp", "--nodes", "40", "--param", f"alpha={alpha}",
                    "--param", f"beta={beta}", "--param", f"p={p}", "--staging", "probabilistic",
                    "--stem-channels", "16", "--channel-limit", "96", "--seed", str(seed),
                    "--name", name, "-o", arch], check=True, capture_output=True)
    info = json.loads(subprocess.run([CLI, "info", "--json", arch], check=True, capture_output=True,
                                     text=True).stdout)
    rows = []
    for partitioner in ("metis", "components"):
        o = score(arch, partitioner, devices)
        rows.append({"name": name, "partitioner": partitioner, "epsilon": o["epsilon"],
                     "speedup": round(o["predicted_speedup"], 4),
                     "latency_ms": round(o["predicted_latency_s"] * 1e3, 4),
                     "single_ms": round(o["single_device_latency_s"] * 1e3, 4),
                     "comm_bytes": o["comm_bytes"], "depth": info["longest_path"],
                     "components": info["components"], "params": info["params"], "arch": arch})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--top", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=12)
    ap.add_argument("--devices", default=os.path.join(ROOT, "benchmarks", "loopback_devices.yaml"))
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--min-depth", type=int, default=10)
    ap.add_argument("--min-params", type=float, default=0.25e6)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results", "dp_two_units"))
    args = ap.parse_args()
    if not os.access(CLI, os.X_OK):
        sys.exit(f"dp_two_units: {CLI} is missing: build first (scripts/setup.sh)")
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp()
    grid = list(itertools.product([0.5, 1, 2, 4], [1, 2, 4, 8], [0.5, 0.75, 0.9], range(args.seeds)))
    rows = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(one, work, args.devices, *g) for g in grid]
        for n, f in enumerate(concurrent.futures.as_completed(futures), 1):
            rows += f.result()
            if n % 48 == 0 or n == len(grid):
                print(f"{n}/{len(grid)} architectures scored", file=sys.stderr, flush=True)
    rows.sort(key=lambda r: (-r["speedup"], r["name"], r["partitioner"]))
    fields = ["name", "partitioner", "epsilon", "speedup", "latency_ms", "single_ms", "comm_bytes", "depth",
              "components", "params"]
    with open(os.path.join(args.out, "ranked.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    kept = set()
    for r in rows:
        if len(kept) >= args.top:
            break
        if r["depth"] < args.min_depth or r["params"] < args.min_params:
            continue
        if r["name"] not in kept:
            kept.add(r["name"])
            shutil.copy(r["arch"], os.path.join(args.out, r["name"] + ".yaml"))
        print(f'{r["name"]:28s} {r["partitioner"]:10s} eps {r["epsilon"]:<5} predicted {r["speedup"]:.3f}x '
              f'({r["single_ms"]:.3f} -> {r["latency_ms"]:.3f} ms), depth {r["depth"]}, '
              f'{r["components"]} components, {r["params"] / 1e6:.2f} M params')
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
