#pragma once
// The search's TrialRunner (private to src/search): trains a candidate at a rung in its
// own resumable folder, trials/c<id>-r<rung>/, and appends its record to trials.jsonl.

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/search/runner.h"
#include "concnas/search/strategy.h"

namespace concnas::search::detail {

class TrialTrainer : public TrialRunner {
 public:
  /// Reads the trials an earlier run logged in `dir`/trials.jsonl.
  TrialTrainer(const SearchConfig& config, std::string dir, const std::map<int, CandidateRecord>& candidates,
               SearchProgressFn progress, std::function<void()> check_stop);
  std::vector<TrialRecord> train(const std::vector<int>& candidates, int rung) override;
  bool is_baseline(int id) const override;
  int rungs() const override { return static_cast<int>(config_.search.rungs.size()); }
  /// Every trial logged, by (candidate, rung).
  std::vector<TrialRecord> all() const;

 private:
  TrialRecord train_one(const CandidateRecord& record, int rung,
                        const std::function<void(const std::string&)>& detail);
  void report(const std::string& stage, std::int64_t done, std::int64_t total, const std::string& detail) const;

  const SearchConfig& config_;
  std::string dir_;
  const std::map<int, CandidateRecord>& candidates_;
  SearchProgressFn progress_;
  std::function<void()> check_stop_;
  std::map<std::pair<int, int>, TrialRecord> trials_;
};

}  // namespace concnas::search::detail
