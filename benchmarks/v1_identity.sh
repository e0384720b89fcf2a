#!/usr/bin/env bash
# Version 1 architecture files mean what they meant before format version 2: the same
# scores, byte for byte, and the same logits, with an older concnas build as the reference.
#   benchmarks/v1_identity.sh OLD_CONCNAS [NEW_CONCNAS] [WORK_DIR]
# Scores: `score --json` of every architecture file in configs/examples (and of the edge
# files there, generated into architectures first) for 2 and 4 units. Logits: the pick
# trained for one epoch on 5,000 images by the new build, exported for 2 units by each
# build and run on the 10,000 test images (`run --local --all --logits`).
set -euo pipefail
old=${1:?usage: v1_identity.sh OLD_CONCNAS [NEW_CONCNAS] [WORK_DIR]}
new=${2:-build/bin/concnas}
work=${3:-$(mktemp -d)}
mkdir -p "$work"
status=0
same() {  # same FILE_A FILE_B WHAT
  if cmp -s "$1" "$2"; then echo "identical: $3"; else echo "DIFFERENT: $3 ($1 vs $2)"; status=1; fi
}
archs=(configs/examples/dp40_two_units.yaml)
for edges in configs/examples/*.edges; do
  name=$(basename "$edges" .edges)
  "$old" generate --from-edges "$edges" -o "$work/$name.old.yaml" > /dev/null
  "$new" generate --from-edges "$edges" -o "$work/$name.yaml" > /dev/null
  same "$work/$name.old.yaml" "$work/$name.yaml" "generate --from-edges $edges"
  archs+=("$work/$name.yaml")
done
for arch in "${archs[@]}"; do
  for units in 2 4; do
    "$old" score "$arch" -n "$units" --json > "$work/score.old.json"
    "$new" score "$arch" -n "$units" --json > "$work/score.new.json"
    same "$work/score.old.json" "$work/score.new.json" "score $arch -n $units"
  done
done
"$new" train --config configs/train_fmnist.yaml --arch configs/examples/dp40_two_units.yaml \
  --set train.epochs=1 --set data.train_subset=5000 --out "$work/run" > /dev/null 2>&1
for build in old new; do
  exe=$old; [ "$build" = new ] && exe=$new
  rm -rf "$work/export.$build"
  "$exe" export --arch configs/examples/dp40_two_units.yaml --weights "$work/run/weights.pt" -n 2 \
    -o "$work/export.$build" > /dev/null
  "$exe" run --plan "$work/export.$build" --local --all --logits "$work/logits.$build.csv" > /dev/null 2>&1
done
same "$work/logits.old.csv" "$work/logits.new.csv" "logits of the 10,000 test images (2 workers)"
exit $status
