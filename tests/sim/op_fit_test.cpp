#include "concnas/sim/op_fit.h"

#include <gtest/gtest.h>

#include <cmath>

#include "concnas/arch/architecture.h"
#include "concnas/arch/baselines.h"
#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/graph/generator.h"
#include "concnas/arch/staging.h"

namespace concnas::sim {
namespace {

arch::Architecture dp_network(std::uint64_t seed) {
  arch::GenerateOptions o;
  o.nodes = 30;
  o.seed = seed;
  return arch::generate_architecture(o, graph::builtin_generators(), arch::builtin_staging_policies());
}

OpCosts known_prices() {
  OpCosts o;
  o.step_s = 2e-6;
  o.summed_s = 2e-10;
  o.gemm_flop_s = 1.5e-11;
  o.pooled_s = 7e-10;
  o.scaling_s = 1e-6;
  o.stem_flop_s = 3e-11;
  return o;
}

TEST(AnOpFit, RecoversThePricesOfExactTimings) {
  const auto truth = known_prices();
  std::vector<TimedWork> samples;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto a = dp_network(seed);
    samples.push_back({stem_work(a), seconds_of(truth, stem_work(a))});
    for (int v = 0; v < a.dag.num_compute(); ++v) samples.push_back({vertex_work(a, v), seconds_of(truth, vertex_work(a, v))});
  }
  const auto fitted = fit_op_costs(samples);
  for (double e : relative_errors(fitted, samples)) EXPECT_NEAR(e, 0.0, 1e-6);
  EXPECT_NEAR(fitted.step_s, truth.step_s, 1e-9);
  EXPECT_NEAR(fitted.gemm_flop_s / truth.gemm_flop_s, 1.0, 1e-4);
}

TEST(AnOpFit, NeverGivesANegativePriceAndRefusesNoSamples) {
  const auto a = dp_network(4);
  std::vector<TimedWork> samples;
  Rng rng(9);
  for (int v = 0; v < a.dag.num_compute(); ++v)
    samples.push_back({vertex_work(a, v), 1e-6 * (1 + rng.uniform())});  // noise only
  const auto f = fit_op_costs(samples);
  for (double p : {f.step_s, f.summed_s, f.tap_s, f.gemm_flop_s, f.pooled_s, f.scaling_s, f.stem_flop_s})
    EXPECT_GE(p, 0.0);
  EXPECT_THROW(fit_op_costs({}), InvalidArgument);
}

TEST(APricedDevice, RunsOneCoreAsTheSumOfItsStepsAndUsesItsCores) {
  const auto a = dp_network(5);
  const auto cost = arch::compute_cost(a);
  DeviceModel d = DeviceModel::uniform(1, 1e10);
  d.ops = {known_prices()};
  d.ops[0].inference_s = 1e-5;
  const std::vector<int> one(a.dag.num_vertices(), 0);
  // Unit 0's partial sum and the head's classifier are in inference_s, as calibrated.
  double sum = seconds_of(d.ops[0], stem_work(a)) + seconds_of(d.ops[0], head_work(a, 1)) + 1e-5;
  for (int v = 0; v < a.dag.num_compute(); ++v) sum += seconds_of(d.ops[0], vertex_work(a, v));
  for (int s : a.output.inputs) sum += seconds_of(d.ops[0], sink_work(a, s));
  const auto r1 = simulate(a, cost, one, d, {});
  EXPECT_NEAR(r1.latency_s, sum, 1e-12);
  d.cores = {2};
  d.ops[0].parallel_slowdown = 1.5;
  const auto r2 = simulate(a, cost, one, d, {});
  EXPECT_LT(r2.latency_s, r1.latency_s * 1.5);
  EXPECT_GE(r2.latency_s * (1 + 1e-12), r2.lower_bound_s);
}

TEST(ScaledPrices, ScaleEveryStepPriceButNotTheInferenceOrTheSlowdown) {
  auto ops = known_prices();
  ops.inference_s = 1e-5;
  ops.parallel_slowdown = 1.5;
  const auto twice = scaled_prices(ops, 2);
  const auto a = dp_network(5);
  EXPECT_NEAR(seconds_of(twice, vertex_work(a, 1)), 2 * seconds_of(ops, vertex_work(a, 1)), 1e-15);
  EXPECT_NEAR(seconds_of(twice, stem_work(a)), 2 * seconds_of(ops, stem_work(a)), 1e-15);
  EXPECT_EQ(twice.inference_s, 1e-5);
  EXPECT_EQ(twice.parallel_slowdown, 1.5);
}

// A unit other than 0 pools its own sinks before it sends them, priced there (unit 0's
// pooling, like the classifier, is in its inference_s). With only `summed_s` set, unit 1's
// busy time is its vertices' sums and its pooling, nothing else.
TEST(APricedDevice, PoolsAUnitsSinksOnThatUnit) {
  const auto a = dp_network(5);
  std::vector<int> parts(a.dag.num_vertices(), 0);
  for (int s : a.output.inputs) parts[s] = 1;  // every sink on unit 1
  DeviceModel d = DeviceModel::uniform(2, 1e10);
  OpCosts summed_only;
  summed_only.summed_s = 1e-9;
  d.ops = {summed_only, summed_only};
  const auto r = simulate(a, arch::compute_cost(a), parts, d, {});
  double expected = seconds_of(summed_only, partial_work(a, parts, 1));
  for (int v = 0; v < a.dag.num_compute(); ++v)
    if (parts[v] == 1) expected += seconds_of(summed_only, vertex_work(a, v));
  EXPECT_GT(partial_work(a, parts, 1).summed, 0.0);
  EXPECT_EQ(partial_work(a, parts, 0).summed, 0.0);
  EXPECT_NEAR(r.busy_s[1], expected, 1e-15);
}

// Chains of 6 unstaged vertices, 4, 16 and 48 channels wide (as `concnas calibrate` relays).
std::vector<arch::Architecture> relay_chains() {
  std::vector<arch::Architecture> chains;
  for (int channels : {4, 16, 48}) {
    arch::NetworkOptions n;
    n.stem_channels = n.channel_limit = channels;
    arch::StagingOptions flat;
    flat.policy = "uniform";
    chains.push_back(arch::chain_architecture(6, flat, n, 1));
  }
  return chains;
}

TEST(ALinkFit, FindsTheLinkThatMadeTheLatencies) {
  const auto a = dp_network(6);
  const auto cost = arch::compute_cost(a);
  DeviceModel d = DeviceModel::uniform(2, 1e10);
  d.ops = {known_prices(), known_prices()};
  LinkModel truth;
  truth.latency_s = 1e-4;
  truth.bandwidth_bytes_per_s = 1e9;
  truth.send_overhead_s = truth.receive_overhead_s = 1e-5;
  std::vector<LinkSample> samples;
  Rng rng(3);
  std::vector<std::vector<int>> partitions;
  for (int i = 0; i < 4; ++i) {
    std::vector<int> parts(a.dag.num_vertices(), 0);
    for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = static_cast<int>(rng.below(2));
    samples.push_back({&a, parts, simulate(a, cost, parts, d, truth).latency_s});
  }
  const auto fitted = fit_link(samples, d);
  for (const auto& s : samples)
    EXPECT_NEAR(simulate(a, cost, s.parts, d, fitted).latency_s / s.seconds, 1.0, 0.05);
}

// Chains that hand every tensor to the other unit, three widths: a bandwidth between two
// points of the coarse grid (1e8 and 3.2e8) is found to within 10%.
TEST(ALinkFit, SettlesTheBandwidthBetweenCoarseGridPoints) {
  DeviceModel d = DeviceModel::uniform(2, 1e10);
  d.ops = {known_prices(), known_prices()};
  LinkModel truth;
  truth.latency_s = 3e-5;
  truth.bandwidth_bytes_per_s = 2.2e8;
  truth.send_overhead_s = truth.receive_overhead_s = 2e-5;
  const auto chains = relay_chains();
  std::vector<LinkSample> samples;
  for (const auto& a : chains) {
    std::vector<int> parts(a.dag.num_vertices(), 0);
    for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = (v + 1) % 2;
    samples.push_back({&a, parts, simulate(a, arch::compute_cost(a), parts, d, truth).latency_s});
  }
  const auto fitted = fit_link(samples, d);
  EXPECT_NEAR(fitted.bandwidth_bytes_per_s / truth.bandwidth_bytes_per_s, 1.0, 0.1);
}

// A measured network's time on one unit is what the link's fit starts from: a devices
// model that prices every step 30% too cheaply still gives the link that made the times.
TEST(ALinkFit, KeepsTheDevicesPricingErrorOutOfTheLink) {
  DeviceModel priced = DeviceModel::uniform(2, 1e10);
  priced.ops = {known_prices(), known_prices()};
  DeviceModel real = priced;
  real.ops = {scaled_prices(known_prices(), 1.3), scaled_prices(known_prices(), 1.3)};
  LinkModel truth;
  truth.latency_s = 1e-4;
  truth.bandwidth_bytes_per_s = 1e9;
  const auto chains = relay_chains();
  std::vector<LinkSample> with_single, without;
  for (const auto& a : chains) {
    const auto cost = arch::compute_cost(a);
    std::vector<int> parts(a.dag.num_vertices(), 0);
    const double single = simulate(a, cost, parts, real, truth).latency_s;
    for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = (v + 1) % 2;
    const double seconds = simulate(a, cost, parts, real, truth).latency_s;
    with_single.push_back({&a, parts, seconds, single});
    without.push_back({&a, parts, seconds, 0});
  }
  auto message_s = [](const LinkModel& l) {  // one message of 100 KB
    return l.latency_s + l.send_overhead_s + l.receive_overhead_s + 1e5 / l.bandwidth_bytes_per_s;
  };
  const double with = message_s(fit_link(with_single, priced)) / message_s(truth);
  const double alone = message_s(fit_link(without, priced)) / message_s(truth);
  EXPECT_NEAR(with, 1.0, 0.01);
  // Without them the link takes in some of what the prices leave out (10% here).
  EXPECT_GT(std::abs(alone - 1), 0.05);
}

}  // namespace
}  // namespace concnas::sim
