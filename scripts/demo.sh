#!/usr/bin/env bash
# Sets everything up and runs the main job: a complete concnas search on Fashion-MNIST
# (configs/quickstart.yaml) into runs/quickstart (or the folder given). Run it again to
# continue an interrupted search; pass a new folder to start over.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=${1:-runs/quickstart}
resume=()
if [[ -f $out/config.yaml ]]; then
  resume=(--resume)
  echo "demo: continuing the search in $out"
fi
build/bin/concnas search --config configs/quickstart.yaml --out "$out" "${resume[@]}"
echo "demo: results in $out/ (report.html, pareto.csv, candidates.jsonl, trials.jsonl, best/)"
