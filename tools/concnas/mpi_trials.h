#pragma once
// The search's trainings spread over the ranks of an MPI job (mpi_trials.cpp). Rank 0
// runs the search with an MpiTrialExecutor: it hands each trial to a free rank, trains
// one itself between serving the others, and writes every record and trial folder the
// ranks send back, so the run folder need not be shared. The other ranks serve_trials.
//
// Messages (all from or to rank 0): kConfig, the resolved search config as YAML; kTask,
// {"candidate": candidates.jsonl line, "rung": r}; kResult, {"trial": trials.jsonl line,
// "files": [names]} followed by one kFile per file of the trial folder; kFailure, why a
// rank cannot train (then rank 0 ends the job); kStop, the search is over.

#include <atomic>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "concnas/search/trial_executor.h"
#include "mpi_world.h"

namespace concnas::cli {

class MpiTrialExecutor : public search::TrialExecutor {
 public:
  /// Sends `config` to every other rank; they train in their own `run_dir`.
  MpiTrialExecutor(const MpiWorld& world, search::SearchConfig config, std::string run_dir);
  void run(const std::vector<search::TrialTask>& tasks, const search::TrialHooks& hooks,
           const search::TrialDone& done) override;

 private:
  // Receives every finished trial, then gives each idle rank the next task.
  void serve(std::deque<search::TrialTask>& queue, const search::TrialHooks& hooks, const search::TrialDone& done);
  void receive_result(int rank, const search::TrialDone& done);

  const MpiWorld& world_;
  search::SearchConfig config_;
  std::string dir_;
  std::map<int, search::TrialTask> busy_;  ///< rank -> the task it trains
};

/// What every rank but 0 runs: waits for the config, then trains tasks in `run_dir` (a
/// folder of this host) until rank 0 says stop. Returns early when `stop` is raised.
void serve_trials(const MpiWorld& world, const std::string& run_dir, const std::atomic<bool>& stop);

}  // namespace concnas::cli
