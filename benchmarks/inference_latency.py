#!/usr/bin/python3
"""Inference latency of concnas's engine against the same network in PyTorch.

For each network: trains it briefly (weights do not change the latency; the pick is
trained longer for the accuracy check), exports it for one unit and for two, then runs
ROUNDS rounds; each round runs, in an order rotated per round, the PyTorch peer
(benchmarks/torch_inference_peer.py: eager and traced + frozen + optimized, at 1 and 2
threads) and `concnas run --local` for one unit on 1 core, one unit on 2 cores, and 2
workers x 1 core (pinned). Each is its own process timing RUNS inferences; the
figure of a round is its p50. Speedups are best PyTorch p50 / concnas p50 per round
(best: the lower of frozen 1 and 2 threads), reported as the median over rounds with the
lowest and highest round.

Networks: `pick` (configs/examples/dp40_two_units.yaml, deployed on 2 units by the
components partitioner), `chain` (chain-40), and `er`, `ba`, `ws`, `dp` with SEEDS seeds
(ER p 0.2, BA m 5, WS k 4 p 0.75, DP alpha 1 beta 2 p 0.75; 40 vertices, probabilistic
staging, stem 16, channel limit 96).

  benchmarks/inference_latency.py [--networks pick,chain,er,ba,ws,dp] [--seeds 5]
      [--rounds 3] [--runs 300] [--batches 1,8] [--out bench-results/inference_latency.json]

With --check, also runs every mode over the 10,000 test images of the pick and compares
its logits with the trained network's (build/benchmarks/concnas_trained_logits) and its
accuracy with `concnas train`'s evaluation.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.environ.get("CONCNAS", os.path.join(ROOT, "build", "bin", "concnas"))
PEER = os.path.join(ROOT, "benchmarks", "torch_inference_peer.py")
TRAINED_LOGITS = os.path.join(os.path.dirname(CLI), "..", "benchmarks", "concnas_trained_logits")
GENERATORS = {"er": ["p=0.2"], "ba": ["m=5"], "ws": ["k=4", "p=0.75"], "dp": ["alpha=1", "beta=2", "p=0.75"]}
MODES = {"c1": ("u1", ["--cores", "1"]), "c2": ("u1", ["--cores", "2"]), "w2": ("u2", ["--cores", "1", "--pin"])}


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def prepare(work, name, subset):
    """Trains `name` briefly and exports it for 1 and 2 units; returns its folder."""
    folder = os.path.join(work, name)
    train = [CLI, "train", "--config", os.path.join(ROOT, "configs", "train_fmnist.yaml"), "--out", folder,
             "--set", "train.epochs=1", "--set", f"data.train_subset={subset}", "--set", "train.threads=2"]
    partitioner = []
    if name == "pick":
        train += ["--arch", os.path.join(ROOT, "configs", "examples", "dp40_two_units.yaml")]
        partitioner = ["--partitioner", "components"]
    elif name == "chain":
        train += ["--baseline", "chain", "--set", "arch.nodes=40"]
    elif name.startswith("lcp"):  # lcpK-wW: K branches of 40 vertices, width W, a branch per unit
        k, width = name[3:].split("-w")
        arch = os.path.join(work, name + ".yaml")
        sh([CLI, "generate", "--generator", "lcp", "--param", f"branches={k}", "--param", "depth=40", "--param",
            f"width={width}", "--staging", "probabilistic", "--stem-channels", "16", "--channel-limit", "96",
            "--seed", "0", "--name", name, "-o", arch])
        train += ["--arch", arch]
        partitioner = ["--partitioner", "components"]
    else:
        gen, seed = name.split("-s")
        arch = os.path.join(work, name + ".yaml")
        params = [a for p in GENERATORS[gen] for a in ("--param", p)]
        sh([CLI, "generate", "--generator", gen, "--nodes", "40", *params, "--staging", "probabilistic",
            "--stem-channels", "16", "--channel-limit", "96", "--seed", seed, "--name", name, "-o", arch])
        train += ["--arch", arch]
    sh(train)
    weights = [CLI, "export", "--arch", os.path.join(folder, "arch.yaml"), "--weights",
               os.path.join(folder, "weights.pt")]
    sh(weights + ["--units", "1", "-o", os.path.join(folder, "u1")])
    sh(weights + ["--units", "2", *partitioner, "-o", os.path.join(folder, "u2")])
    return folder


def concnas_p50(folder, mode, batch, runs):
    plan, flags = MODES[mode]
    report = os.path.join(folder, "run.json")
    sh([CLI, "run", "--plan", os.path.join(folder, plan), "--local", *flags, "--batch", str(batch), "--runs",
        str(runs), "--warmup", "30", "--json", report])
    with open(report) as f:
        return json.load(f)["latency_ms"]["p50"]


def peer_p50s(folder, batch, runs):
    out = json.loads(sh(["/usr/bin/python3", PEER, os.path.join(folder, "arch.yaml"), "--batch", str(batch),
                         "--runs", str(runs)]))
    return {k: out[k]["p50"] for k in ("eager_1t", "frozen_1t", "eager_2t", "frozen_2t")}


def measure(folder, batch, rounds, runs):
    """Per round: every variant's p50 (ms)."""
    jobs = ["torch", *MODES]
    per_round = []
    for r in range(rounds):
        row = {}
        for job in jobs[r % len(jobs):] + jobs[:r % len(jobs)]:
            if job == "torch":
                row.update(peer_p50s(folder, batch, runs))
            else:
                row[job] = concnas_p50(folder, job, batch, runs)
        row["best_torch"] = min(row["frozen_1t"], row["frozen_2t"])
        per_round.append(row)
    return per_round


def summary(per_round):
    out = {}
    for key in per_round[0]:
        out[key] = statistics.median(r[key] for r in per_round)
    for mode in MODES:
        ratios = [r["best_torch"] / r[mode] for r in per_round]
        out[f"speedup_{mode}"] = {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
        f1 = [r[mode] / r["frozen_1t"] for r in per_round]
        out[f"{mode}_over_frozen_1t"] = statistics.median(f1)
    return out


def read_logits(path):
    with open(path) as f:
        return [[float(v) for v in row[2:]] for row in list(csv.reader(f))[1:]]


def max_diff(a, b):
    assert len(a) == len(b), "logit files of different lengths"
    return max(abs(x - y) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def check_accuracy(folder):
    """Every mode over the test set: logits against the trained network's and accuracy."""
    with open(os.path.join(folder, "eval.json")) as f:
        trained = json.load(f)
    result = {"train_test_accuracy": trained["test_accuracy"]}
    reference = os.path.join(folder, "trained_logits.csv")
    result["trained_network"] = json.loads(sh([TRAINED_LOGITS, folder, reference]))
    trained_logits = read_logits(reference)
    logits = {}
    for mode in MODES:
        plan, flags = MODES[mode]
        csv_path = os.path.join(folder, f"logits_{mode}.csv")
        report = os.path.join(folder, f"all_{mode}.json")
        sh([CLI, "run", "--plan", os.path.join(folder, plan), "--local", *flags, "--all", "--batch", "100",
            "--check", "--logits", csv_path, "--json", report])
        with open(report) as f:
            r = json.load(f)
        logits[mode] = read_logits(csv_path)
        result[mode] = {"accuracy": r["accuracy"], "images": r["images"],
                        "max_abs_diff_trained": max_diff(logits[mode], trained_logits),
                        "max_abs_diff_torchscript": r["max_abs_diff"]}
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default="pick,chain,er,ba,ws,dp")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results", "inference_latency.json"))
    args = ap.parse_args()
    if not os.access(CLI, os.X_OK):
        sys.exit(f"inference_latency: {CLI} is missing: build first (scripts/setup.sh)")
    names = []
    for n in args.networks.split(","):
        names += [f"{n}-s{s}" for s in range(args.seeds)] if n in GENERATORS else [n]
    work = tempfile.mkdtemp(prefix="concnas-inference-")
    results = {"rounds": args.rounds, "runs": args.runs, "networks": {}}
    print(f"{'network':10} {'batch':>5} {'eager1':>7} {'frozen1':>7} {'frozen2':>7} {'c1':>7} {'c2':>7} {'w2':>7}"
          f" | {'c1/fr1':>6} {'x c1':>5} {'x c2':>5} {'x w2':>5}", flush=True)
    for name in names:
        folder = prepare(work, name, 10000 if name == "pick" else 256)
        entry = {}
        for batch in [int(b) for b in args.batches.split(",")]:
            s = summary(measure(folder, batch, args.rounds, args.runs))
            entry[f"batch{batch}"] = s
            print(f"{name:10} {batch:5d} {s['eager_1t']:7.3f} {s['frozen_1t']:7.3f} {s['frozen_2t']:7.3f} "
                  f"{s['c1']:7.3f} {s['c2']:7.3f} {s['w2']:7.3f} | {s['c1_over_frozen_1t']:6.2f} "
                  f"{s['speedup_c1']['median']:5.2f} {s['speedup_c2']['median']:5.2f} "
                  f"{s['speedup_w2']['median']:5.2f}", flush=True)
        if args.check and name == "pick":
            entry["check"] = check_accuracy(folder)
            print(json.dumps(entry["check"]), flush=True)
        results["networks"][name] = entry
    groups = {}
    for name, entry in results["networks"].items():
        groups.setdefault(name.split("-s")[0], []).append(entry)
    results["medians"] = {}
    for group, entries in groups.items():
        for key in [k for k in entries[0] if k.startswith("batch")]:
            results["medians"][f"{group}/{key}"] = {
                m: statistics.median(e[key][m] if isinstance(e[key][m], float) else e[key][m]["median"]
                                     for e in entries)
                for m in ("c1_over_frozen_1t", "speedup_c1", "speedup_c2", "speedup_w2")}
    generated = [e for n, e in results["networks"].items() if n.split("-s")[0] in GENERATORS]
    if generated:
        results["medians"]["all20/batch1"] = {
            "c1_over_frozen_1t": statistics.median(e["batch1"]["c1_over_frozen_1t"] for e in generated)}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(results, f, indent=2)
    print(json.dumps(results["medians"], indent=1))


if __name__ == "__main__":
    main()
