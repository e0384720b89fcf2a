// Partitions for devices of different speeds: every unit's weight within epsilon times its
// share of the total, shares in proportion to the devices' speeds.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/graph/analysis.h"
#include "concnas/partition/metrics.h"
#include "concnas/partition/partitioner.h"
#include "concnas/partition/score.h"
#include "support/generated_hypergraph.h"
#include "support/tiny_network.h"

namespace concnas::partition {
namespace {

using concnas::testing::balanced;
using concnas::testing::generated;
using concnas::testing::hypergraph_of;

// The lowest Λ over every placement of the free vertices within each unit's cap, by
// enumeration (no symmetry assumed); -1 when none fits.
std::int64_t brute_force_optimum(const Hypergraph& hg, const PartitionOptions& o) {
  std::vector<int> parts(hg.num_vertices(), 0);
  std::vector<int> free;
  for (int v = 0; v < hg.num_vertices(); ++v) {
    if (hg.pinned[v] >= 0) parts[v] = hg.pinned[v];
    else free.push_back(v);
  }
  std::int64_t best = -1;
  for (;;) {
    if (balanced(hg, parts, o)) {
      const auto c = connectivity_cost(hg, parts, o.units);
      if (best < 0 || c < best) best = c;
    }
    std::size_t i = 0;  // next placement: count in base `units` over the free vertices
    while (i < free.size() && ++parts[free[i]] == o.units) parts[free[i++]] = 0;
    if (i == free.size()) return best;
  }
}

TEST(PartitionShares, AreCheckedAndNormalised) {
  PartitionOptions o;
  o.units = 3;
  EXPECT_DOUBLE_EQ(o.share_of(2), 1.0 / 3);
  EXPECT_TRUE(o.equal_shares());
  o.shares = {2, 1, 1};
  EXPECT_NO_THROW(o.sanity_check());
  EXPECT_DOUBLE_EQ(o.share_of(0), 0.5);
  EXPECT_DOUBLE_EQ(o.share_of(1), 0.25);
  EXPECT_FALSE(o.equal_shares());
  o.shares = {2, 1};
  EXPECT_THROW(o.sanity_check(), InvalidArgument);
  for (double bad : {0.0, -1.0, std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity()}) {
    o.shares = {1, bad, 1};
    EXPECT_THROW(o.sanity_check(), InvalidArgument) << bad;
  }
}

TEST(PartitionShares, LetExactFindTheOptimumWhenUnitsAreNotInterchangeable) {
  const auto registry = builtin_partitioners();
  const char* generators[] = {"er", "ba", "ws", "dp"};
  Rng rng(77);
  int compared = 0;
  for (int i = 0; i < 40; ++i) {
    const auto hg = hypergraph_of(generated(generators[i % 4], 5 + static_cast<int>(rng.below(4)), rng.next()));
    PartitionOptions o;
    o.units = 2 + i % 2;
    o.shares = o.units == 2 ? std::vector<double>{1, 3} : std::vector<double>{1, 3, 2};
    o.epsilon = 1.2;
    const auto best = brute_force_optimum(hg, o);
    if (best < 0) {
      EXPECT_THROW(registry.get("exact").partition(hg, o), InvalidArgument);
      continue;
    }
    ++compared;
    const auto exact = registry.get("exact").partition(hg, o);
    EXPECT_TRUE(balanced(hg, exact, o));
    EXPECT_EQ(connectivity_cost(hg, exact, o.units), best) << "instance " << i;
    const auto metis = registry.get("metis").partition(hg, o);
    if (balanced(hg, metis, o)) {
      EXPECT_GE(connectivity_cost(hg, metis, o.units), best);
    }
  }
  EXPECT_GE(compared, 20);
}

TEST(PartitionShares, GiveAFasterUnitMoreWorkUnderMetis) {
  const auto registry = builtin_partitioners();
  for (const auto& shares : {std::vector<double>{2, 1}, std::vector<double>{1, 3},
                             std::vector<double>{4, 2, 1, 1}}) {
    const auto hg = hypergraph_of(generated("dp", 60, 5));
    PartitionOptions o;
    o.units = static_cast<int>(shares.size());
    o.shares = shares;
    o.epsilon = 1.1;
    const auto parts = registry.get("metis").partition(hg, o);
    EXPECT_TRUE(balanced(hg, parts, o));
    // Each unit's time (weight / share) within the bound of the ideal; with equal shares
    // the same network puts far more than a share on the slow units.
    const auto w = part_weights(hg, parts, o.units);
    const double total = static_cast<double>(hg.total_weight());
    for (int u = 0; u < o.units; ++u)
      EXPECT_LE(static_cast<double>(w[u]) / (total * o.share_of(u)), 1.1 + 1e-9) << "unit " << u;
    PartitionOptions equal = o;
    equal.shares.clear();
    EXPECT_FALSE(balanced(hg, registry.get("metis").partition(hg, equal), o));
  }
}

TEST(PartitionShares, SendComponentsToTheUnitThatFinishesFirst) {
  // Eight equal chains of 3 on units of shares 3 and 1: six chains on unit 0, two on 1.
  const auto hg = hypergraph_of(concnas::testing::chains(std::vector<int>(8, 3)));
  PartitionOptions o;
  o.units = 2;
  o.shares = {3, 1};
  const auto parts = builtin_partitioners().get("components").partition(hg, o);
  EXPECT_EQ(std::count(parts.begin(), parts.begin() + 24, 1), 6);
  // A chain of 6 and one of 2, the fast unit second: the long chain goes to the fast unit
  // (6 / 3 against 6 / 1), though both units are empty then, and the short one to the slow.
  o.shares = {1, 3};
  const auto two = builtin_partitioners().get("components").partition(hypergraph_of(concnas::testing::chains({6, 2})), o);
  EXPECT_EQ(two, (std::vector<int>{1, 1, 1, 1, 1, 1, 0, 0, 0, 0}));
}

TEST(PartitionShares, MeasureImbalanceAgainstEachUnitsShare) {
  const auto a = concnas::testing::tiny_network();
  const auto hg = build_hypergraph(a, arch::compute_cost(a));
  const std::vector<int> parts{1, 0, 1, 0, 0};  // unit weights 7168 and 8704
  const auto m = evaluate_partition(hg, parts, 2, graph::longest_path(a.dag), {1, 3});
  // Unit 0 holds 7168 of 15872 where its share is a quarter: 7168 / 3968 = 1.806...
  EXPECT_DOUBLE_EQ(m.imbalance, 7168.0 / (15872.0 / 4));
  EXPECT_DOUBLE_EQ(m.cs, concurrency_score(m.imbalance, m.comm_norm, m.eta));
}

TEST(PartitionShares, FollowTheDevicesSpeedsWhenScoring) {
  sim::DeviceModel devices = sim::DeviceModel::uniform(2, 1e10);
  EXPECT_TRUE(unit_shares(devices).empty());
  devices.flops_per_s = {2e10, 1e10};
  devices.cores = {1, 3};
  EXPECT_EQ(unit_shares(devices), (std::vector<double>{2e10, 3e10}));
  ScoreOptions o;
  o.units = 2;
  o.epsilons = {1.1};
  o.devices.flops_per_s = {3e10, 1e10};
  const auto a = generated("dp", 60, 5);
  const auto s = score_architecture(a, o, builtin_partitioners());
  const auto& w = s.best().metrics.unit_weights;
  EXPECT_GT(w[0], 2 * w[1]);  // three quarters of the work, within the bound
  EXPECT_LE(s.best().metrics.imbalance, 1.1 + 1e-9);
}

}  // namespace
}  // namespace concnas::partition
