#include "concnas/nn/batch_split.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>

#include "concnas/arch/architecture.h"
#include "concnas/common/error.h"
#include "concnas/nn/network.h"
#include "concnas/train/step.h"
#include "support/tiny_network.h"

namespace concnas::nn {
namespace {

using testing::small_dp;

struct Step {
  train::StepResult result;
  std::vector<torch::Tensor> grads, buffers;
};

// One forward-backward of a fresh seeded network on a fixed batch.
Step step_with(int ranks, int64_t batch) {
  torch::manual_seed(11);
  Network net(small_dp());
  net->train();
  const auto x = torch::randn({batch, 1, 28, 28});
  const auto y = torch::randint(10, {batch}, torch::kLong);
  BatchSplit split(ranks);
  Step s;
  s.result = train::forward_backward(net, x, y, 0.1, &split);
  for (const auto& p : net->parameters()) s.grads.push_back(p.grad().clone());
  for (const auto& b : net->buffers()) s.buffers.push_back(b.clone());
  return s;
}

TEST(ABatchSplit, GivesTheWholeBatchsGradientsAndBatchNormStatistics) {
  if (!BatchSplit::supported()) GTEST_SKIP() << "LibTorch without OpenMP";
  const Step whole = step_with(1, 13);
  for (int ranks : {2, 3}) {
    const Step split = step_with(ranks, 13);  // 13 rows: slices of unequal size
    EXPECT_NEAR(split.result.loss, whole.result.loss, 1e-5) << ranks;
    EXPECT_EQ(split.result.correct, whole.result.correct) << ranks;
    ASSERT_EQ(split.grads.size(), whole.grads.size());
    for (std::size_t i = 0; i < whole.grads.size(); ++i)
      EXPECT_TRUE(torch::allclose(split.grads[i], whole.grads[i], 1e-3, 1e-5))
          << ranks << " ranks, parameter " << i << ": max difference "
          << (split.grads[i] - whole.grads[i]).abs().max().item<double>();
    // Running means and variances (unbiased over all 13 rows) and the batch counters.
    for (std::size_t i = 0; i < whole.buffers.size(); ++i)
      EXPECT_TRUE(torch::allclose(split.buffers[i], whole.buffers[i], 1e-4, 1e-6))
          << ranks << " ranks, buffer " << i;
  }
  // A split that treats its slices as separate batches (local statistics) would differ:
  // check that the comparison can see that.
  torch::manual_seed(11);
  Network net(small_dp());
  const auto x = torch::randn({13, 1, 28, 28});
  const auto y = torch::randint(10, {13}, torch::kLong);
  auto loss_of = [&](const torch::Tensor& part, const torch::Tensor& target) {
    return torch::nll_loss(torch::log_softmax(net->forward(part), 1), target, {}, at::Reduction::Sum);
  };
  const double separate = (loss_of(x.narrow(0, 0, 7), y.narrow(0, 0, 7)) +
                           loss_of(x.narrow(0, 7, 6), y.narrow(0, 7, 6))).item<double>();
  const double together = loss_of(x, y).item<double>();
  EXPECT_GT(std::abs(separate - together), 1e-4);
}

TEST(ABatchSplit, GivesTheSameBitsEveryRun) {
  if (!BatchSplit::supported()) GTEST_SKIP() << "LibTorch without OpenMP";
  const Step a = step_with(2, 16);
  const Step b = step_with(2, 16);
  EXPECT_EQ(a.result.loss, b.result.loss);
  for (std::size_t i = 0; i < a.grads.size(); ++i) EXPECT_TRUE(torch::equal(a.grads[i], b.grads[i])) << i;
}

TEST(ABatchSplit, RunsEveryRankOnOneIntraOpThread) {
  if (!BatchSplit::supported()) GTEST_SKIP() << "LibTorch without OpenMP";
  const int before = at::get_num_threads();
  at::set_num_threads(2);  // Debian's LibTorch starts with one: then there is nothing to see
  ASSERT_EQ(at::get_num_threads(), 2);
  BatchSplit split(2);
  std::atomic<int> ones{0};
  split.run([&](int) { ones += at::get_num_threads() == 1; });
  EXPECT_EQ(ones.load(), 2);
  EXPECT_EQ(at::get_num_threads(), 2);
  at::set_num_threads(before);
}

TEST(ABatchSplit, UpdatesRunningStatisticsAsBatchNormDoes) {
  if (!BatchSplit::supported()) GTEST_SKIP() << "LibTorch without OpenMP";
  torch::manual_seed(2);
  // No momentum (a cumulative average) and few values per channel, where the unbiased
  // variance's N / (N - 1) shows.
  const auto options = torch::nn::BatchNorm2dOptions(3).momentum(c10::nullopt);
  torch::nn::BatchNorm2d whole(options), parts(options);
  BatchSplit split(2);
  for (int step = 0; step < 2; ++step) {
    const auto x = torch::randn({5, 3, 2, 2}) * 3 + 1;
    const auto expected = whole->forward(x);
    std::vector<torch::Tensor> got(2);
    split.run([&](int rank) {
      const auto [at, n] = split.rows(5, rank);
      got[rank] = batch_norm(*parts, x.narrow(0, at, n));
    });
    EXPECT_TRUE(torch::allclose(torch::cat(got), expected, 1e-5, 1e-5)) << "step " << step;
  }
  EXPECT_TRUE(torch::allclose(parts->running_mean, whole->running_mean, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(parts->running_var, whole->running_var, 1e-5, 1e-6));
  EXPECT_EQ(parts->num_batches_tracked.item<int64_t>(), 2);
}

TEST(ABatchSplit, SaysWhichRankRanFewerBatchNormsInsteadOfWaiting) {
  if (!BatchSplit::supported()) GTEST_SKIP() << "LibTorch without OpenMP";
  BatchSplit split(2);
  try {
    split.run([&](int rank) {
      if (rank == 0) split.all_gather({1.0});
    });
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 returned after 0 exchanges"), std::string::npos) << e.what();
  }
}

TEST(ABatchSplit, SlicesRowsContiguouslyAndEvenly) {
  if (!BatchSplit::supported()) GTEST_SKIP() << "LibTorch without OpenMP";
  BatchSplit split(3);
  EXPECT_EQ(split.rows(10, 0), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(split.rows(10, 1), (std::pair<int64_t, int64_t>{4, 3}));
  EXPECT_EQ(split.rows(10, 2), (std::pair<int64_t, int64_t>{7, 3}));
}

TEST(ABatchSplit, StopsEveryRankWhenOneFailsAndStaysUsable) {
  if (!BatchSplit::supported()) GTEST_SKIP() << "LibTorch without OpenMP";
  BatchSplit split(2);
  // Rank 1 fails before the exchange rank 0 waits in: rank 0 must not wait forever.
  EXPECT_THROW(
      {
        try {
          split.run([&](int rank) {
            if (rank == 1) throw std::runtime_error("rank 1 broke");
            split.all_gather({1.0});
          });
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "rank 1 broke");
          throw;
        }
      },
      std::runtime_error);
  std::vector<std::vector<double>> got;
  split.run([&](int rank) {
    auto all = split.all_gather({static_cast<double>(rank)});
    if (rank == 0) got = all;
  });
  EXPECT_EQ(got, (std::vector<std::vector<double>>{{0.0}, {1.0}}));
}

}  // namespace
}  // namespace concnas::nn
