#!/usr/bin/env bash
# Tables V/VI of the EDGE'23 paper (Hadidi et al.) on Fashion-MNIST: every candidate of
# configs/edge23_study.yaml (40 sampled 40-vertex ER/BA/WS/DP networks + the chain and
# RandWire baselines) trained once on the same budget, then mean and best test accuracy and
# accuracy per parameter per generator, with CS and the predicted 4-unit speedup beside
# them. About 45 minutes on 2 cores; an interrupted run continues where it stopped
# (`--resume`).
#   benchmarks/edge23_accuracy.sh [RUN_DIR]      (default runs/edge23)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/edge23}
resume=()
[[ -f "$out/candidates.jsonl" ]] && resume=(--resume)
build/bin/concnas search --config configs/edge23_study.yaml --out "$out" "${resume[@]}" >&2
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
cands = {}
for line in open(f"{out}/candidates.jsonl"):
    c = json.loads(line)
    cands[c["id"]] = c
rows = {}
for line in open(f"{out}/trials.jsonl"):
    t = json.loads(line)
    c = cands[t["candidate"]]
    g = c["generator"].upper() if c["kind"] == "sampled" else c["kind"] + " baseline"
    best = c["options"][c["best"]]
    acc = 100 * t["test_accuracy"]
    rows.setdefault(g, []).append((acc, acc / (t["params"] / 1e6), t["params"], best["cs"], best["speedup"]))
order = sorted(rows, key=lambda g: (g.endswith("baseline"), g))
print("| generator | trained | mean acc. | best acc. | mean acc./M params | best acc./M params | mean params | mean CS | mean predicted speedup, 4 units |")
print("|---|---|---|---|---|---|---|---|---|")
for g in order:
    r = rows[g]
    col = lambda i: [x[i] for x in r]
    print(f"| {g} | {len(r)} | {statistics.mean(col(0)):.2f}% | {max(col(0)):.2f}% | "
          f"{statistics.mean(col(1)):.0f} | {max(col(1)):.0f} | {statistics.mean(col(2)) / 1e3:.0f} k | "
          f"{statistics.mean(col(3)):.2f} | {statistics.mean(col(4)):.2f} |")
PY
