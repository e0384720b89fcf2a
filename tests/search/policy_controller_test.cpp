// The REINFORCE controller of `concnas policy` (search/policy_controller.h).
#include "concnas/search/policy_controller.h"

#include <gtest/gtest.h>

#include <torch/torch.h>

#include "concnas/common/error.h"

namespace concnas::search {
namespace {

TEST(APolicyController, DrawsTheSamePoliciesFromTheSameSeed) {
  PolicyController a(3, 24, {}, 5), b(3, 24, {}, 5), c(3, 24, {}, 6);
  std::vector<std::vector<int>> from_a, from_c;
  for (int i = 0; i < 8; ++i) {
    const auto p = a.sample();
    ASSERT_EQ(p.size(), 3u);
    for (int k : p) EXPECT_TRUE(k >= 0 && k < 24);
    EXPECT_EQ(p, b.sample());
    from_a.push_back(p);
    from_c.push_back(c.sample());
  }
  EXPECT_NE(from_a, from_c);
  a.learn({from_a[0], from_a[1]}, {1.0, 0.0});
  b.learn({from_a[0], from_a[1]}, {1.0, 0.0});
  EXPECT_EQ(a.sample(), b.sample());
  EXPECT_DOUBLE_EQ(a.baseline(), b.baseline());
}

TEST(APolicyController, LeavesLibTorchsGeneratorAsItWas) {
  torch::manual_seed(42);
  const auto expected = torch::rand({4});
  torch::manual_seed(42);
  PolicyController c(3, 24, {}, 7);
  EXPECT_TRUE(torch::equal(torch::rand({4}), expected));
}

// Rewarded for choosing 2 at step 0 and 5 at step 1, it learns to: from 1/6 each at first
// to most of the probability after a few dozen updates.
TEST(APolicyController, LearnsTheChoicesThatAreRewarded) {
  ControllerOptions o;
  o.lr = 0.05;
  PolicyController c(2, 6, o, 1);
  const auto before = c.probabilities({2, 5});
  EXPECT_NEAR(before[0][2], 1.0 / 6, 0.1);
  for (int update = 0; update < 60; ++update) {
    std::vector<std::vector<int>> batch;
    std::vector<double> rewards;
    for (int i = 0; i < 4; ++i) {
      batch.push_back(c.sample());
      rewards.push_back((batch.back()[0] == 2 ? 0.5 : 0.0) + (batch.back()[1] == 5 ? 0.5 : 0.0));
    }
    c.learn(batch, rewards);
  }
  const auto after = c.probabilities({2, 5});
  EXPECT_GT(after[0][2], 0.8);
  EXPECT_GT(after[1][5], 0.8);
  EXPECT_GT(c.baseline(), 0.5);
}

TEST(APolicyController, RefusesMismatchedPoliciesAndRewards) {
  PolicyController c(2, 6, {}, 1);
  EXPECT_THROW(c.learn({{1, 2}}, {1.0, 2.0}), InvalidArgument);
  EXPECT_THROW(c.learn({{1, 2, 3}}, {1.0}), InvalidArgument);
  EXPECT_THROW(c.learn({{1, 6}}, {1.0}), InvalidArgument);
  EXPECT_THROW(c.probabilities({-1, 0}), InvalidArgument);
  EXPECT_THROW(PolicyController(0, 6, {}, 1), InvalidArgument);
}

}  // namespace
}  // namespace concnas::search
