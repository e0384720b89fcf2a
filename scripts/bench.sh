#!/usr/bin/env bash
# Builds the project and runs the benchmark programs, writing JSON results to
# bench-results/ (or OUT). With --compare, then compares the run's figures with a
# baseline (benchmarks/compare.py: ratios measured in the same run, a threshold each) and
# exits 1 on a regression; with --save, writes the run's figures as the new baseline.
#   scripts/bench.sh [--compare BASELINE.json | --save BASELINE.json] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
compare="" save=""
while (($#)); do
  case $1 in
    --compare) compare=${2:?--compare needs a baseline file}; shift 2 ;;
    --save) save=${2:?--save needs a baseline file}; shift 2 ;;
    -*) echo "bench.sh: unknown option $1 (--compare FILE, --save FILE, OUT)" >&2; exit 2 ;;
    *) out_arg=$1; shift ;;
  esac
done
if [[ -n $compare && ! -f $compare ]]; then
  echo "bench.sh: --compare $compare: no such baseline file (write one with --save)" >&2
  exit 2
fi
scripts/setup.sh
out=${out_arg:-bench-results}
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
if [[ -n $save ]]; then
  /usr/bin/python3 benchmarks/compare.py "$out" --baseline "$save" --save
elif [[ -n $compare ]]; then
  /usr/bin/python3 benchmarks/compare.py "$out" --baseline "$compare"
fi
