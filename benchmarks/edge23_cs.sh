#!/usr/bin/env bash
# CS and predicted latency per generator for n = 4, 6, 8, 10 units (Fig. 9 of the EDGE'23
# paper, Hadidi et al.), from score-only runs of configs/edge23_study.yaml with more
# candidates. Writes runs/edge23_cs/n<N>/ (candidates.jsonl, report.html) and prints a
# markdown table.
#   benchmarks/edge23_cs.sh [CANDIDATES]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-400}
out=runs/edge23_cs
for n in 4 6 8 10; do
  rm -rf "$out/n$n"
  build/bin/concnas --log-level warn search --config configs/edge23_study.yaml --out "$out/n$n" \
    --set search.rungs=[] --set search.units=$n --set search.candidates="$count" >/dev/null
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
out = sys.argv[1]
rows = {}
for n in (4, 6, 8, 10):
    for line in open(f"{out}/n{n}/candidates.jsonl"):
        c = json.loads(line)
        g = c["generator"] if c["kind"] == "sampled" else c["kind"] + " (baseline)"
        best = c["options"][c["best"]]
        rows.setdefault(g, {}).setdefault(n, []).append((best["cs"], best["speedup"]))
print("| generator | " + " | ".join(f"CS n={n} (mean / best)" for n in (4, 6, 8, 10)) + " | speedup n=4 (mean) |")
print("|---|" + "---|" * 5)
for g, by_n in sorted(rows.items()):
    cells = [f"{statistics.mean(c for c, _ in by_n[n]):.2f} / {min(c for c, _ in by_n[n]):.2f}" for n in (4, 6, 8, 10)]
    print(f"| {g} | " + " | ".join(cells) + f" | {statistics.mean(s for _, s in by_n[4]):.2f} |")
PY
