// NN-Stretch: a chain stretched into one branch per device between meeting vertices.
#include "concnas/arch/stretch.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "concnas/arch/baselines.h"
#include "concnas/arch/cost.h"
#include "concnas/config/architecture_yaml.h"
#include "support/expect_error.h"

namespace concnas::arch {
namespace {

Architecture chain20() {
  NetworkOptions n;  // Fashion-MNIST's shape, stem 16, up to 128 channels
  StagingOptions staging;
  return chain_architecture(20, staging, n, 3);
}

int staged_count(const Architecture& a, const std::vector<int>& vertices) {
  return static_cast<int>(std::count_if(vertices.begin(), vertices.end(),
                                        [&](int v) { return a.vertices[v].staged; }));
}

TEST(AStretchedChain, WithOneFullBranchHasTheChainsLayers) {
  const auto chain = chain20();
  const auto s = stretch_chain(chain, {{}, {{1.0, 1.0}}});
  ASSERT_EQ(s.arch.dag.num_compute(), 20);
  const auto order = chain_order(chain);
  const auto stretched = chain_order(s.arch);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(s.arch.vertices[stretched[i]].out, chain.vertices[order[i]].out) << i;
    EXPECT_EQ(s.arch.vertices[stretched[i]].staged, chain.vertices[order[i]].staged) << i;
  }
  EXPECT_EQ(compute_cost(s.arch).total.flops, compute_cost(chain).total.flops);
  EXPECT_TRUE(std::all_of(s.parts.begin(), s.parts.end(), [](int u) { return u == 0; }));
}

TEST(AStretchedChain, HasOneBranchPerDeviceBetweenMeetings) {
  const auto chain = chain20();
  const auto order = chain_order(chain);
  const auto s = stretch_chain(chain, {{9}, {{1.0, 1.0}, {0.5, 0.5}}});
  const auto& a = s.arch;
  // Segment 0: chain vertices 0-8 as branches of 9 and round(4.5) = 5; meeting vertex 9;
  // segment 1: vertices 10-19 as branches of 10 and 5.
  ASSERT_EQ(a.dag.num_compute(), 9 + 5 + 1 + 10 + 5);
  ASSERT_EQ(s.parts.size(), static_cast<std::size_t>(a.dag.num_vertices()));
  auto on = [&](int unit, int from, int to) {
    std::vector<int> vs;
    for (int v = from; v < to; ++v) {
      EXPECT_EQ(s.parts[v], unit) << "vertex " << v;
      vs.push_back(v);
    }
    return vs;
  };
  const std::vector<int> seg0(order.begin(), order.begin() + 9), seg1(order.begin() + 10, order.end());
  EXPECT_EQ(staged_count(a, on(0, 0, 9)), staged_count(chain, seg0));
  EXPECT_EQ(staged_count(a, on(1, 9, 14)), staged_count(chain, seg0));
  const int meet = 14;
  EXPECT_EQ(s.parts[meet], 0);
  EXPECT_EQ(a.vertices[meet].merge, Merge::kConcat);
  EXPECT_EQ(a.vertices[meet].inputs, (std::vector<int>{8, 13}));
  // The meeting vertex takes both branches' channels and gives the chain's.
  const Shape full = chain.vertices[order[8]].out;
  EXPECT_EQ(a.vertices[meet].in.channels, full.channels + full.channels / 2);
  EXPECT_EQ(a.vertices[meet].out, chain.vertices[order[9]].out);
  EXPECT_EQ(staged_count(a, on(0, 15, 25)), staged_count(chain, seg1));
  EXPECT_EQ(staged_count(a, on(1, 25, 30)), staged_count(chain, seg1));
  EXPECT_EQ(a.output.merge, Merge::kConcat);
  EXPECT_EQ(a.output.inputs, (std::vector<int>{24, 29}));
  EXPECT_LT(compute_cost(a).total.flops, compute_cost(chain).total.flops * 2);
}

TEST(AStretchedChain, SurvivesTheArchitectureFile) {
  const auto s = stretch_chain(chain20(), {{6, 13}, {{1.0, 0.8}, {0.3, 0.4}}});
  const auto back = config::architecture_from_yaml(config::architecture_to_yaml(s.arch), "s.yaml");
  EXPECT_TRUE(back == s.arch);
}

TEST(AStretchedChain, RefusesWhatItCannotBuild) {
  const auto chain = chain20();
  auto refused = [&](const StretchOptions& o, const std::string& fragment) {
    try {
      (void)stretch_chain(chain, o);
      ADD_FAILURE() << "accepted; wanted: " << fragment;
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  refused({{}, {}}, "at least one branch");
  refused({{}, {{0.0, 1.0}}}, "each must lie in (0, 1]");
  refused({{}, {{1.0, 1.5}}}, "each must lie in (0, 1]");
  refused({{0}, {{1.0, 1.0}}}, "outside 1..18");
  refused({{19}, {{1.0, 1.0}}}, "outside 1..18");
  refused({{5, 6}, {{1.0, 1.0}}}, "leave no vertex between them");
  Design counted(21);
  counted[4].channels = 5;
  std::vector<bool> staged;
  for (int v : chain_order(chain)) staged.push_back(chain.vertices[v].staged);
  const auto fixed = rebuild_architecture(chain.dag, chain.network, staged, counted);
  try {
    (void)stretch_chain(fixed, {{}, {{1.0, 1.0}}});
    ADD_FAILURE() << "stretched a chain with an explicit channel count";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("sets its channels (5)"), std::string::npos) << e.what();
  }
  GenerateOptions g;
  g.generator = "dp";
  g.nodes = 12;
  const auto dp = generate_architecture(g, graph::builtin_generators(), builtin_staging_policies());
  try {
    (void)stretch_chain(dp, {{}, {{1.0, 1.0}}});
    ADD_FAILURE() << "stretched a network that is not a chain";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("is not a chain"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace concnas::arch
