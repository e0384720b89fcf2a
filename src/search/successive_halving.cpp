#include "concnas/search/strategy.h"

#include <algorithm>
#include <cmath>

namespace concnas::search {

void SuccessiveHalving::run(const std::vector<int>& entrants, TrialRunner& trials) const {
  std::vector<int> at_rung = entrants;
  for (int rung = 0; rung < trials.rungs() && !at_rung.empty(); ++rung) {
    const auto trained = trials.train(at_rung, rung);
    at_rung = promoted(trained, trials);
  }
}

std::vector<int> SuccessiveHalving::promoted(const std::vector<TrialRecord>& trained,
                                             const TrialRunner& trials) const {
  std::vector<const TrialRecord*> sampled;
  std::vector<int> next;
  for (const auto& t : trained) {
    if (!t.failed.empty()) continue;
    if (trials.is_baseline(t.candidate))
      next.push_back(t.candidate);
    else
      sampled.push_back(&t);
  }
  std::stable_sort(sampled.begin(), sampled.end(), [](const TrialRecord* a, const TrialRecord* b) {
    return a->val_accuracy > b->val_accuracy;
  });
  // The tolerance keeps 0.55 x 100 at 55 despite binary rounding.
  const auto keep = static_cast<std::size_t>(std::ceil(keep_ * sampled.size() - 1e-9));
  for (std::size_t i = 0; i < std::min(keep, sampled.size()); ++i) next.push_back(sampled[i]->candidate);
  std::sort(next.begin(), next.end());
  return next;
}

}  // namespace concnas::search
