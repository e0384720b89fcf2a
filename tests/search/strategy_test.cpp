#include "concnas/search/strategy.h"

#include <gtest/gtest.h>

#include <map>

namespace concnas::search {
namespace {

// Trials from a table of validation accuracies; ids below 2 are baselines.
class TableTrials : public TrialRunner {
 public:
  std::map<int, double> accuracy;
  std::vector<std::pair<int, std::vector<int>>> calls;  // (rung, ids)
  int failing = -1;
  std::vector<TrialRecord> train(const std::vector<int>& ids, int rung) override {
    calls.push_back({rung, ids});
    std::vector<TrialRecord> out;
    for (int id : ids) {
      TrialRecord t;
      t.candidate = id;
      t.rung = rung;
      t.val_accuracy = accuracy.at(id) + 0.01 * rung;
      if (id == failing) t.failed = "NaN loss";
      out.push_back(t);
    }
    return out;
  }
  bool is_baseline(int id) const override { return id < 2; }
  int rungs() const override { return 3; }
};

TEST(SuccessiveHalving, PromotesTheBestFractionAndEveryBaseline) {
  TableTrials trials;
  trials.accuracy = {{0, 0.1}, {1, 0.2}, {2, 0.5}, {3, 0.9}, {4, 0.7}, {5, 0.3}};
  SuccessiveHalving(0.5).run({0, 1, 2, 3, 4, 5}, trials);
  ASSERT_EQ(trials.calls.size(), 3u);
  EXPECT_EQ(trials.calls[0].second, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(trials.calls[1].second, (std::vector<int>{0, 1, 3, 4}));  // 2 of 4 sampled
  EXPECT_EQ(trials.calls[2].second, (std::vector<int>{0, 1, 3}));     // 1 of 2
}

TEST(SuccessiveHalving, NeverPromotesAFailedTraining) {
  TableTrials trials;
  trials.accuracy = {{2, 0.9}, {3, 0.1}};
  trials.failing = 2;
  SuccessiveHalving(0.5).run({2, 3}, trials);
  ASSERT_GE(trials.calls.size(), 2u);
  EXPECT_EQ(trials.calls[1].second, (std::vector<int>{3}));
}

TEST(SuccessiveHalving, StopsWhenNobodyIsLeft) {
  TableTrials trials;
  trials.accuracy = {{2, 0.9}};
  trials.failing = 2;
  SuccessiveHalving(1.0).run({2}, trials);
  EXPECT_EQ(trials.calls.size(), 1u);
}

}  // namespace
}  // namespace concnas::search
