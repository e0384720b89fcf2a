#!/usr/bin/env bash
# The quickstart search's training stage spread over MPI ranks, against the same search
# in one process: `mpirun -np 2` with 1 training thread per rank against one process with
# 2 threads, on the same cores, alternating in each round (the host's speed drifts).
# A one-process run at 1 thread, the trainings' own thread count on the ranks, checks
# that the ranks give identical records.
#   benchmarks/mpi_search.sh [ROUNDS] [OUT.json] [CONFIG]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
out=${2:-bench-results/mpi_search.json}
config=${3:-configs/quickstart.yaml}
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
concnas=$PWD/build/bin/concnas

run() {  # variant folder
  case $1 in
    one_2_threads) "$concnas" search --config "$config" --out "$2" --set train.threads=2 ;;
    mpi_2_ranks) mpirun -np 2 "$concnas" search --config "$config" --out "$2" --set train.threads=1 ;;
    one_1_thread) "$concnas" search --config "$config" --out "$2" --set train.threads=1 ;;
  esac >"$2.log" 2>&1 || { tail -5 "$2.log"; echo "mpi_search: $1 failed" >&2; exit 1; }
  echo "$1: train stage $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["stage_seconds"]["train"], 1))' "$2/summary.json") s"
}

variants=(one_2_threads mpi_2_ranks)
for ((r = 0; r < rounds; r++)); do
  for ((i = 0; i < ${#variants[@]}; i++)); do
    v=${variants[$(((i + r) % ${#variants[@]}))]}
    echo -n "round $((r + 1))/$rounds: "
    run "$v" "$tmp/$v.$r"
  done
done
echo -n "check: "
run one_1_thread "$tmp/one_1_thread"

python3 - "$tmp" "$out" "$rounds" "$config" <<'PY'
import json, statistics, sys
tmp, out, rounds, config = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def train_s(folder):
    return json.load(open(f"{folder}/summary.json"))["stage_seconds"]["train"]
def records(folder):
    rows = [json.loads(line) for line in open(f"{folder}/trials.jsonl")]
    for r in rows: r.pop("seconds")
    return rows
one = [train_s(f"{tmp}/one_2_threads.{r}") for r in range(rounds)]
mpi = [train_s(f"{tmp}/mpi_2_ranks.{r}") for r in range(rounds)]
ratios = [round(a / b, 3) for a, b in zip(one, mpi)]
reference = records(f"{tmp}/one_1_thread")
same = [records(f"{tmp}/mpi_2_ranks.{r}") == reference for r in range(rounds)]
same_candidates = all(open(f"{tmp}/mpi_2_ranks.{r}/candidates.jsonl").read() ==
                      open(f"{tmp}/one_1_thread/candidates.jsonl").read() for r in range(rounds))
# At 2 threads LibTorch sums in another order: the same trials, accuracies a little apart.
by_key = {(r["candidate"], r["rung"]): r for r in reference}
two = records(f"{tmp}/one_2_threads.0")
drift = max((abs(r["test_accuracy"] - by_key[(r["candidate"], r["rung"])]["test_accuracy"])
             for r in two if (r["candidate"], r["rung"]) in by_key), default=None)
result = {"config": config, "rounds": rounds,
          "train_stage_s": {"one_process_2_threads": one, "mpirun_np2_1_thread": mpi,
                            "one_process_1_thread": train_s(f"{tmp}/one_1_thread")},
          "speedup": {"per_round": ratios, "median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)},
          "mpi_records_identical_to_one_process_1_thread": all(same) and same_candidates,
          "one_process_2_threads_max_test_accuracy_difference": drift}
json.dump(result, open(out, "w"), indent=2)
print(json.dumps(result, indent=2))
PY
rm -rf "$tmp"
