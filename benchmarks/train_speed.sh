#!/usr/bin/env bash
# Training speed, C++ (LibTorch) against PyTorch's Python frontend on the same LibTorch,
# same architecture file, same threads, measured side by side with peak memory.
#   benchmarks/train_speed.sh [ARCH.yaml] [threads] [OUT.json] [rounds]
#
# Each round runs every variant once, in a rotated order; the machine's speed drifts by up
# to 2x within minutes, so the ratios that count are per round (medians over rounds):
#   cpp           concnas_train_step as concnas train runs by default (own kernels)
#   cpp_libtorch  the same with LibTorch's operators alone (--kernels libtorch, train.kernels)
#   python        benchmarks/train_step.py, the same network through /usr/bin/python3
#   python_tuned  the same, given through glibc's environment variables the allocator
#                 settings concnas::train::configure_cpu_runtime makes in C++
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-}
threads=${2:-2}
out=${3:-bench-results/train_speed.json}
rounds=${4:-5}
mkdir -p "$(dirname "$out")"
if [[ -z $arch ]]; then
  arch=$(mktemp --suffix=.yaml)
  build/bin/concnas generate -g dp -n 40 --channel-limit 64 --seed 0 -o "$arch" >/dev/null
fi
tmp=$(mktemp -d)
run() {  # variant round
  local cmd
  case $1 in
    cpp) cmd=(build/benchmarks/concnas_train_step "$arch" --threads "$threads") ;;
    cpp_libtorch) cmd=(build/benchmarks/concnas_train_step "$arch" --threads "$threads" --kernels libtorch) ;;
    python) cmd=(/usr/bin/python3 benchmarks/train_step.py "$arch" 128 40 5 "$threads") ;;
    python_tuned) cmd=(env MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=2147483647
                       /usr/bin/python3 benchmarks/train_step.py "$arch" 128 40 5 "$threads") ;;
  esac
  /usr/bin/time -f "%M" -o "$tmp/$1.$2.mem" "${cmd[@]}" > "$tmp/$1.$2.json"
}
variants=(cpp cpp_libtorch python python_tuned)
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < ${#variants[@]}; i++)); do
    v=${variants[$(((i + r) % ${#variants[@]}))]}
    run "$v" "$r"
    echo "round $((r + 1))/$rounds: $v $(grep -o '"images_per_s": [0-9.]*' "$tmp/$v.$r.json" | cut -d' ' -f2) images/s"
  done
done
/usr/bin/python3 - "$tmp" "$out" "$rounds" "$arch" "$threads" <<'PY'
import json, statistics, sys
tmp, out, rounds, arch, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
variants = ["cpp", "cpp_libtorch", "python", "python_tuned"]
ips = {v: [json.load(open(f"{tmp}/{v}.{r}.json"))["images_per_s"] for r in range(rounds)] for v in variants}
mem = {v: max(int(open(f"{tmp}/{v}.{r}.mem").read().split()[-1]) for r in range(rounds)) for v in variants}
result = {"architecture": arch, "threads": threads, "rounds": rounds, "batch": 128, "steps": 40, "variants": {}}
for v in variants:
    result["variants"][v] = {"images_per_s": ips[v], "median_images_per_s": statistics.median(ips[v]),
                             "peak_rss_mib": round(mem[v] / 1024, 1)}
def ratio(a, b):
    per_round = [round(x / y, 3) for x, y in zip(ips[a], ips[b])]
    return {"per_round": per_round, "median": round(statistics.median(per_round), 3),
            "min": min(per_round), "max": max(per_round)}
result["ratios"] = {"cpp/python": ratio("cpp", "python"), "cpp/python_tuned": ratio("cpp", "python_tuned"),
                    "cpp/cpp_libtorch": ratio("cpp", "cpp_libtorch"),
                    "cpp_libtorch/python": ratio("cpp_libtorch", "python")}
json.dump(result, open(out, "w"), indent=2)
for v in variants:
    r = result["variants"][v]
    print(f"{v:13s} median {r['median_images_per_s']:7.1f} images/s (runs {', '.join(map(str, ips[v]))}), "
          f"peak {r['peak_rss_mib']} MiB")
for k, r in result["ratios"].items():
    print(f"{k:20s} median {r['median']:.3f}x (per round {r['min']:.3f}-{r['max']:.3f})")
print(f"-> {out}")
PY
