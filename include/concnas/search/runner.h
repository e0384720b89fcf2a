#pragma once
/// \file
/// `concnas search`: sample, score, select, train with successive halving, report.
///
///     auto cfg = concnas::search::load_search_config("configs/quickstart.yaml");
///     concnas::search::SearchRunner runner(cfg, "runs/quickstart");
///     runner.run(/*resume=*/false);
///
/// The run folder: `config.yaml` (resolved), `candidates.jsonl` and `trials.jsonl`
/// (append-only, one flushed record per line), `trials/c<id>-r<rung>/` (resumable training
/// folders), `pareto.csv`, `best/` (architecture, DOT, SVG, weights of the front),
/// `report.html`, `summary.json`. Killed at any point, `run(true)` continues: records in
/// the logs are never recomputed, an interrupted training resumes from its checkpoint, and
/// the results equal an uninterrupted run's.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "concnas/search/results.h"
#include "concnas/search/search_config.h"
#include "concnas/search/strategy.h"
#include "concnas/search/trial_executor.h"

namespace concnas::search {

/// Thrown when the stop flag is raised (Ctrl-C); everything finished so far is saved.
class Interrupted : public Error {
 public:
  using Error::Error;
};

/// `stage` ("score", "train rung 1/3", ...), `done` of `total` items, and a detail line.
using SearchProgressFn = std::function<void(const std::string& stage, std::int64_t done,
                                            std::int64_t total, const std::string& detail)>;

struct SearchSummary {
  std::vector<CandidateRecord> candidates;
  std::vector<TrialRecord> trials;
  std::vector<int> front;  ///< candidate ids on the final Pareto front
  std::vector<std::pair<std::string, double>> stage_seconds;
};

/// Deploys the pick (the front's most accurate candidate, whose files are in `best_folder`
/// and whose last training is `trial_folder`) and measures it; `concnas search` runs it on
/// local workers. Throws `Error` on a failure, which the report records.
using PickDeployer = std::function<DeployedPick(const CandidateRecord& pick, const std::string& best_folder,
                                                const std::string& trial_folder)>;

class SearchRunner {
 public:
  SearchRunner(SearchConfig config, std::string run_dir);
  void set_progress(SearchProgressFn progress) { progress_ = std::move(progress); }
  /// Checked between candidates and training steps; when it becomes true the run stops
  /// with `Interrupted`.
  void set_stop_flag(const std::atomic<bool>* stop) { stop_ = stop; }
  /// How the training budget is spent; successive halving over `search.rungs` by default.
  void set_strategy(std::unique_ptr<Strategy> strategy) { strategy_ = std::move(strategy); }
  /// Who runs the trainings; one after another in this process by default.
  void set_executor(std::unique_ptr<TrialExecutor> executor) { executor_ = std::move(executor); }
  /// After training: deploy and measure the pick for the report (none: not deployed).
  void set_deployer(PickDeployer deployer) { deployer_ = std::move(deployer); }
  SearchSummary run(bool resume);

 private:
  void check_stop() const;
  // The stages, in order: the run folder and early checks; scoring every candidate.
  void open_folder(bool resume, const std::vector<Candidate>& candidates) const;
  std::map<int, CandidateRecord> score_stage(const std::vector<Candidate>& candidates) const;
  SearchConfig config_;
  std::string dir_;
  SearchProgressFn progress_;
  const std::atomic<bool>* stop_ = nullptr;
  std::unique_ptr<Strategy> strategy_;
  std::unique_ptr<TrialExecutor> executor_;
  PickDeployer deployer_;
  std::optional<DeployedPick> deploy_pick(const std::vector<FinalEntry>& final, int last_rung) const;
};

}  // namespace concnas::search
