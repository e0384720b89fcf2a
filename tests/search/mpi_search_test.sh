#!/usr/bin/env bash
# `mpirun concnas search` (ctest label mpi): the same run folder as one process, trainings
# spread over 3 ranks that do not share the run folder, and a rank killed mid-run losing
# nothing on --resume with another rank count.
#   mpi_search_test.sh CONCNAS MPIEXEC WORK_DIR
set -euo pipefail
concnas=$1 mpiexec=$2 work=$3
rm -rf "$work" && mkdir -p "$work/rank0" "$work/others" && cd "$work"
# mpirun refuses root unless told; CI runs as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Under the sanitizers (the asan preset): Open MPI's libraries have no frame pointers, so
# only the slow unwinder gives the whole stack its leak suppressions match
# (tests/sanitizers/lsan.supp). No effect on other builds.
if [[ -n ${ASAN_OPTIONS:-} ]]; then export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"; fi
mpirun=("$mpiexec" --oversubscribe)

fail() { echo "FAIL: $*" >&2; exit 1; }

cat > s.yaml <<'YAML'
search:
  candidates: 6
  units: 3
  select: 3
  rungs: [{train_subset: 256, epochs: 1}, {train_subset: 0, epochs: 2}]
space:
  generators: {dp: {}, ws: {k: {choices: [2, 4]}}}
  nodes: [10]
  stem_channels: [8]
  channel_limit: [16]
  baseline_nodes: 15
  baseline_stem_channels: 8
  baseline_channel_limit: 32
data: {dataset: synthetic, validation: 64, synthetic_train: 1200, synthetic_test: 64}
train: {batch_size: 32, threads: 1}
YAML
cp s.yaml rank0/

# The trial records without their wall time, in file order.
records() { python3 -c 'import json,sys
for l in open(sys.argv[1]): r=json.loads(l); r.pop("seconds"); print(json.dumps(r, sort_keys=True))' "$1"; }

"$concnas" search --config s.yaml --out one >one.log 2>&1 || { cat one.log; fail "one process"; }

# Rank 0 in rank0/, the others in others/: nothing of the run folder is shared. The
# others' folder holds trial folders of another search, which must not be resumed.
for c in 0 1 2 3 4 5 6 7; do
  mkdir -p others/run/trials/c$c-r1 && echo "another search's checkpoint" >others/run/trials/c$c-r1/checkpoint.pt
done
"${mpirun[@]}" -np 1 -wdir "$work/rank0" "$concnas" search --config s.yaml --out run : \
  -np 2 -wdir "$work/others" "$concnas" search --config s.yaml --out run >three.log 2>&1 \
  || { cat three.log; fail "mpirun -np 3"; }
cmp one/candidates.jsonl rank0/run/candidates.jsonl || fail "candidates.jsonl differs"
diff <(records one/trials.jsonl) <(records rank0/run/trials.jsonl) || fail "trials.jsonl differs"
cmp one/pareto.csv rank0/run/pareto.csv || fail "pareto.csv differs"
trained_elsewhere=0
for d in one/trials/*; do
  name=$(basename "$d")
  cmp "$d/weights.pt" "rank0/run/trials/$name/weights.pt" || fail "$name: weights differ or missing"
  [[ -e others/run/trials/$name/weights.pt ]] && trained_elsewhere=$((trained_elsewhere + 1))
done
((trained_elsewhere > 0)) || fail "no training ran on ranks 1-2"
echo "3 ranks: same candidates, trials, front and weights as one process ($trained_elsewhere trainings on ranks 1-2)"

# Rank 1 killed once two trials are logged; mpirun ends the job.
"${mpirun[@]}" -np 3 "$concnas" search --config s.yaml --out killed >killed.log 2>&1 &
job=$!
for _ in $(seq 600); do
  [[ -f killed/trials.jsonl ]] && (($(wc -l <killed/trials.jsonl) >= 2)) && break
  sleep 0.05
done
for p in $(pgrep -f "search --config s.yaml --out killed"); do
  if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx OMPI_COMM_WORLD_RANK=1; then kill -9 "$p"; fi
done
if wait "$job"; then fail "mpirun ended well with rank 1 killed (it finished before the kill?)"; fi
cp killed/trials.jsonl before_resume.jsonl
logged=$(wc -l <before_resume.jsonl)
((logged < $(wc -l <one/trials.jsonl))) || fail "the run had finished before the kill"
"${mpirun[@]}" -np 2 "$concnas" search --config s.yaml --out killed --resume >resumed.log 2>&1 \
  || { cat resumed.log; fail "resume with 2 ranks"; }
while read -r line; do
  grep -qxF "$line" killed/trials.jsonl || fail "a trial logged before the kill was lost or re-run: $line"
done <before_resume.jsonl
diff <(records one/trials.jsonl) <(records killed/trials.jsonl) || fail "resumed trials.jsonl differs"
cmp one/candidates.jsonl killed/candidates.jsonl || fail "resumed candidates.jsonl differs"
echo "rank 1 killed after $logged trials: all kept, the rest trained on resume with 2 ranks, same records"

# A rank that cannot train (its run folder is a file) stops the job with one line naming it.
rm -rf rank0/bad && : >others/bad
if "${mpirun[@]}" -np 1 -wdir "$work/rank0" "$concnas" search --config s.yaml --out bad : \
  -np 1 -wdir "$work/others" "$concnas" search --config s.yaml --out bad >bad.log 2>&1; then
  fail "a rank that cannot train went unnoticed"
fi
grep -q "concnas: error: rank 1 on .* cannot train" bad.log || { cat bad.log; fail "no error line naming rank 1"; }
echo "a rank that cannot train ends the job: $(grep 'concnas: error' bad.log)"
