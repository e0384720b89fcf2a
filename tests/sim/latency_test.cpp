#include "concnas/sim/latency.h"

#include <gtest/gtest.h>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/graph/generator.h"
#include "concnas/arch/staging.h"
#include "support/tiny_network.h"

namespace concnas::sim {
namespace {

// The tiny network (stem 5120 FLOPs; v0 2432, v1 7168, v2 6272; head 179) on two units of
// 1000 FLOP/s, a link of 1 s latency and 512 bytes/s: every step is worked out below.
TEST(ALatencySimulation, FollowsTheScheduleWorkedOutByHand) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  const std::vector<int> parts{1, 0, 1, 0, 0};  // v0, v2 on unit 1; the rest on unit 0
  LinkModel link;
  link.latency_s = 1.0;
  link.bandwidth_bytes_per_s = 512;
  const auto r = simulate(a, cost, parts, DeviceModel::uniform(2, 1000), link);
  // stem on unit 0: 0 -> 5.12. v1 on unit 0: 5.12 -> 12.288.
  // v0 on unit 1: the images' 256 bytes, sent as the inference starts, arrive at 0 + 1 +
  // 0.5 = 1.5; unit 1 runs the stem on them and v0: 1.5 -> 9.052.
  // v2 on unit 1: v1's 1024 bytes arrive at 12.288 + 3 = 15.288; runs to 21.56.
  // output + head on unit 0: v2 (8 x 4 x 4) pooled over its plane, 8 floats = 32 bytes,
  // arrives at 21.56 + 1 + 0.0625 = 22.6225; head to 22.8015.
  EXPECT_NEAR(r.latency_s, 22.8015, 1e-9);
  EXPECT_NEAR(r.single_device_s, 21.171, 1e-9);
  EXPECT_NEAR(r.speedup, 21.171 / 22.8015, 1e-9);
  EXPECT_NEAR(r.lower_bound_s, 5.12 + 7.168 + 6.272 + 0.179, 1e-9);  // critical path
  EXPECT_EQ(r.comm_bytes, 256 + 1024 + 32);
  EXPECT_NEAR(r.busy_s[0], 5.12 + 7.168 + 0.179, 1e-9);
  EXPECT_NEAR(r.busy_s[1], 5.12 + 2.432 + 6.272, 1e-9);
}

// 1 s of latency, 0.5 s to post a tensor, bytes free: with FLOPs made free too (1e30
// FLOP/s) and 1 s per layer call, schedules are easy to work out by hand.
LinkModel hand_link() {
  LinkModel link;
  link.latency_s = 1.0;
  link.bandwidth_bytes_per_s = 1e30;
  link.send_overhead_s = 0.5;
  return link;
}

// One unit of two cores, FLOPs free, 1 s a call: v0 and v1 (both fed by the stem) run
// side by side, as concnas's engine runs them.
TEST(ALatencySimulation, RunsIndependentVerticesOnADevicesCoresAtOnce) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  const std::vector<int> parts(a.dag.num_vertices(), 0);
  auto two = DeviceModel::uniform(1, 1e30, 1.0);
  two.cores = {2};
  // stem 0 -> 1; v0 and v1 1 -> 2 on a core each; v2 (2 calls) 2 -> 4; head 4 -> 5.
  const auto r = simulate(a, cost, parts, two, hand_link());
  EXPECT_NEAR(r.latency_s, 5.0, 1e-9);
  EXPECT_NEAR(r.single_device_s, 5.0, 1e-9);  // the whole network on unit 0, its two cores
  EXPECT_NEAR(r.busy_s[0], 6.0, 1e-9);        // work is the same on one core or two
  const auto one = simulate(a, cost, parts, DeviceModel::uniform(1, 1e30, 1.0), hand_link());
  EXPECT_NEAR(one.latency_s, 6.0, 1e-9);
  two.cores = {0};
  EXPECT_THROW(simulate(a, cost, parts, two, hand_link()), InvalidArgument);
}

TEST(APriorityOrder, FallsAlongEveryEdgeSoItIsATopologicalOrder) {
  const auto a = concnas::testing::small_dp();
  const auto rank = remaining_path_flops(a, arch::compute_cost(a));
  for (int v = 0; v < a.dag.num_vertices(); ++v)
    for (int s : a.dag.successors(v)) EXPECT_GT(rank[v], rank[s]) << v << " -> " << s;
  const auto order = priority_order(a, rank);
  EXPECT_EQ(static_cast<int>(order.size()), a.dag.num_vertices() - 1);  // all but the output
  EXPECT_EQ(order.front(), a.dag.input());
  std::vector<int> at(a.dag.num_vertices(), -1);
  for (std::size_t i = 0; i < order.size(); ++i) at[order[i]] = static_cast<int>(i);
  for (int v : order)
    for (int s : a.dag.successors(v))
      if (s != a.dag.output()) {
        EXPECT_LT(at[v], at[s]);
      }
}

// The same split with FLOPs made free. Calls: stem 1, v0 1, v1 1, v2 2 (its scaling block), head 1.
TEST(ALatencySimulation, ChargesLayerCallsAndSendsAsWorkedOutByHand) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  const auto r = simulate(a, cost, {1, 0, 1, 0, 0}, DeviceModel::uniform(2, 1e30, 1.0), hand_link());
  // unit 0: stem 0 -> 1, posts the images to unit 1 until 1.5; v1 1.5 -> 2.5, posts it
  // until 3. unit 1: the images arrive at 0 + 1; its own stem and v0 1 -> 3; v2 needs v1
  // (3 + 1 = 4): 4 -> 6, posts it until 6.5.
  // unit 0: v2 arrives at 7.5, head to 8.5.
  EXPECT_NEAR(r.latency_s, 8.5, 1e-9);
  EXPECT_NEAR(r.single_device_s, 6.0, 1e-9);
  EXPECT_NEAR(r.busy_s[0], 1 + 0.5 + 1 + 0.5 + 1, 1e-9);
  EXPECT_NEAR(r.busy_s[1], 1 + 1 + 2 + 0.5, 1e-9);
  EXPECT_NEAR(r.lower_bound_s, 5.0, 1e-9);  // stem, v1, v2 (2 calls), head
  EXPECT_EQ(layer_calls(a, a.dag.input()), 1);
  EXPECT_EQ(layer_calls(a, 2), 2);
  EXPECT_EQ(layer_calls(a, a.dag.output()), 1);
}

// Two sinks on unit 1 (v0 -> v1, v0 -> v2; no staging, every tensor 4x8x8 = 1024 bytes)
// travel as one partial sum: unit 0: stem 0 -> 1, v0 1 -> 2, posts it until 2.5; unit 1:
// v1 3.5 -> 4.5, v2 -> 5.5, posts the partial sum until 6; unit 0: head 7 -> 8.
TEST(ALatencySimulation, SendsOnePartialSumOfAUnitsSinks) {
  auto a = arch::rebuild_architecture(graph::Dag::from_compute_edges(3, {{0, 1}, {0, 2}}),
                                      concnas::testing::tiny_network_options(), {false, false, false});
  const auto cost = arch::compute_cost(a);
  const auto r = simulate(a, cost, {0, 1, 1, 0, 0}, DeviceModel::uniform(2, 1e30, 1.0), hand_link());
  EXPECT_NEAR(r.latency_s, 8.0, 1e-9);
  // v0, and one partial sum pooled over the plane (4 floats) instead of v1 and v2
  EXPECT_EQ(r.comm_bytes, 1024 + 4 * 4);
  EXPECT_NEAR(r.busy_s[1], 1 + 1 + 0.5, 1e-9);
}

// No schedule beats the bound: random DP architectures (several sinks, scaling blocks at
// the output) on random partitions, with and without overheads, on equal and unequal units.
TEST(ALatencySimulation, NeverBeatsItsLowerBound) {
  int checked = 0;
  for (std::uint64_t seed = 0; seed < 12; ++seed) {
    arch::GenerateOptions o;
    o.generator = "dp";
    o.nodes = 24;
    o.seed = seed;
    o.network = concnas::testing::tiny_network_options();
    o.network.input = {1, 16, 16};
    const auto a = arch::generate_architecture(o, graph::builtin_generators(), arch::builtin_staging_policies());
    const auto cost = arch::compute_cost(a);
    Rng rng(seed);
    for (int units : {2, 3}) {
      std::vector<int> parts(a.dag.num_vertices(), 0);
      for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = static_cast<int>(rng.below(units));
      for (double overhead : {0.0, 1e-4}) {
        DeviceModel d = DeviceModel::uniform(units, 1e8, overhead);
        d.flops_per_s[1] = 1e7;  // one slow unit
        LinkModel link;
        link.send_overhead_s = overhead / 2;
        const auto r = simulate(a, cost, parts, d, link);
        EXPECT_GE(r.latency_s * (1 + 1e-12), r.lower_bound_s) << "seed " << seed << ", " << units << " units";
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 48);
}

TEST(ALatencySimulation, OnOneUnitIsTheSingleDeviceTime) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  const auto r = simulate(a, cost, std::vector<int>(5, 0), DeviceModel::uniform(1, 1000), LinkModel{});
  EXPECT_NEAR(r.latency_s, r.single_device_s, 1e-12);
  EXPECT_NEAR(r.speedup, 1.0, 1e-12);
  EXPECT_EQ(r.comm_bytes, 0);
}

TEST(ALatencySimulation, UsesEachUnitsOwnSpeed) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  DeviceModel d;
  d.flops_per_s = {1000, 4000};
  LinkModel link;
  link.latency_s = 0;
  link.bandwidth_bytes_per_s = 1e12;
  const auto r = simulate(a, cost, {1, 0, 1, 0, 0}, d, link);
  EXPECT_NEAR(r.busy_s[1], (5120 + 2432 + 6272) / 4000.0, 1e-12);  // its own stem, v0, v2
  // Never faster than the bound.
  EXPECT_GE(r.latency_s + 1e-12, r.lower_bound_s);
}

TEST(ALatencySimulation, RejectsBadModels) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  LinkModel bad;
  bad.bandwidth_bytes_per_s = 0;
  EXPECT_THROW(simulate(a, cost, std::vector<int>(5, 0), DeviceModel::uniform(1, 1), bad),
               InvalidArgument);
  EXPECT_THROW(simulate(a, cost, std::vector<int>(5, 0), DeviceModel::uniform(1, -1), LinkModel{}),
               InvalidArgument);
  EXPECT_THROW(simulate(a, cost, {0, 1, 2, 0, 0}, DeviceModel::uniform(2, 1), LinkModel{}),
               InvalidArgument);
  EXPECT_THROW(simulate(a, cost, std::vector<int>(5, 0), DeviceModel::uniform(1, 1, -1), LinkModel{}),
               InvalidArgument);
  LinkModel slow_post;
  slow_post.send_overhead_s = -1;
  EXPECT_THROW(simulate(a, cost, std::vector<int>(5, 0), DeviceModel::uniform(1, 1), slow_post), InvalidArgument);
  DeviceModel mismatched = DeviceModel::uniform(2, 1);
  mismatched.layer_overhead_s = {0.1};
  EXPECT_THROW(simulate(a, cost, {0, 0, 0, 0, 0}, mismatched, LinkModel{}), InvalidArgument);
}

}  // namespace
}  // namespace concnas::sim
