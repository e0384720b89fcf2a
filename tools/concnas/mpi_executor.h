#pragma once
// Rank 0's side of `mpirun concnas search` (mpi_executor.cpp): a TrialExecutor whose
// server thread hands each training to a free rank and writes the trial folders they send
// back (so the run folder need not be shared), while the main thread trains too and logs
// every record.

#include <atomic>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>
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
    std::deque<search::TrialTask> queue;       ///< not yet handed out, costliest first
    std::vector<search::TrialRecord> arrived;  ///< from other ranks, not yet logged
    std::exception_ptr failure;                ///< the server's, rethrown by the main thread
    std::atomic<bool> serving{true};  ///< false once the queue is empty and no rank trains
    std::atomic<bool> quit{false};    ///< the main thread ends the server early
  };
  std::deque<search::TrialTask> costliest_first(const std::vector<search::TrialTask>& tasks) const;
  // The server thread: the only caller of MPI while `run` lasts.
  void serve(Shared& shared) const;
  void hand_out(Shared& shared, std::map<int, search::TrialTask>& busy) const;
  // The main thread: trains from the queue until it is empty and every rank is done.
  void train_here(Shared& shared, const search::TrialHooks& hooks, const search::TrialDone& done) const;
  // Logs what the other ranks finished; then rethrows the server's failure, if any.
  static void log_arrived(Shared& shared, const search::TrialDone& done, bool rethrow);

  const MpiWorld& world_;
  search::SearchConfig config_;
  std::string dir_;
};

}  // namespace concnas::cli
