#!/usr/bin/env bash
# NN-Stretch on this machine (docs/stretch.md, docs/results.md "NN-Stretch"): chain-20 on
# two devices, the second half as fast as the first, at a batch of BATCH images.
#  1. `concnas calibrate --batch BATCH` prices this machine as the fast device; the slow
#     one is the same at twice every price and half the FLOP/s (hetero.yaml).
#  2. `concnas stretch` prunes, trains chain-20 and the survivors with CONFIG, and exports
#     the pick with branch k on unit k.
#  3. ROUNDS rounds, in an order rotated per round: the pick on 2 pinned workers, worker 1
#     computing as a device half as fast (`--slowdown 1=2`); the same with worker 1 held to
#     half its core's time instead (`--cpu-quota 1=0.5`, which caps its average use, not
#     its speed: docs/deploy.md); chain-20 on concnas alone on worker 0's core; and chain-20
#     in PyTorch on that core (traced, frozen, optimize_for_inference, 1 thread: the peer).
# CALIBRATION=FILE uses that devices file of this machine (`concnas calibrate --local --world 2
# --batch BATCH`) instead of calibrating again: the rules' counts move with the link's fit.
# REUSE=DIR measures again the work folder DIR of an earlier run (its calibration, trained
# networks and exports), after a change to the engine or the runtime: no calibration or
# training. Needs root for the quota. Arguments after the fourth go to `concnas stretch`; without
# any, the rules of docs/results.md: --alpha 0.3 --beta 0.3 --min-ratio 0.25.
#   benchmarks/stretch.sh [OUT.json] [CONFIG] [ROUNDS] [BATCH] [STRETCH FLAGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench-results/stretch.json}
config=${2:-configs/stretch_fmnist.yaml}
rounds=${3:-3}
batch=${4:-32}
shift $(($# < 4 ? $# : 4))
(($#)) || set -- --alpha 0.3 --beta 0.3 --min-ratio 0.25
runs=600
concnas=$PWD/build/bin/concnas
core=$(python3 -c 'import os; print(sorted(os.sched_getaffinity(0))[0])')

prepare() {
  if [[ -n ${CALIBRATION:-} ]]; then
    cp "$CALIBRATION" "$work/cal.yaml"  # a devices file of `concnas calibrate --batch BATCH` made before
  else
    "$concnas" calibrate -o "$work/cal.yaml" --local --world 2 --batch "$batch" >"$work/calibrate.log" 2>&1
  fi
  python3 - "$work/cal.yaml" "$work/hetero.yaml" <<'PY'
import sys, yaml
cal = yaml.safe_load(open(sys.argv[1]))
fast = dict(cal["device"], name="fast", cores=1)
slow = dict(fast, name="slow", flops_per_s=fast["flops_per_s"] / 2)
slow["ops"] = {k: (v * 2 if k.endswith("_s") else v) for k, v in fast["ops"].items()}
yaml.safe_dump({"batch": cal.get("batch", 1), "devices": [fast, slow], "link": cal["link"]}, open(sys.argv[2], "w"), sort_keys=False)
PY
  "$concnas" generate --generator lcp --param branches=1 --param depth=20 --channel-limit 96 --seed 0 \
    -o "$work/chain20.yaml" >/dev/null
  "$concnas" stretch --arch "$work/chain20.yaml" --config "$config" --devices "$work/hetero.yaml" \
    --out "$work/stretch" "$@" 2>"$work/stretch.log" | tee "$work/stretch.out" ||
    { tail -3 "$work/stretch.log"; exit 1; }
  "$concnas" export --arch "$work/chain20.yaml" --weights "$work/stretch/chain/weights.pt" --units 1 \
    -o "$work/chain1" >/dev/null
}

if [[ -n ${REUSE:-} ]]; then
  work=$REUSE
  [[ -f $work/stretch/stretch.json && -d $work/chain1 ]] || { echo "REUSE=$work: no finished run there" >&2; exit 2; }
  batch=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["batch"])' "$work/stretch/space.json")
else
  work=$(mktemp -d)
fi
mkdir -p "$(dirname "$out")"
[[ -n ${REUSE:-} ]] || prepare "$@"

for ((r = 0; r < rounds; r++)); do
  jobs=(stretch quota chain torch)
  jobs=("${jobs[@]:r%4}" "${jobs[@]:0:r%4}")
  for job in "${jobs[@]}"; do
    case $job in
      stretch) "$concnas" run --plan "$work/stretch/deploy" --local --pin --slowdown 1=2 \
                 --devices "$work/hetero.yaml" --runs $runs --batch "$batch" --json "$work/run.$r.json" \
                 >"$work/run.$r.log" 2>&1 ;;
      quota) "$concnas" run --plan "$work/stretch/deploy" --local --pin --cpu-quota 1=0.5 \
               --runs $runs --batch "$batch" --json "$work/quota.$r.json" >"$work/quota.$r.log" 2>&1 ;;
      chain) "$concnas" run --plan "$work/chain1" --local --pin --runs $runs --batch "$batch" \
               --json "$work/chain.$r.json" >"$work/chain.$r.log" 2>&1 ;;
      torch) taskset -c "$core" /usr/bin/python3 benchmarks/torch_inference_peer.py "$work/chain20.yaml" \
               --batch "$batch" --runs $runs --threads 1 >"$work/torch.$r.json" ;;
    esac
  done
  echo "round $((r + 1))/$rounds done"
done

python3 - "$work" "$out" "$rounds" "$batch" "$config" <<'PY'
import json, statistics, sys
work, out, rounds, batch, config = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
space = json.load(open(f"{work}/stretch/space.json"))
report = json.load(open(f"{work}/stretch/stretch.json"))
pick, chain = report["picked"], report["chain"]
rows = []
for r in range(rounds):
    run = json.load(open(f"{work}/run.{r}.json"))
    quota = json.load(open(f"{work}/quota.{r}.json"))
    alone = json.load(open(f"{work}/chain.{r}.json"))
    peer = json.load(open(f"{work}/torch.{r}.json"))
    rows.append({"stretch_p50_ms": run["latency_ms"]["p50"], "predicted_ms": run["predicted_ms"],
                 "stretch_quota_p50_ms": quota["latency_ms"]["p50"],
                 "speedup_quota_vs_chain_concnas": alone["latency_ms"]["p50"] / quota["latency_ms"]["p50"],
                 "chain_concnas_p50_ms": alone["latency_ms"]["p50"],
                 "chain_torch_frozen_p50_ms": peer["frozen_1t"]["p50"],
                 "speedup_vs_chain_concnas": alone["latency_ms"]["p50"] / run["latency_ms"]["p50"],
                 "speedup_vs_chain_torch": peer["frozen_1t"]["p50"] / run["latency_ms"]["p50"]})
med = lambda k: statistics.median(x[k] for x in rows)
spread = lambda k: [min(x[k] for x in rows), max(x[k] for x in rows)]
result = {"config": config, "batch": batch, "devices": open(f"{work}/hetero.yaml").read(), "rules": space["rules"], "candidates": len(space["candidates"]),
          "chain": chain, "pick": pick, "tried": report["tried"],
          "predicted_speedup": chain["predicted_ms"] / pick["predicted_ms"],
          "test_accuracy_points": 100 * (pick["test_accuracy"] - chain["test_accuracy"]), "rounds": rows,
          **{f"median_{k}": med(k) for k in rows[0]},
          "spread_vs_chain_concnas": spread("speedup_vs_chain_concnas"),
          "spread_vs_chain_torch": spread("speedup_vs_chain_torch"),
          "spread_quota_vs_chain_concnas": spread("speedup_quota_vs_chain_concnas")}
result["measured_over_predicted"] = result["median_stretch_p50_ms"] / result["median_predicted_ms"]
json.dump(result, open(out, "w"), indent=2)
print(json.dumps({k: result[k] for k in ("candidates", "predicted_speedup", "test_accuracy_points")}))
print(f"batch {batch}: stretched {result['median_stretch_p50_ms']:.3f} ms (predicted {result['median_predicted_ms']:.3f}), "
      f"chain-20 concnas {result['median_chain_concnas_p50_ms']:.3f} ms, PyTorch {result['median_chain_torch_frozen_p50_ms']:.3f} ms; "
      f"speedup {result['median_speedup_vs_chain_concnas']:.2f}x {result['spread_vs_chain_concnas']} "
      f"(vs PyTorch {result['median_speedup_vs_chain_torch']:.2f}x); under --cpu-quota 1=0.5 instead of "
      f"--slowdown 1=2: {result['median_stretch_quota_p50_ms']:.3f} ms, {result['median_speedup_quota_vs_chain_concnas']:.2f}x")
print(f"-> {out} (work folder {work})")
PY
