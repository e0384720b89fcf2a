#pragma once
// The search's trainings spread over the ranks of an MPI job (mpi_trials.cpp). Rank 0
// runs the search with an MpiTrialExecutor: a server thread hands each trial to a free
// rank and writes the trial folders the ranks send back (so the run folder need not be
// shared), while rank 0's main thread trains trials itself and logs every record. The
// other ranks serve_trials.
//
// Messages (all from or to rank 0): kConfig, the resolved search config as YAML; kTask,
// {"candidate": candidates.jsonl line, "rung": r}; kResult, {"trial": trials.jsonl line,
// "files": [names]} followed by one kFile per file of the trial folder; kFailure, why a
// rank cannot train (then rank 0 ends the job); kStop, the search is over.

#include <atomic>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
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
  // What the server thread and the main thread share during `run`.
  struct Shared {
    std::mutex mutex;
    std::deque<search::TrialTask> queue;      ///< not yet handed out, costliest first
    std::vector<search::TrialRecord> arrived; ///< from other ranks, not yet logged
    std::exception_ptr failure;               ///< the server's, rethrown by the main thread
    std::atomic<bool> serving{true};          ///< false once every other rank is idle and the queue empty
    std::atomic<bool> quit{false};            ///< the main thread stops the server early
  };
  // The server thread: the only caller of MPI while `run` lasts.
  void serve(Shared& shared) const;
  search::TrialRecord receive_result(int rank, const search::TrialTask& task) const;
  // The training's cost on this machine, for the order: the bytes its vertices write.
  std::int64_t cost(const search::TrialTask& task) const;

  const MpiWorld& world_;
  search::SearchConfig config_;
  std::string dir_;
};

/// What every rank but 0 runs: waits for the config, then trains tasks in `run_dir` (a
/// folder of this host) until rank 0 says stop. Returns early when `stop` is raised.
void serve_trials(const MpiWorld& world, const std::string& run_dir, const std::atomic<bool>& stop);

}  // namespace concnas::cli
