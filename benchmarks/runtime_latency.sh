#!/usr/bin/env bash
# Latency of one inference (batch 1) on 2 local workers of 1 thread each against 1 worker
# of 1 thread, over loopback, for trained run folders (default: the DP-40 and chain runs
# of benchmarks/fmnist_runs.sh), with the simulator's prediction beside each. The 1- and
# 2-unit runs alternate, ROUNDS times, and the medians of their p50s are compared.
# Usage: benchmarks/runtime_latency.sh [ROUNDS] [RUN_DIR ...]
# Env: FLOPS (device speed given to the simulator, default 2.9e9: this machine's rate on
#      DP-40 at batch 1), RUNS (inferences per measurement, default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
dirs=("$@")
((${#dirs[@]})) || dirs=(runs/fmnist_dp40_c96_wd5e-4 runs/fmnist_chain40)
flops=${FLOPS:-2.9e9}
runs=${RUNS:-300}
cli=build/bin/concnas
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
p50_of() { sed -n 's/.*"p50": \([0-9.eE+-]*\).*/\1/p' "$1"; }

printf '%-28s %9s %9s %8s %10s %10s %9s\n' run "1u p50" "2u p50" ratio "sim 1u" "sim 2u" "bytes/img"
for dir in "${dirs[@]}"; do
  [ -e "$dir/weights.pt" ] || { echo "$dir/weights.pt is missing: train it (benchmarks/fmnist_runs.sh)" >&2; exit 1; }
  name=$(basename "$dir")
  for u in 1 2; do
    "$cli" export --arch "$dir/arch.yaml" --weights "$dir/weights.pt" --units $u --flops-per-s "$flops" \
      -o "$work/$name-u$u" >"$work/$name-u$u.export"
  done
  : >"$work/$name-1.p50"
  : >"$work/$name-2.p50"
  for ((r = 0; r < rounds; r++)); do
    for u in 1 2; do
      "$cli" run --plan "$work/$name-u$u" --local --threads 1 --runs "$runs" --warmup 20 \
        --json "$work/r.json" >/dev/null 2>&1
      p50_of "$work/r.json" >>"$work/$name-$u.p50"
    done
  done
  one=$(median <"$work/$name-1.p50")
  two=$(median <"$work/$name-2.p50")
  eps=$(sed -n 's/.*epsilon \([0-9.]*\).*/\1/p' "$work/$name-u2.export")
  sim1=$("$cli" score "$dir/arch.yaml" -n 2 --epsilon "$eps" --flops-per-s "$flops" --json |
    sed -n 's/.*"single_device_latency_s": \([0-9.eE+-]*\).*/\1/p' | head -1)
  sim2=$("$cli" score "$dir/arch.yaml" -n 2 --epsilon "$eps" --flops-per-s "$flops" --json |
    sed -n 's/.*"predicted_latency_s": \([0-9.eE+-]*\).*/\1/p' | head -1)
  bytes=$(sed -n 's/.*, \([0-9]*\) bytes per image.*/\1/p' "$work/$name-u2.export")
  awk -v n="$name" -v a="$one" -v b="$two" -v s1="$sim1" -v s2="$sim2" -v by="$bytes" 'BEGIN {
    printf "%-28s %7.3fms %7.3fms %7.2fx %8.3fms %8.3fms %9d\n", n, a, b, a / b, s1 * 1e3, s2 * 1e3, by }'
done
