#!/usr/bin/env bash
# Sets everything up and runs the main job. Today that is generating a distance-based
# (DP) architecture, describing it and scoring it for 4 devices; it becomes `concnas search --config
# configs/quickstart.yaml` once search lands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
out=${1:-runs/demo}
mkdir -p "$out"
build/bin/concnas generate --generator dp --nodes 40 --param alpha=1 --param beta=2 \
  --param p=0.75 --staging probabilistic --seed 0 -o "$out/arch.yaml" --dot "$out/arch.dot"
build/bin/concnas info "$out/arch.yaml"
build/bin/concnas info "$out/arch.yaml" --json > "$out/arch.json"
build/bin/concnas score "$out/arch.yaml" --units 4 --dot "$out/parts.dot"
build/bin/concnas score "$out/arch.yaml" --units 4 --json > "$out/score.json"
if command -v dot >/dev/null; then
  dot -Tsvg "$out/arch.dot" -o "$out/arch.svg"
  dot -Tsvg "$out/parts.dot" -o "$out/parts.svg"
fi
echo "demo: results in $out/ (arch.yaml/json/dot/svg, score.json, parts.dot/svg)"
