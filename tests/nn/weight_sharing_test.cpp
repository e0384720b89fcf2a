// One network's weights serving many communication policies (nn/weight_sharing.h).
#include "concnas/nn/weight_sharing.h"

#include <gtest/gtest.h>

#include "concnas/arch/sep.h"
#include "concnas/common/error.h"

namespace concnas::nn {
namespace {

arch::Architecture sep_network(bool full, std::vector<int> permutations) {
  arch::SepOptions o;
  o.groups = 3;
  o.depth = 4;
  o.alpha = 1;
  o.share = 0.5;
  o.full = full;
  o.permutations = std::move(permutations);
  arch::NetworkOptions n;
  n.input = {1, 8, 8};
  n.stem_channels = 6;
  n.channel_limit = 24;
  n.min_resolution = 2;
  n.classes = 5;
  return arch::sep_architecture(o, arch::StagingOptions{}, n, 2);
}

// The edges of `a` between groups (vertex g * 4 + i belongs to group g).
std::vector<std::pair<int, int>> exchange_edges(const arch::Architecture& a) {
  std::vector<std::pair<int, int>> out;
  for (int v = 0; v < a.dag.num_compute(); ++v)
    for (int p : a.vertices[v].inputs)
      if (p < a.dag.num_compute() && p / 4 != v / 4) out.push_back({p, v});
  return out;
}

// Full exchange with every edge but policy P's switched off computes what P's own network
// computes once it inherits the shared weights (random aggregation weights and batch-norm
// statistics, so that a wrong pick of weights shows).
TEST(ASharedNetwork, WithAPolicysEdgesOnlyComputesThatPolicysNetwork) {
  torch::manual_seed(0);
  const auto full = sep_network(true, {});
  const auto policy = sep_network(false, {3, 0, 5});
  Network shared(full);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : shared->parameters()) p.uniform_(-1, 1);
    for (auto& b : shared->named_buffers())
      if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2);
      else if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-1, 1);
  }
  const auto kept = exchange_edges(policy);
  std::vector<std::pair<int, int>> off;
  for (const auto& e : exchange_edges(full))
    if (std::find(kept.begin(), kept.end(), e) == kept.end()) off.push_back(e);
  ASSERT_FALSE(kept.empty());
  ASSERT_GT(off.size(), kept.size());
  arch::SepOptions policy_options;
  policy_options.groups = 3;
  policy_options.depth = 4;
  policy_options.alpha = 1;
  policy_options.permutations = {3, 0, 5};
  auto left_out = arch::edges_left_out(policy_options);
  std::sort(left_out.begin(), left_out.end());
  std::sort(off.begin(), off.end());
  EXPECT_EQ(left_out, off);
  shared->set_inactive_edges(off);
  Network sub(policy);
  inherit_shared_weights(*shared, *sub);
  shared->eval();
  sub->eval();
  const auto x = torch::randn({4, 1, 8, 8});
  EXPECT_TRUE(torch::allclose(shared->forward(x), sub->forward(x), 1e-5, 1e-6));
  // Every edge on again: another function.
  shared->set_inactive_edges({});
  EXPECT_FALSE(torch::allclose(shared->forward(x), sub->forward(x), 1e-3, 1e-3));
}

TEST(ASharedNetwork, RefusesEdgesItDoesNotHave) {
  Network shared(sep_network(false, {}));
  EXPECT_THROW(shared->set_inactive_edges({{0, 5}}), InvalidArgument);
  EXPECT_THROW(shared->set_inactive_edges({{0, 1}}), InvalidArgument);  // vertex 1's only input
  Network sub(sep_network(true, {}));
  EXPECT_THROW(inherit_shared_weights(*shared, *sub), InvalidArgument);  // full exchange has more inputs
}

}  // namespace
}  // namespace concnas::nn
