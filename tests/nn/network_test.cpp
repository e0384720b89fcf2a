#include "concnas/nn/network.h"

#include <gtest/gtest.h>

#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "support/tiny_network.h"
#include "support/version2_network.h"

namespace concnas::nn {
namespace {

arch::Architecture generated(const std::string& generator, const std::string& staging,
                             std::uint64_t seed, int nodes = 24) {
  arch::GenerateOptions o;
  o.generator = generator;
  o.nodes = nodes;
  o.seed = seed;
  o.staging.policy = staging;
  return arch::generate_architecture(o, graph::builtin_generators(),
                                     arch::builtin_staging_policies());
}

TEST(ANetwork, HasAsManyParametersAsTheCostModelCounts) {
  for (const char* g : {"er", "ba", "ws", "dp"})
    for (const char* staging : {"uniform", "greedy", "probabilistic"})
      for (std::uint64_t s = 0; s < 3; ++s) {
        const auto a = generated(g, staging, s);
        Network net(a);
        EXPECT_EQ(count_parameters(*net), arch::compute_cost(a).total.params)
            << g << " " << staging << " seed " << s;
      }
}

TEST(ANetwork, HonoursEveryVersion2KeyInItsParametersAndTraining) {
  const auto a = concnas::testing::with_version2_design(generated("dp", "probabilistic", 5));
  ASSERT_TRUE(a.needs_version2());
  Network net(a);
  EXPECT_EQ(count_parameters(*net), arch::compute_cost(a).total.params);
  // A few steps train it (gradients flow through slices, fp16 edges and concatenations).
  torch::manual_seed(0);
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  const auto x = torch::cat({torch::rand({8, 1, 28, 28}) + 1.0, torch::rand({8, 1, 28, 28}) - 1.0});
  const auto y = torch::cat({torch::zeros({8}, torch::kLong), torch::ones({8}, torch::kLong)});
  double first = 0, last = 0;
  for (int step = 0; step < 15; ++step) {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, first * 0.5);
  for (const auto& p : net->named_parameters())
    if (p.key().rfind("v", 0) == 0) {
      EXPECT_TRUE(p.value().grad().defined()) << p.key();
    }
}

TEST(ANetwork, RoundsWhatAnFp16EdgeCarries) {
  // 0 -> 1 carrying half of 8 channels in fp16: vertex 1 sees exactly the rounded prefix.
  arch::NetworkOptions n;
  n.input = {1, 4, 4};
  n.stem_channels = 8;
  n.channel_limit = 8;
  arch::Design d(3);
  d[1].edges[0] = {0.5, arch::Dtype::kFp16};
  const auto a = arch::rebuild_architecture(graph::Dag::from_compute_edges(2, {{0, 1}}), n, {false, false}, d);
  const auto x = torch::randn({2, 8, 4, 4}) * 1000 + 0.1;
  const auto got = carried(a.vertices[1], 0, x);
  EXPECT_EQ(got.sizes(), (std::vector<int64_t>{2, 4, 4, 4}));
  EXPECT_TRUE(torch::equal(got, x.narrow(1, 0, 4).to(torch::kHalf).to(torch::kFloat)));
  EXPECT_FALSE(torch::equal(got, x.narrow(1, 0, 4)));
}

TEST(ANetwork, CountsTheTinyNetworkByHand) {
  Network net(concnas::testing::tiny_network());
  EXPECT_EQ(count_parameters(*net), 401);  // tests/arch/cost_test.cpp works it out
}

TEST(ANetwork, MapsImagesToOneLogitPerClassWithTheRecordedShapes) {
  const auto a = generated("dp", "probabilistic", 1);
  Network net(a);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto logits = net->forward(torch::randn({3, 1, 28, 28}));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

TEST(ANetwork, SupportsBothAggregationsAndOtherInputShapes) {
  arch::GenerateOptions o;
  o.generator = "ws";
  o.nodes = 12;
  o.network.input = {3, 32, 32};
  o.network.classes = 7;
  o.network.aggregation = arch::Aggregation::kSigmoidInputs;
  const auto a = arch::generate_architecture(o, graph::builtin_generators(),
                                             arch::builtin_staging_policies());
  Network net(a);
  EXPECT_EQ(count_parameters(*net), arch::compute_cost(a).total.params);
  EXPECT_EQ(net->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 7}));
  EXPECT_THROW(net->forward(torch::randn({2, 1, 28, 28})), concnas::InvalidArgument);
}

TEST(ANetwork, LearnsToSeparateTwoSyntheticClasses) {
  // Bright vs dark images: a few SGD steps must drive the loss well down.
  torch::manual_seed(0);
  auto a = generated("dp", "probabilistic", 2, 8);
  Network net(a);
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
  auto x = torch::cat({torch::rand({16, 1, 28, 28}) + 1.0, torch::rand({16, 1, 28, 28}) - 1.0});
  auto y = torch::cat({torch::zeros({16}, torch::kLong), torch::ones({16}, torch::kLong)});
  double first = 0;
  double last = 0;
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_LT(last, 0.25 * first);
}

}  // namespace
}  // namespace concnas::nn

namespace concnas::nn {
namespace {

TEST(AScalingBlock, PoolsLikeAdaptiveMaxPoolingWhetherOrNotTheSizesDivide) {
  torch::manual_seed(3);
  for (const auto& [from, to] : std::vector<std::pair<int, int>>{{28, 14}, {28, 7}, {7, 4}, {14, 4}}) {
    arch::ScalingBlock block;
    block.from_shape = {8, from, from};
    block.pool = true;
    Scaling scaling(block, arch::Shape{8, to, to});
    const torch::Tensor x = torch::randn({2, 8, from, from});
    const torch::Tensor expected = std::get<0>(torch::adaptive_max_pool2d(x, {to, to}));
    EXPECT_TRUE(torch::equal(scaling->forward(x), expected)) << from << " -> " << to;
  }
}

}  // namespace
}  // namespace concnas::nn
