#!/usr/bin/env bash
# Builds the project and runs the Google Benchmark programs on one core, writing JSON
# results to bench-results/ (or the folder given as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=${1:-bench-results}
mkdir -p "$out"
for b in build/benchmarks/concnas_bench_*; do  # Google Benchmark programs
  [[ -x $b ]] || continue
  name=$(basename "$b")
  echo "bench: $name"
  taskset -c 0 "$b" --benchmark_out="$out/$name.json" --benchmark_out_format=json \
    --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
done
# Partition quality: refined METIS vs METIS alone vs components (text + JSON).
echo "bench: partition quality"
taskset -c 0 build/benchmarks/concnas_partition_quality --samples 20 --json "$out/partition_quality.json"

# The search's sample-build-score stage on both cores (candidates/s, JSON).
echo "bench: search throughput"
build/benchmarks/concnas_search_throughput --candidates 2000 --threads 2 | tee "$out/search_throughput.json"

# Python baseline for the generate stage (NetworkX, Debian's interpreter).
if /usr/bin/python3 -c "import networkx" 2>/dev/null; then
  echo "bench: networkx baseline"
  taskset -c 0 /usr/bin/python3 benchmarks/networkx_baseline.py 32 2000 | tee "$out/networkx_baseline.json"
fi
echo "bench: JSON in $out/"
