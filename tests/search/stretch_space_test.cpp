// NN-Stretch's space of stretched chains and the rules that prune it.
#include "concnas/search/stretch_space.h"

#include <gtest/gtest.h>

#include "concnas/arch/baselines.h"
#include "concnas/arch/cost.h"
#include "concnas/arch/stretch.h"
#include "concnas/common/error.h"

namespace concnas::search {
namespace {

arch::Architecture chain20() {
  return arch::chain_architecture(20, arch::StagingOptions{}, arch::NetworkOptions{}, 0);
}

// A fast device and one half as fast, over loopback as this machine's runtime has it.
sim::DeviceModel fast_and_slow() {
  sim::DeviceModel d;
  d.flops_per_s = {1.1e10, 0.55e10};
  return d;
}

sim::LinkModel loopback() {
  sim::LinkModel l;
  l.latency_s = 3e-5;
  l.bandwidth_bytes_per_s = 3e9;
  l.send_overhead_s = 4e-5;
  return l;
}

TEST(AStretchSpace, ShrinksRuleByRuleToAFewCandidatesFasterThanTheChain) {
  const auto space = prune_stretch_space(chain20(), fast_and_slow(), loopback(), {});
  ASSERT_EQ(space.rules.size(), 6u);
  // 6765 meeting sets of a 20-vertex chain, and 4 x 4 ratios for each of 2 branches.
  EXPECT_EQ(space.rules[0].first, "space");
  EXPECT_DOUBLE_EQ(space.rules[0].second, 6765.0 * 256);
  for (std::size_t i = 1; i < space.rules.size(); ++i)
    EXPECT_LE(space.rules[i].second, space.rules[i - 1].second) << space.rules[i].first;
  EXPECT_EQ(space.rules.back().second, static_cast<double>(space.survivors.size()));
  ASSERT_FALSE(space.survivors.empty());
  EXPECT_LE(space.survivors.size(), 10u);
  for (std::size_t i = 0; i < space.survivors.size(); ++i) {
    const auto& c = space.survivors[i];
    EXPECT_LT(c.predicted_s, space.chain_s);
    if (i > 0) {
      EXPECT_GE(c.predicted_s, space.survivors[i - 1].predicted_s);
    }
    ASSERT_EQ(c.options.branches.size(), 2u);
    for (const auto& b : c.options.branches) EXPECT_TRUE(b.depth >= 0.5 && b.width >= 0.5);
    // The slower device gets the smaller branch.
    const auto& f = c.options.branches[0];
    const auto& s = c.options.branches[1];
    EXPECT_LT(s.depth * s.width * s.width, f.depth * f.width * f.width) << c.stretched.arch.name;
  }
  // Two branches on devices 2:1 in speed: the model predicts about 1.4x.
  EXPECT_GT(space.chain_s / space.survivors.front().predicted_s, 1.3);
}

TEST(AStretchSpace, MeetsOnlyWhereTheLinkIsCheapAgainstTheCompute) {
  StretchSpaceOptions o;
  o.alpha = 1.0;
  sim::LinkModel slow = loopback();
  slow.latency_s = 0.01;  // 10 ms a message: no segment amortizes a meeting
  EXPECT_EQ(prune_stretch_space(chain20(), fast_and_slow(), slow, o).rules[1].second, 0.0);
  sim::LinkModel fast = loopback();
  fast.latency_s = 1e-9;
  fast.send_overhead_s = 0;
  fast.bandwidth_bytes_per_s = 1e13;
  const auto chain12 = arch::chain_architecture(12, arch::StagingOptions{}, arch::NetworkOptions{}, 0);
  const auto space = prune_stretch_space(chain12, fast_and_slow(), fast, o);
  EXPECT_DOUBLE_EQ(space.rules[1].second, space.rules[0].second);  // every meeting set passes
  // Too many to simulate: the rules must leave at most 20,000 candidates.
  try {
    (void)prune_stretch_space(chain20(), fast_and_slow(), fast, o);
    ADD_FAILURE() << "simulated every meeting set of chain-20";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("lower alpha"), std::string::npos) << e.what();
  }
}

// A branch that starts at the first vertex gets the images (28x28x1), not the stem's output
// (16 channels): with a link whose bandwidth is all it costs, the chain kept whole (no
// meeting) amortizes sending the images and the output, though not the stem's output.
TEST(AStretchSpace, PricesTheImagesIntoAFirstSegmentNotTheStemsOutput) {
  const auto chain = chain20();
  const double compute = static_cast<double>(arch::compute_cost(chain).total.flops) / 1.1e10;
  const double images = 4.0 * chain.network.input.elements();
  const double stem = 4.0 * chain.stem_shape().elements();
  ASSERT_GT(stem, 8 * images);
  const double out = 4.0 * chain.vertices[arch::chain_order(chain).back()].out.elements();
  sim::LinkModel bandwidth_only;
  bandwidth_only.latency_s = 0;
  bandwidth_only.bandwidth_bytes_per_s = (images + out) / (0.3 * compute);  // images + out: 0.3x the compute
  ASSERT_GT((stem + out) / bandwidth_only.bandwidth_bytes_per_s, 1.5 * compute);
  StretchSpaceOptions o;
  o.alpha = 1.0;
  EXPECT_GE(prune_stretch_space(chain, fast_and_slow(), bandwidth_only, o).rules[1].second, 1.0);
}

TEST(AStretchSpace, LeavesNothingWhenNoBranchCanBeFullAndFastEnough) {
  StretchSpaceOptions o;
  o.min_ratio = 1.0;  // only (1, 1) branches, which take as long as the chain
  const auto space = prune_stretch_space(chain20(), fast_and_slow(), loopback(), o);
  EXPECT_EQ(space.rules[3].second, 0.0);
  EXPECT_TRUE(space.survivors.empty());
}

TEST(AStretchSpace, GivesTheSameCandidatesEveryTime) {
  const auto a = prune_stretch_space(chain20(), fast_and_slow(), loopback(), {});
  const auto b = prune_stretch_space(chain20(), fast_and_slow(), loopback(), {});
  ASSERT_EQ(a.survivors.size(), b.survivors.size());
  for (std::size_t i = 0; i < a.survivors.size(); ++i) {
    EXPECT_EQ(a.survivors[i].stretched.arch.name, b.survivors[i].stretched.arch.name);
    EXPECT_EQ(a.survivors[i].predicted_s, b.survivors[i].predicted_s);
  }
}

TEST(AStretchSpace, RefusesBadOptions) {
  for (auto bad : {StretchSpaceOptions{0, 0.7, 0.5, 0.25}, StretchSpaceOptions{0.2, 0, 0.5, 0.25},
                   StretchSpaceOptions{0.2, 1.5, 0.5, 0.25}, StretchSpaceOptions{0.2, 0.7, 0, 0.25},
                   StretchSpaceOptions{0.2, 0.7, 0.5, 0}})
    EXPECT_THROW(prune_stretch_space(chain20(), fast_and_slow(), loopback(), bad), InvalidArgument);
}

}  // namespace
}  // namespace concnas::search
