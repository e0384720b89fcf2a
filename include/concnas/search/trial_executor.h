#pragma once
/// \file
/// Who trains a search's trials. The search decides which candidates train at which rung
/// and logs every record; a `TrialExecutor` only runs the trainings, here or elsewhere.
/// By default they run one after another in this process (`LocalTrialExecutor`);
/// `concnas search` under `mpirun` hands them to other ranks (docs/search.md).
///
///     concnas::search::SearchRunner runner(config, "runs/quickstart");
///     runner.set_executor(std::make_unique<MyExecutor>(config, "runs/quickstart"));
///
/// An executor elsewhere calls `train_trial` where the trial should run and hands the
/// record back; the record does not depend on where it ran, only on `train.threads`.

#include <functional>
#include <string>
#include <vector>

#include "concnas/search/results.h"

namespace concnas::search {

/// One training to run: a candidate (its record, as logged) at a rung (0-based).
struct TrialTask {
  const CandidateRecord* candidate = nullptr;
  int rung = 0;
};

/// What the search gives an executor to call while it trains.
struct TrialHooks {
  /// Throws `Interrupted` when the search must stop; call it between training steps.
  std::function<void()> check_stop;
  /// A progress line for the training under way in this process (may be empty).
  std::function<void(const std::string&)> detail;
};

/// Receives each finished record; the search logs it before it returns.
using TrialDone = std::function<void(const TrialRecord&)>;

class TrialExecutor {
 public:
  virtual ~TrialExecutor() = default;
  /// Trains every task and calls `done` once per task as it finishes, in any order, from
  /// the calling thread. Returns when all are done; throws on a failure that is not a
  /// failed training (those are records with `failed` set).
  virtual void run(const std::vector<TrialTask>& tasks, const TrialHooks& hooks, const TrialDone& done) = 0;
};

/// Trains `candidate` at `rung` in `run_dir`/trials/c<id>-r<rung + 1>/, resuming the
/// checkpoint an interrupted training left there. A training that fails (a NaN loss) is
/// returned as a record with `failed` set; `Interrupted` and `IoError` (missing data, a
/// full disk: faults of the host, not of the candidate) propagate.
TrialRecord train_trial(const SearchConfig& config, const std::string& run_dir, const CandidateRecord& candidate,
                        int rung, const TrialHooks& hooks);

/// The folder `train_trial` trains in.
std::string trial_folder(const std::string& run_dir, int candidate, int rung);

/// Runs the tasks one after another in this process.
class LocalTrialExecutor : public TrialExecutor {
 public:
  LocalTrialExecutor(SearchConfig config, std::string run_dir)
      : config_(std::move(config)), dir_(std::move(run_dir)) {}
  void run(const std::vector<TrialTask>& tasks, const TrialHooks& hooks, const TrialDone& done) override;

 private:
  SearchConfig config_;
  std::string dir_;
};

}  // namespace concnas::search
