#!/usr/bin/env bash
# NN-Stretch on this machine (docs/stretch.md, docs/results.md "NN-Stretch"): chain-20 on
# two devices, the second half as fast as the first.
#  1. `concnas calibrate` prices this machine as the fast device; the slow one is the same
#     at twice every price and half the FLOP/s (hetero.yaml).
#  2. `concnas stretch` prunes, trains chain-20 and the survivors with CONFIG, and exports
#     the pick with branch k on unit k.
#  3. ROUNDS rounds, in an order rotated per round: the pick on 2 pinned workers, worker 1
#     held to half its core (`--cpu-quota 1=0.5`); chain-20 on concnas alone on worker 0's
#     core; and chain-20 in PyTorch on that core (traced, frozen, optimize_for_inference, 1
#     thread: the peer).
# Needs root for the quota. Arguments after the fourth go to `concnas stretch` (e.g.
# --alpha 1).
#   benchmarks/stretch.sh [OUT.json] [CONFIG] [ROUNDS] [BATCHES] [STRETCH FLAGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results/stretch.json}
config=${2:-configs/stretch_fmnist.yaml}
rounds=${3:-3}
batches=${4:-1,8}
shift $(($# < 4 ? $# : 4))
runs=600
mkdir -p "$(dirname "$out")"
work=$(mktemp -d)
concnas=$PWD/build/bin/concnas
core=$(python3 -c 'import os; print(sorted(os.sched_getaffinity(0))[0])')

"$concnas" calibrate -o "$work/cal.yaml" --local --world 2 >"$work/calibrate.log" 2>&1
python3 - "$work/cal.yaml" "$work/hetero.yaml" <<'PY'
import sys, yaml
cal = yaml.safe_load(open(sys.argv[1]))
fast = dict(cal["device"], name="fast", cores=1)
slow = dict(fast, name="slow", flops_per_s=fast["flops_per_s"] / 2)
slow["ops"] = {k: (v * 2 if k.endswith("_s") else v) for k, v in fast["ops"].items()}
yaml.safe_dump({"devices": [fast, slow], "link": cal["link"]}, open(sys.argv[2], "w"), sort_keys=False)
PY
"$concnas" generate --generator lcp --param branches=1 --param depth=20 --channel-limit 96 --seed 0 \
  -o "$work/chain20.yaml" >/dev/null
"$concnas" stretch --arch "$work/chain20.yaml" --config "$config" --devices "$work/hetero.yaml" \
  --out "$work/stretch" "$@" 2>"$work/stretch.log" | tee "$work/stretch.out" ||
  { tail -3 "$work/stretch.log"; exit 1; }
"$concnas" export --arch "$work/chain20.yaml" --weights "$work/stretch/chain/weights.pt" --units 1 \
  -o "$work/chain1" >/dev/null

for batch in ${batches//,/ }; do
  for ((r = 0; r < rounds; r++)); do
    jobs=(stretch chain torch)
    jobs=("${jobs[@]:r%3}" "${jobs[@]:0:r%3}")
    for job in "${jobs[@]}"; do
      case $job in
        stretch) "$concnas" run --plan "$work/stretch/deploy" --local --pin --cpu-quota 1=0.5 \
                   --devices "$work/hetero.yaml" --runs $runs --batch "$batch" --json "$work/run.b$batch.$r.json" \
                   >"$work/run.b$batch.$r.log" 2>&1 ;;
        chain) "$concnas" run --plan "$work/chain1" --local --pin --runs $runs --batch "$batch" \
                 --json "$work/chain.b$batch.$r.json" >"$work/chain.b$batch.$r.log" 2>&1 ;;
        torch) taskset -c "$core" /usr/bin/python3 benchmarks/torch_inference_peer.py "$work/chain20.yaml" \
                 --batch "$batch" --runs $runs --threads 1 >"$work/torch.b$batch.$r.json" ;;
      esac
    done
    echo "batch $batch round $((r + 1))/$rounds done"
  done
done

python3 - "$work" "$out" "$rounds" "$batches" "$config" <<'PY'
import json, statistics, sys
work, out, rounds, batches, config = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
space = json.load(open(f"{work}/stretch/space.json"))
report = json.load(open(f"{work}/stretch/stretch.json"))
pick, chain = report["picked"], report["chain"]
result = {"config": config, "rules": space["rules"], "candidates": len(space["candidates"]),
          "chain": chain, "pick": pick, "tried": report["tried"],
          "predicted_speedup": chain["predicted_ms"] / pick["predicted_ms"],
          "test_accuracy_points": 100 * (pick["test_accuracy"] - chain["test_accuracy"]), "batches": {}}
for b in batches.split(","):
    rows = []
    for r in range(rounds):
        run = json.load(open(f"{work}/run.b{b}.{r}.json"))
        alone = json.load(open(f"{work}/chain.b{b}.{r}.json"))
        peer = json.load(open(f"{work}/torch.b{b}.{r}.json"))
        rows.append({"stretch_p50_ms": run["latency_ms"]["p50"], "predicted_ms": run["predicted_ms"],
                     "chain_concnas_p50_ms": alone["latency_ms"]["p50"],
                     "chain_torch_frozen_p50_ms": peer["frozen_1t"]["p50"],
                     "speedup_vs_chain_concnas": alone["latency_ms"]["p50"] / run["latency_ms"]["p50"],
                     "speedup_vs_chain_torch": peer["frozen_1t"]["p50"] / run["latency_ms"]["p50"]})
    med = lambda k: statistics.median(x[k] for x in rows)
    result["batches"][b] = {"rounds": rows, **{f"median_{k}": med(k) for k in rows[0]},
                            "spread_vs_chain_concnas": [min(x["speedup_vs_chain_concnas"] for x in rows),
                                                        max(x["speedup_vs_chain_concnas"] for x in rows)]}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps({k: result[k] for k in ("candidates", "predicted_speedup", "test_accuracy_points")}))
for b, v in result["batches"].items():
    print(f"batch {b}: stretched {v['median_stretch_p50_ms']:.3f} ms, chain-20 concnas {v['median_chain_concnas_p50_ms']:.3f} ms, "
          f"PyTorch {v['median_chain_torch_frozen_p50_ms']:.3f} ms, speedup {v['median_speedup_vs_chain_concnas']:.2f}x "
          f"(vs PyTorch {v['median_speedup_vs_chain_torch']:.2f}x), predicted {v['median_predicted_ms']:.3f} ms")
print(f"-> {out} (work folder {work})")
PY
