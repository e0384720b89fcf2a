#!/usr/bin/python3
"""How well `concnas calibrate`'s devices file predicts what `concnas run` measures.

In one run: calibrates this machine (`concnas calibrate --cores 2 --local --world 2`), then
for 20 architectures (ER p 0.2, BA m 5, WS k 4 p 0.75, DP alpha 1 beta 2 p 0.75; 40
vertices, seeds 0-4, probabilistic staging, stem 16, channel limit 96) trains each briefly
(weights do not change the latency), exports it with the calibrated devices file and reads
the predicted latency `concnas export` prints, for three settings:
  u1c1  one unit on one core          (run --local --cores 1)
  u1c2  one unit on two cores         (run --local --cores 2)
  u2c1  two units of one core, pinned (run --local --cores 1 --pin; METIS partition)
and measures each with `concnas run --runs RUNS` (p50, batch 1). Prints the table and, per
setting, Spearman's rank correlation, the median and the largest |error|.

  benchmarks/calibration_accuracy.py [--runs 200] [--seeds 5] [--out bench-results/calibration_accuracy.json]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.environ.get("CONCNAS", os.path.join(ROOT, "build", "bin", "concnas"))
GENERATORS = {"er": ["p=0.2"], "ba": ["m=5"], "ws": ["k=4", "p=0.75"], "dp": ["alpha=1", "beta=2", "p=0.75"]}
SETTINGS = {"u1c1": ("1", "devices_c1.yaml", ["--cores", "1"]),
            "u1c2": ("1", "devices.yaml", ["--cores", "2"]),
            "u2c1": ("2", "devices_c1.yaml", ["--cores", "1", "--pin"])}


def sh(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def calibrate(work):
    """The devices file for two cores, and a copy for one."""
    path = os.path.join(work, "devices.yaml")
    print(sh([CLI, "calibrate", "-o", path, "--cores", "2", "--local", "--world", "2"]), flush=True)
    with open(path) as f:
        text = f.read()
    with open(os.path.join(work, "devices_c1.yaml"), "w") as f:
        f.write(re.sub(r"\n  cores: \d+\n", "\n  cores: 1\n", text))
    return text


def prepare(work, name):
    """Generates and briefly trains `name`; exports it per setting. Returns the predictions (ms)."""
    gen, seed = name.split("-s")
    folder = os.path.join(work, name)
    arch = os.path.join(work, name + ".yaml")
    params = [a for p in GENERATORS[gen] for a in ("--param", p)]
    sh([CLI, "generate", "--generator", gen, "--nodes", "40", *params, "--staging", "probabilistic",
        "--stem-channels", "16", "--channel-limit", "96", "--seed", seed, "--name", name, "-o", arch])
    sh([CLI, "train", "--config", os.path.join(ROOT, "configs", "train_fmnist.yaml"), "--arch", arch, "--out", folder,
        "--set", "train.epochs=1", "--set", "data.train_subset=256", "--set", "train.threads=2"])
    predicted = {}
    for setting, (units, devices, _) in SETTINGS.items():
        out = sh([CLI, "export", "--arch", os.path.join(folder, "arch.yaml"), "--weights",
                  os.path.join(folder, "weights.pt"), "--units", units, "--devices", os.path.join(work, devices),
                  "-o", os.path.join(folder, setting)])
        predicted[setting] = float(re.search(r"predicted ([0-9.]+) ms", out).group(1))
    return folder, predicted


def measure(folder, setting, runs):
    _, _, flags = SETTINGS[setting]
    report = os.path.join(folder, f"{setting}.json")
    sh([CLI, "run", "--plan", os.path.join(folder, setting), "--local", *flags, "--runs", str(runs), "--warmup",
        "30", "--json", report])
    with open(report) as f:
        return json.load(f)["latency_ms"]["p50"]


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.mean(ra), statistics.mean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-results", "calibration_accuracy.json"))
    args = ap.parse_args()
    if not os.access(CLI, os.X_OK):
        sys.exit(f"calibration_accuracy: {CLI} is missing: build first (scripts/setup.sh)")
    work = tempfile.mkdtemp(prefix="concnas-calibration-")
    devices = calibrate(work)
    names = [f"{g}-s{s}" for g in GENERATORS for s in range(args.seeds)]
    rows = []
    print(f"{'network':8} " + " ".join(f"{s + ' pred':>10} {s + ' meas':>10} {'err':>6}" for s in SETTINGS), flush=True)
    for i, name in enumerate(names):
        folder, predicted = prepare(work, name)
        settings = list(SETTINGS)
        row = {"network": name}
        for setting in settings[i % 3:] + settings[:i % 3]:  # rotated, so no setting always runs first
            measured = measure(folder, setting, args.runs)
            row[setting] = {"predicted_ms": predicted[setting], "measured_ms": measured,
                            "error": predicted[setting] / measured - 1}
        rows.append(row)
        print(f"{name:8} " + " ".join(f"{row[s]['predicted_ms']:10.3f} {row[s]['measured_ms']:10.3f} "
                                      f"{100 * row[s]['error']:+5.1f}%" for s in SETTINGS), flush=True)
    summary = {}
    for s in SETTINGS:
        p = [r[s]["predicted_ms"] for r in rows]
        m = [r[s]["measured_ms"] for r in rows]
        errors = [abs(r[s]["error"]) for r in rows]
        summary[s] = {"spearman": spearman(p, m), "median_abs_error": statistics.median(errors),
                      "max_abs_error": max(errors)}
        print(f"{s}: Spearman {summary[s]['spearman']:.3f}, median |error| {100 * summary[s]['median_abs_error']:.1f}%, "
              f"largest {100 * summary[s]['max_abs_error']:.1f}%", flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"runs": args.runs, "devices_yaml": devices, "networks": rows, "summary": summary}, f, indent=2)


if __name__ == "__main__":
    main()
