#!/usr/bin/env bash
# Training speed, C++ (LibTorch) against PyTorch's Python frontend on the same LibTorch,
# same architecture file, same threads, measured side by side with peak memory.
#   benchmarks/train_speed.sh [ARCH.yaml] [threads] [OUT.json]
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-}
threads=${2:-2}
out=${3:-bench-results/train_speed.json}
mkdir -p "$(dirname "$out")"
if [[ -z $arch ]]; then
  arch=$(mktemp --suffix=.yaml)
  build/bin/concnas generate -g dp -n 40 --channel-limit 64 --seed 0 -o "$arch" >/dev/null
fi
peak() { /usr/bin/time -f "%M" -o "$1" "${@:2}"; }
tmp=$(mktemp -d)
# Alternate the four twice and keep each one's better run: the machine is noisy.
# "cpp_split" is the C++ step with the batch split (train.batch_split: 0, one rank per
# thread; concnas train does not split by default), to show what the split changes.
# "python_tuned" is Python given, through glibc's environment variables, the allocator
# settings concnas::train::configure_cpu_runtime makes in C++: a fair second comparison.
for round in 1 2; do
  peak "$tmp/cpp_mem$round" build/benchmarks/concnas_train_step "$arch" --threads "$threads" > "$tmp/cpp$round"
  peak "$tmp/cppone_mem$round" build/benchmarks/concnas_train_step "$arch" --threads "$threads" --split 0 > "$tmp/cppone$round"
  peak "$tmp/py_mem$round" /usr/bin/python3 benchmarks/train_step.py "$arch" 128 40 5 "$threads" > "$tmp/py$round"
  MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=2147483647 \
    peak "$tmp/pytuned_mem$round" /usr/bin/python3 benchmarks/train_step.py "$arch" 128 40 5 "$threads" > "$tmp/pytuned$round"
done
/usr/bin/python3 - "$tmp" "$out" <<'PY'
import json, sys
tmp, out = sys.argv[1], sys.argv[2]
def best(kind):
    runs = [json.load(open(f"{tmp}/{kind}{r}")) for r in (1, 2)]
    mem = max(int(open(f"{tmp}/{kind}_mem{r}").read().split()[-1]) for r in (1, 2))
    run = max(runs, key=lambda j: j["images_per_s"])
    run["peak_rss_mib"] = round(mem / 1024, 1)
    return run
cpp, one, py, tuned = best("cpp"), best("cppone"), best("py"), best("pytuned")
result = {"cpp": cpp, "cpp_split": one, "python": py, "python_tuned": tuned,
          "speedup": round(cpp["images_per_s"] / py["images_per_s"], 3),
          "speedup_vs_tuned": round(cpp["images_per_s"] / tuned["images_per_s"], 3),
          "split_gain": round(one["images_per_s"] / cpp["images_per_s"], 3)}
json.dump(result, open(out, "w"), indent=2)
print(f"C++ {cpp['images_per_s']} images/s ({cpp['peak_rss_mib']} MiB peak), "
      f"Python {py['images_per_s']} images/s ({py['peak_rss_mib']} MiB peak): "
      f"{result['speedup']}x; Python with the same allocator settings "
      f"{tuned['images_per_s']} images/s: {result['speedup_vs_tuned']}x; C++ with the batch "
      f"split {one['images_per_s']} images/s ({result['split_gain']}x) -> {out}")
PY
