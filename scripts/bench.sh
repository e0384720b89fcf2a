#!/usr/bin/env bash
# Builds the project and runs the Google Benchmark programs on one core, writing JSON
# results to bench-results/ (or the folder given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=${1:-bench-results}
mkdir -p "$out"
for b in build/benchmarks/concnas_bench_*; do
  [[ -x $b ]] || continue
  name=$(basename "$b")
  echo "bench: $name"
  taskset -c 0 "$b" --benchmark_out="$out/$name.json" --benchmark_out_format=json \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
done
echo "bench: JSON in $out/"
