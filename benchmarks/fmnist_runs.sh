#!/usr/bin/env bash
# The Fashion-MNIST runs of docs/results.md, one after another (each ~15-25 min on 2 cores):
# the same 40-vertex budget (probabilistic staging, stem 16, channel limit 96, weight decay
# 5e-4, 15 epochs: configs/train_fmnist.yaml)
# for DP, ER, BA and WS with their default parameters, and the chain baseline. A run
# folder that exists is resumed, so the script can be stopped and started again.
# dp2u is the DP-40 architecture chosen for two workers (configs/examples/dp40_two_units.yaml).
#   benchmarks/fmnist_runs.sh [RUNS_DIR] [which ...]     which: dp er ba ws chain dp2u
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-runs}
shift || true
which=("$@")
[[ ${#which[@]} -gt 0 ]] || which=(dp er ws ba chain)
for w in "${which[@]}"; do
  out=$runs/fmnist_${w}40
  args=(--config configs/train_fmnist.yaml --out "$out")
  case $w in
    dp) ;;
    er|ba|ws) args+=(--set arch.generator="$w" --set "arch.params={}") ;;
    chain) args+=(--baseline chain) ;;
    dp2u) args+=(--arch configs/examples/dp40_two_units.yaml) ;;
    *) echo "unknown run '$w'" >&2; exit 2 ;;
  esac
  [[ -f $out/checkpoint.pt ]] && args+=(--resume)
  echo "== $w -> $out"
  build/bin/concnas train "${args[@]}"
done
