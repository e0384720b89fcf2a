#!/usr/bin/env bash
# Latency of one inference (batch 1) on 2 local workers of 1 thread each against 1 process
# of 1 thread, over loopback, for trained run folders (default: the DP-40 and chain runs of
# benchmarks/fmnist_runs.sh: dp2u, deployed with the components partitioner, and chain), with
# the simulator's prediction beside each.
#
# Each round is one `concnas run --local --baseline`: worker 0 runs the one-unit export in
# its own process on the same images, in blocks of 10 inferences alternating with the
# two-unit deployment's, so both see the same machine (this VM's speed changes by up to 2x
# for seconds at a time). Reported: medians over ROUNDS rounds of the 2-unit p50, the
# 1-process p50, their ratio, and the median per-inference ratio; and, from every round's
# per-inference latencies and compute times (benchmarks/paired_blocks.py), the two compared
# in one host state: the median ratio over the pairs of blocks in which every core used ran
# at its fast-state speed ("fast", with a 90% interval and the number of pairs), and over
# those in which every one was slowed ("slow"). Each of this VM's cores is slowed for
# seconds at a time, independently of the other, which a whole-run p50 mixes into the ratio.
# Workers are pinned to a core each (--pin).
#
# Usage: benchmarks/runtime_latency.sh [ROUNDS] [RUN_DIR[:PARTITIONER[:EPSILON]] ...]
# Env: DEVICES (device model for export and the simulator, default
#      benchmarks/loopback_devices.yaml), RUNS (inferences per round, default 600),
#      LATENCIES (a folder to keep every round's latency CSV in, for paired_blocks.py),
#      RUN_ARGS (flags for concnas run instead of the default --pin; empty: none).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
shift || true
specs=("$@")
((${#specs[@]})) || specs=(runs/fmnist_dp2u40:components:1.03 runs/fmnist_chain40)
devices=${DEVICES:-benchmarks/loopback_devices.yaml}
runs=${RUNS:-600}
cli=build/bin/concnas
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -n "s/.*\"$1\": \([0-9.eE+-]*\).*/\1/p" "$2" | head -1; }

printf '%-15s %8s %8s %6s %6s | %8s %8s %6s %11s %5s | %6s %5s | %8s %8s %8s %5s | %9s\n' run "1p p50" "2u p50" \
  ratio paired "1p fast" "2u fast" fast "90%" pairs slow pairs "sim 1u" "sim 2u" "cal 2u" error "bytes/img"
for spec in "${specs[@]}"; do
  IFS=: read -r dir partitioner epsilon <<<"$spec"
  [ -e "$dir/weights.pt" ] || { echo "$dir/weights.pt is missing: train it (benchmarks/fmnist_runs.sh)" >&2; exit 1; }
  name=$(basename "$dir")
  choice=()
  [ -n "$partitioner" ] && choice+=(--partitioner "$partitioner")
  [ -n "$epsilon" ] && choice+=(--epsilon "$epsilon")
  "$cli" export --arch "$dir/arch.yaml" --weights "$dir/weights.pt" --units 1 -o "$work/$name-u1" >/dev/null
  "$cli" export --arch "$dir/arch.yaml" --weights "$dir/weights.pt" --units 2 --devices "$devices" "${choice[@]}" \
    -o "$work/$name-u2" >"$work/$name-u2.export"
  : >"$work/one"; : >"$work/two"; : >"$work/paired"
  for ((r = 0; r < rounds; r++)); do
    # shellcheck disable=SC2086 # RUN_ARGS is a list of flags
    "$cli" run --plan "$work/$name-u2" --local --threads 1 --runs "$runs" --warmup 20 ${RUN_ARGS---pin} \
      --baseline "$work/$name-u1" --json "$work/r.json" --latencies "$work/$name-r$r.csv" >/dev/null 2>&1
    # The deployment's p50 comes first in the report, the baseline's after it.
    sed -n 's/.*"p50": \([0-9.eE+-]*\).*/\1/p' "$work/r.json" | sed -n 1p >>"$work/two"
    sed -n 's/.*"p50": \([0-9.eE+-]*\).*/\1/p' "$work/r.json" | sed -n 2p >>"$work/one"
    field paired_speedup_median "$work/r.json" >>"$work/paired"
  done
  one=$(median <"$work/one")
  two=$(median <"$work/two")
  paired=$(median <"$work/paired")
  [ -n "${LATENCIES:-}" ] && mkdir -p "$LATENCIES" && cp "$work/$name"-r*.csv "$LATENCIES/"
  python3 benchmarks/paired_blocks.py --json "$work/$name"-r*.csv >"$work/states.json"
  read -r fast1 fast2 fast lo hi nfast slow nslow < <(python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))
f, s, nan = j["fast"], j["slow"], float("nan")
print(f.get("baseline_ms", nan), f.get("deploy_ms", nan), f.get("ratio", nan), *f.get("ratio_90", (nan, nan)),
      f["pairs"], s.get("ratio", nan), s["pairs"])' "$work/states.json")
  eps=$(sed -n 's/.*epsilon \([0-9.]*\).*/\1/p' "$work/$name-u2.export")
  score=("$cli" score "$dir/arch.yaml" -n 2 --epsilon "$eps" --devices "$devices" --json)
  [ -n "$partitioner" ] && score+=(--partitioner "$partitioner")
  "${score[@]}" >"$work/score.json"
  sim1=$(field single_device_latency_s "$work/score.json")
  sim2=$(field predicted_latency_s "$work/score.json")
  # The same prediction with the device's compute (FLOP rate and per-layer cost) scaled so
  # that one unit takes what the one process took in the fast state of this run: the host's
  # speed drifts from day to day, the link model stays.
  # (One device and one link in the model: each key once, or the calibration is skipped.)
  read -r flops layer latency bandwidth send < <(python3 -c 'import re, sys
t = open(sys.argv[1]).read()
found = [re.findall(r"\b" + k + r":\s*([0-9.eE+-]+)", t) for k in
         ("flops_per_s", "layer_overhead_s", "latency_s", "bandwidth_bytes_per_s", "send_overhead_s")]
print(*(v[0] if len(v) == 1 else "nan" for v in found))' "$devices")
  k=$(awk -v m="$fast1" -v s="$sim1" 'BEGIN {
    print (m ~ /^[0-9.]+([eE][+-]?[0-9]+)?$/ && m > 0) ? m / 1e3 / s : "nan" }')
  cal=("$cli" score "$dir/arch.yaml" -n 2 --epsilon "$eps" --json --link-latency "$latency"
    --link-bandwidth "$bandwidth" --send-overhead "$send"
    --flops-per-s "$(awk -v f="$flops" -v k="$k" 'BEGIN { print f / k }')"
    --layer-overhead "$(awk -v l="$layer" -v k="$k" 'BEGIN { print l * k }')")
  [ -n "$partitioner" ] && cal+=(--partitioner "$partitioner")
  simcal=nan
  if [[ "$k $flops $layer $latency $bandwidth $send" != *nan* ]] && "${cal[@]}" >"$work/cal.json"; then
    simcal=$(field predicted_latency_s "$work/cal.json")
  fi
  bytes=$(sed -n 's/.*, \([0-9]*\) bytes per image.*/\1/p' "$work/$name-u2.export")
  awk -v n="$name" -v a="$one" -v b="$two" -v p="$paired" -v f1="$fast1" -v f2="$fast2" -v f="$fast" -v lo="$lo" \
    -v hi="$hi" -v nf="$nfast" -v sl="$slow" -v ns="$nslow" -v s1="$sim1" -v s2="$sim2" -v sc="$simcal" -v by="$bytes" '
    BEGIN {
      fmt = "%-15s %6.3fms %6.3fms %5.2fx %5.2fx | %6.3fms %6.3fms %5.2fx %5.2f-%5.2f %5d | %5.2fx %5d | " \
            "%6.3fms %6.3fms %6.3fms %+4.0f%% | %9d\n"
      printf fmt, substr(n, 1, 15), a, b, a / b, p, f1, f2, f, lo, hi, nf, sl, ns, s1 * 1e3, s2 * 1e3, sc * 1e3,
        (sc * 1e3 / f2 - 1) * 100, by }'
done
