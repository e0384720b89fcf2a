#pragma once
// The search's TrialRunner, TrialTrainer (private to src/search): has a TrialExecutor train each
// candidate at a rung in its own resumable folder, trials/c<id>-r<rung>/, and appends
// each record to trials.jsonl as it finishes.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/search/runner.h"
#include "concnas/search/strategy.h"
#include "concnas/search/trial_executor.h"

namespace concnas::search::detail {

class TrialTrainer : public TrialRunner {
 public:
  /// Reads the trials an earlier run logged in `dir`/trials.jsonl.
  TrialTrainer(const SearchConfig& config, std::string dir, const std::map<int, CandidateRecord>& candidates,
               TrialExecutor& executor, SearchProgressFn progress, std::function<void()> check_stop);
  std::vector<TrialRecord> train(const std::vector<int>& candidates, int rung) override;
  bool is_baseline(int id) const override;
  int rungs() const override { return static_cast<int>(config_.search.rungs.size()); }
  /// Every trial logged, by (candidate, rung).
  std::vector<TrialRecord> all() const;

 private:
  /// Rewrites trials.jsonl, if needed, so that this rung's records follow the earlier
  /// rungs' in the order of `ids`, as one process writes them: an executor that trains
  /// in parallel logs each record as it finishes.
  void log_in_order(const std::vector<int>& ids, int rung) const;
  void report(const std::string& stage, std::int64_t done, std::int64_t total, const std::string& detail) const;

  const SearchConfig& config_;
  std::string dir_;
  const std::map<int, CandidateRecord>& candidates_;
  TrialExecutor& executor_;
  SearchProgressFn progress_;
  std::function<void()> check_stop_;
  std::map<std::pair<int, int>, TrialRecord> trials_;
  std::map<std::pair<int, int>, std::string> lines_;  ///< each record's line as logged
};

}  // namespace concnas::search::detail
