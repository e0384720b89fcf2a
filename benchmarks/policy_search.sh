#!/usr/bin/env bash
# Seed 001's communication-policy search on Fashion-MNIST (docs/results.md, "Communication
# policies"): `concnas policy` with configs/policy_fmnist.yaml (shared network, random and
# controller search over 3 seeds, fine-tuning, full and no exchange at the same budget),
# then the controller's network exported a group per unit and run on 4 local workers over
# the whole test set, every output checked against one process.
#   benchmarks/policy_search.sh [OUT] [--set section.key=value ...]
# OUT defaults to runs/policy_fmnist; a folder that holds a run is resumed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-runs/policy_fmnist}
shift || true
args=(--config configs/policy_fmnist.yaml --out "$out" "$@")
[[ -f $out/config.yaml ]] && args+=(--resume)
build/bin/concnas policy "${args[@]}"
rm -rf "$out/deploy"
build/bin/concnas export --arch "$out/best.yaml" --weights "$out/finetune-controller/weights.pt" --units 4 \
  --partitioner groups --out "$out/deploy"
build/bin/concnas run --plan "$out/deploy" --local --all --check --batch 100 --json "$out/run.json"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
p = json.load(open(f"{out}/policy.json"))
r = json.load(open(f"{out}/run.json"))
full = {m["what"]: m for m in p["baselines"]}.get("full")
print("seed | random best reward | controller best reward")
for s in p["seeds"]:
    print(f'{s["seed"]} | {s["random_best_reward"]:.4f} | {s["controller_best_reward"]:.4f}')
print("network | policy | test % | traffic % | test % fp16 | traffic % fp16")
for m in p["picks"] + p["baselines"]:
    fp16 = (f'{100 * m["test_accuracy_fp16"]:.2f} | {100 * m["traffic_fp16"]:.1f}'
            if "test_accuracy_fp16" in m else "- | -")
    print(f'{m["what"]} | {m["name"]} | {100 * m["test_accuracy"]:.2f} | {100 * m["traffic"]:.1f} | {fp16}')
c = p["picks"][0]
wins = sum(s["controller_best_reward"] > s["random_best_reward"] for s in p["seeds"])
print(f'controller above random on {wins} of {len(p["seeds"])} seeds')
if full:
    print(f'controller vs full exchange: {100 * (c["test_accuracy"] - full["test_accuracy"]):+.2f} points')
print(f'4 workers: accuracy {100 * r["accuracy"]:.2f}%, max |logit - one process| {r["max_abs_diff"]:.2e}, '
      f'bytes/image measured {r["measured_bytes_per_image"]} vs plan {r["bytes_per_image"]}')
PY
