#!/usr/bin/env bash
# Fuzzes every parser of outside input with libFuzzer (tests/fuzz/README.md): builds the
# `fuzz` preset (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs each
# target for RUNS executions from its seed corpus, stopping at the first crash, leak or
# hang (an input taking over 10 s). Writes build-fuzz/results/TARGET.json per target
# and build-fuzz/fuzz-results.jsonl, every target's last run.
#   scripts/fuzz.sh [RUNS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
shift || true

packages=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "fuzz: installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

targets=("$@")
((${#targets[@]})) || targets=(arch_yaml plan_yaml devices_yaml train_config search_config edge_file
                               hmetis_partition idx_images cifar_batch)
mkdir -p build-fuzz/results
for t in "${targets[@]}"; do
  # New inputs go to a working corpus; the committed seeds stay as they are.
  work=build-fuzz/corpus/$t
  mkdir -p "$work" build-fuzz/crashes/$t
  log=build-fuzz/$t.log
  start=$(date +%s)
  status=0
  build-fuzz/fuzz/fuzz_"$t" -runs="$runs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix=build-fuzz/crashes/$t/ "$work" tests/fuzz/corpus/"$t" >"$log" 2>&1 || status=$?
  seconds=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  printf '{"target": "%s", "executions": %s, "seconds": %s, "exit": %s}\n' "$t" "${execs:-0}" "$seconds" "$status" \
    | tee build-fuzz/results/"$t".json
  if ((status != 0)); then
    grep -m5 -E "ERROR|SUMMARY|Test unit written" "$log" || tail -20 "$log"
  fi
done
# Every target's last run, one line each.
cat build-fuzz/results/*.json >build-fuzz/fuzz-results.jsonl
echo "fuzz: results in build-fuzz/fuzz-results.jsonl"
! grep -q '"exit": [1-9]' build-fuzz/fuzz-results.jsonl
