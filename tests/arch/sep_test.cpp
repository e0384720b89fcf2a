// Separable networks (arch/sep.h): G chains exchanging a share of their channels along a
// communication policy.
#include "concnas/arch/sep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "concnas/arch/baselines.h"
#include "concnas/arch/families.h"
#include "concnas/common/error.h"
#include "concnas/deploy/plan.h"
#include "support/expect_error.h"

namespace concnas::arch {
namespace {

NetworkOptions small_network() {
  NetworkOptions n;
  n.input = {1, 12, 12};
  n.stem_channels = 8;
  n.channel_limit = 32;
  n.min_resolution = 3;
  return n;
}

Architecture sep(const SepOptions& o) { return sep_architecture(o, StagingOptions{}, small_network(), 1); }

// The edges between groups: (from, to) pairs of compute vertices in different groups.
std::vector<std::pair<int, int>> exchanges(const Architecture& a, int depth) {
  std::vector<std::pair<int, int>> out;
  for (int v = 0; v < a.dag.num_compute(); ++v)
    for (int p : a.vertices[v].inputs)
      if (p < a.dag.num_compute() && p / depth != v / depth) out.push_back({p, v});
  return out;
}

TEST(APermutationIndex, CountsThePermutationsInLexicographicOrder) {
  EXPECT_EQ(nth_permutation(4, 0), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(nth_permutation(4, 1), (std::vector<int>{0, 1, 3, 2}));
  EXPECT_EQ(nth_permutation(4, 10), (std::vector<int>{1, 3, 0, 2}));
  EXPECT_EQ(nth_permutation(4, 23), (std::vector<int>{3, 2, 1, 0}));
  std::set<std::vector<int>> all;
  for (int i = 0; i < 24; ++i) all.insert(nth_permutation(4, i));
  EXPECT_EQ(all.size(), 24u);
  EXPECT_THROW(nth_permutation(4, 24), InvalidArgument);
  EXPECT_THROW(nth_permutation(4, -1), InvalidArgument);
}

TEST(ASeparableNetwork, WithoutAPolicyIsGIndependentChains) {
  SepOptions o;
  const auto a = sep(o);
  ASSERT_EQ(a.dag.num_compute(), 32);
  EXPECT_TRUE(exchanges(a, 8).empty());
  EXPECT_EQ(a.output.merge, Merge::kConcat);
  const auto chain = chain_architecture(8, StagingOptions{}, small_network(), 1);
  for (int g = 0; g < 4; ++g)
    for (int i = 0; i < 8; ++i) EXPECT_EQ(a.vertices[g * 8 + i].staged, chain.vertices[i].staged);
  EXPECT_EQ(a.name, "sep-g4-d8-a2-none-s1");
}

// Before blocks 2, 4 and 6, group g's previous block feeds group pi_s(g)'s block.
TEST(ASeparableNetwork, SendsAlongEachStepsPermutation) {
  SepOptions o;
  o.permutations = {10, 0, 23};
  o.share = 0.25;
  o.fp16 = true;
  const auto a = sep(o);
  std::vector<std::pair<int, int>> expected;
  for (int g = 0; g < 4; ++g) expected.push_back({g * 8 + 1, nth_permutation(4, 10)[g] * 8 + 2});
  for (int g = 0; g < 4; ++g) expected.push_back({g * 8 + 5, (3 - g) * 8 + 6});
  auto got = exchanges(a, 8);
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, expected);
  for (const auto& [from, to] : got) {
    const auto& v = a.vertices[to];
    const auto at = std::find(v.inputs.begin(), v.inputs.end(), from) - v.inputs.begin();
    EXPECT_EQ(v.edges.at(at).share, 0.25);
    EXPECT_EQ(v.edges.at(at).dtype, Dtype::kFp16);
  }
  EXPECT_EQ(a.name, "sep-g4-d8-a2-p13258-x0.25-fp16-s1");  // 10 + 0 * 24 + 23 * 576
}

// Full exchange sends every group's tensor to every other group, and the plan of one group
// per unit carries exactly the exchanged share in fp16.
TEST(ASeparableNetwork, ExchangesFullyAndThePlanSendsOnlyTheShare) {
  SepOptions o;
  o.full = true;
  o.share = 0.5;
  o.fp16 = true;
  const auto a = sep(o);
  EXPECT_EQ(exchanges(a, 8).size(), 3u * 4 * 3);
  std::vector<int> parts(a.dag.num_vertices(), 0);
  for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = v / 8;
  const auto plan = deploy::make_plan(a, parts, 4);
  int exchanged = 0;
  for (const auto& t : plan.transfers) {
    if (t.vertex == a.dag.output() || t.vertex == a.dag.input()) continue;  // partial sums, the stem
    ++exchanged;
    const auto& out = a.vertices[t.vertex].out;
    EXPECT_EQ(t.shape.channels, carried_channels(out.channels, 0.5)) << t.vertex;
    EXPECT_TRUE(t.half) << t.vertex;
    EXPECT_EQ(t.bytes, 2 * t.shape.elements()) << t.vertex;
    EXPECT_EQ(t.to.size(), 3u) << t.vertex;
  }
  EXPECT_EQ(exchanged, 3 * 4);
}

TEST(SepOptionsFromParameters, ReadThePolicyAsOneNumberInBaseGFactorial) {
  const auto o = sep_options({{"groups", 4}, {"depth", 8}, {"alpha", 2}, {"policy", 10 + 3 * 24 + 2 * 576}}, 0);
  EXPECT_EQ(o.permutations, (std::vector<int>{10, 3, 2}));
  EXPECT_FALSE(o.full);
  EXPECT_TRUE(sep_options({{"policy", -1}}, 32).full);
  EXPECT_EQ(sep_options({}, 32).depth, 8);
  EXPECT_EQ(sep_options({{"groups", 2}, {"depth", 5}, {"alpha", 1}}, 0).steps(), 4);
}

TEST(SepOptionsFromParameters, RejectBadValuesNamingThem) {
  using concnas::testing::expect_error_containing;
  expect_error_containing<InvalidArgument>([] { sep_options({{"colour", 1}}, 32); }, "unknown parameter 'colour'");
  expect_error_containing<InvalidArgument>([] { sep_options({{"policy", 13824}}, 32); },
                                           "policy 13824 must be -1 (full exchange) or a whole number in [0, 13824)");
  expect_error_containing<InvalidArgument>([] { sep_options({{"policy", 0.5}}, 32); }, "policy 0.5");
  expect_error_containing<InvalidArgument>([] { sep_options({{"fp16", 2}}, 32); }, "fp16 must be 0 or 1");
  expect_error_containing<InvalidArgument>([] { sep_options({{"share", 0}}, 32); }, "share 0 must lie in (0, 1]");
  expect_error_containing<InvalidArgument>([] { sep_options({{"alpha", 9}}, 32); }, "alpha 9 outside 1..depth (8)");
  expect_error_containing<InvalidArgument>([] { sep_options({{"groups", 9}}, 36); }, "groups 9 outside 1..8");
  expect_error_containing<InvalidArgument>([] { sep_options({{"depth", 8}}, 30); }, "not the 30 asked for");
  expect_error_containing<InvalidArgument>([] { sep_options({}, 30); }, "do not split into 4 groups");
}

TEST(ASeparableNetwork, IsGeneratedByNameAndReproducible) {
  GenerateOptions o;
  o.generator = "sep";
  o.params = {{"groups", 2}, {"depth", 6}, {"alpha", 3}, {"policy", 1}};
  o.nodes = 12;
  o.network = small_network();
  o.seed = 4;
  const auto a = generate_architecture(o, graph::builtin_generators(), builtin_staging_policies());
  EXPECT_EQ(a, generate_architecture(o, graph::builtin_generators(), builtin_staging_policies()));
  EXPECT_EQ(a.provenance.generator, "sep");
  EXPECT_EQ(exchanges(a, 6), (std::vector<std::pair<int, int>>{{8, 3}, {2, 9}}));
}

// A policy's edges and the ones it leaves out make full exchange; random policies are
// drawn from the generator alone.
TEST(ASeparablePolicy, LeavesOutTheRestOfFullExchangeAndIsDrawnReproducibly) {
  SepOptions full;
  full.full = true;
  Rng a(5), b(5);
  std::set<std::vector<int>> drawn;
  for (int i = 0; i < 20; ++i) {
    const auto p = random_policy(full, a);
    EXPECT_EQ(p.permutations, random_policy(full, b).permutations);
    EXPECT_FALSE(p.full);
    ASSERT_EQ(p.permutations.size(), 3u);
    drawn.insert(p.permutations);
    auto both = exchange_arcs(p);
    for (const auto& e : edges_left_out(p)) both.push_back(e);
    std::sort(both.begin(), both.end());
    auto all = exchange_arcs(full);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(both, all);
  }
  EXPECT_GT(drawn.size(), 15u);
  SepOptions none;
  EXPECT_EQ(edges_left_out(none).size(), exchange_arcs(full).size());
  EXPECT_TRUE(edges_left_out(full).empty());
}

TEST(AFamilyPlacement, PutsGroupKOnUnitKAndRefusesOtherCounts) {
  GenerateOptions o;
  o.generator = "sep";
  o.params = {{"groups", 2}, {"depth", 3}, {"alpha", 1}, {"policy", -1}};
  o.nodes = 6;
  o.network = small_network();
  const auto a = generate_architecture(o, graph::builtin_generators(), builtin_staging_policies());
  EXPECT_EQ(family_parts(a, 2), (std::vector<int>{0, 0, 0, 1, 1, 1, 0, 0}));
  concnas::testing::expect_error_containing<InvalidArgument>([&] { family_parts(a, 3); },
                                                             "has 2 groups, one per unit: give --units 2");
  o.generator = "ws";
  o.params = {};
  const auto ws = generate_architecture(o, graph::builtin_generators(), builtin_staging_policies());
  concnas::testing::expect_error_containing<InvalidArgument>([&] { family_parts(ws, 2); },
                                                             "not generated as an lcp or sep network");
}

}  // namespace
}  // namespace concnas::arch
