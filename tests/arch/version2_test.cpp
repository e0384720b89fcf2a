// Architecture format version 2: per-vertex widths and merges, per-edge shares and dtypes.
#include <gtest/gtest.h>

#include <regex>

#include "concnas/arch/baselines.h"
#include "concnas/arch/cost.h"
#include "concnas/arch/lcp.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/partition/hypergraph.h"
#include "support/expect_error.h"
#include "support/version2_network.h"

namespace concnas::arch {
namespace {

Architecture dp(int nodes = 24, std::uint64_t seed = 5) {
  GenerateOptions o;
  o.generator = "dp";
  o.nodes = nodes;
  o.seed = seed;
  o.network.input = {1, 12, 12};
  o.network.stem_channels = 4;
  o.network.channel_limit = 16;
  o.network.min_resolution = 3;
  return generate_architecture(o, graph::builtin_generators(), builtin_staging_policies());
}

// Two vertices in a path: 0 -> 1, stem 8 channels on 4x4 images, nothing staged.
Architecture pair(const Design& design) {
  NetworkOptions n;
  n.input = {1, 4, 4};
  n.stem_channels = 8;
  n.channel_limit = 8;
  return rebuild_architecture(graph::Dag::from_compute_edges(2, {{0, 1}}), n, {false, false}, design);
}

TEST(AVersion2Design, CarriesTheShareOfChannelsInItsDtype) {
  Design d(3);
  d[1].edges[0] = {0.3, Dtype::kFp16};  // ceil(0.3 * 8) = 3 channels
  d[1].width = 2;
  const auto a = pair(d);
  EXPECT_EQ(a.vertices[1].in, (Shape{3, 4, 4}));
  EXPECT_EQ(a.vertices[1].out, (Shape{16, 4, 4}));
  EXPECT_EQ(carried_channels(30, 0.1), 3) << "0.1 * 30 is 3.0000000000000004 in binary";
  EXPECT_EQ(carried_channels(30, 0.11), 4);
  EXPECT_EQ(carried_channels(5, 0.01), 1);
  const auto cost = compute_cost(a);
  EXPECT_EQ(cost.vertices[0].output_bytes, 3 * 16 * 2);
  EXPECT_EQ(cost.vertices[0].output_elements, 3 * 16);
  const auto hg = partition::build_hypergraph(a, cost);
  for (const auto& net : hg.nets) {
    if (net.driver == 0) {
      EXPECT_EQ(net.cost, 3 * 16 * 2);
    }
  }
  // Vertex 1: depthwise on 3 channels, pointwise 3 -> 16, batch norm of 16.
  EXPECT_EQ(cost.vertices[1].params, 9 * 3 + 3 * 16 + 2 * 16);
}

TEST(AVersion2Design, ConcatenatesInputsOfOneResolutionWithoutWeights) {
  NetworkOptions n;
  n.input = {1, 4, 4};
  n.stem_channels = 4;
  n.channel_limit = 4;
  Design d(4);
  d[2].merge = Merge::kConcat;
  d[0].channels = 3;
  d[2].edges[1] = {0.5, Dtype::kFp32};
  const auto a = rebuild_architecture(graph::Dag::from_compute_edges(3, {{0, 2}, {1, 2}}), n, {false, false, false}, d);
  EXPECT_EQ(a.vertices[2].in, (Shape{3 + 2, 4, 4}));
  EXPECT_TRUE(a.vertices[2].scaling.empty());
  const auto cost = compute_cost(a);
  EXPECT_EQ(cost.vertices[2].params, 9 * 5 + 5 * 4 + 2 * 4) << "no aggregation weights for a concatenation";
}

// 4 channels on 8x8 images, room to stage twice.
NetworkOptions stageable_8x8() {
  NetworkOptions n;
  n.input = {1, 8, 8};
  n.stem_channels = 4;
  n.channel_limit = 16;
  n.min_resolution = 2;
  return n;
}

TEST(AVersion2Design, RefusesAConcatOfTwoResolutionsAndSharesOutsideTheUnitInterval) {
  const NetworkOptions n = stageable_8x8();
  const auto dag = graph::Dag::from_compute_edges(3, {{0, 1}, {0, 2}, {1, 2}});
  Design d(4);
  d[2].merge = Merge::kConcat;
  testing::expect_error_containing<InvalidArgument>(
      [&] { rebuild_architecture(dag, n, {false, true, false}, d); }, "concat needs inputs of one resolution");
  Design bad(4);
  bad[1].edges[0] = {0.0, Dtype::kFp32};
  testing::expect_error_containing<InvalidArgument>([&] { rebuild_architecture(dag, n, {false, false, false}, bad); },
                                                    "shares lie in (0, 1]");
  Design stranger(4);
  stranger[1].edges[2] = {0.5, Dtype::kFp32};
  testing::expect_error_containing<InvalidArgument>(
      [&] { rebuild_architecture(dag, n, {false, false, false}, stranger); }, "not an input");
}

TEST(AVersion2File, LoadsBackIdenticallyAndVersion1StaysVersion1) {
  const auto v1 = dp();
  const auto v1_text = config::architecture_to_yaml(v1);
  EXPECT_NE(v1_text.find("version: 1\n"), std::string::npos);
  EXPECT_FALSE(v1.needs_version2());
  const auto a = testing::with_version2_design(v1);
  ASSERT_TRUE(a.needs_version2());
  const auto text = config::architecture_to_yaml(a);
  EXPECT_NE(text.find("version: 2\n"), std::string::npos);
  EXPECT_NE(text.find("merge: concat"), std::string::npos);
  EXPECT_NE(text.find("dtype: fp16"), std::string::npos);
  const auto b = config::architecture_from_yaml(text, "a.yaml");
  EXPECT_EQ(a, b);
  EXPECT_EQ(config::architecture_to_yaml(b), text);
  EXPECT_EQ(a.vertices, b.vertices);
}

int line_of(const std::string& text, const std::string& needle) {
  const auto pos = text.find(needle);
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

void expect_error(const std::string& text, int line, const std::string& fragment) {
  testing::expect_parse_error_at([&] { config::architecture_from_yaml(text, "a.yaml"); }, line, fragment);
}

TEST(AVersion2File, NamesTheLineAndKeyOfABadShareMergeOrConcat) {
  const auto text = config::architecture_to_yaml(testing::with_version2_design(dp()));
  const std::string share = "share: 0.5";
  expect_error(std::regex_replace(text, std::regex(share), "share: 1.5", std::regex_constants::format_first_only),
               line_of(text, share), "'vertex 0.edges[].share' must lie in (0, 1], got 1.5");
  expect_error(std::regex_replace(text, std::regex("merge: concat"), "merge: mean", std::regex_constants::format_first_only),
               line_of(text, "merge: concat"), "unknown merge 'mean'");
  expect_error(std::regex_replace(text, std::regex("version: 2"), "version: 1"), line_of(text, "  - {id: 0, "),
               "'vertices[].width' needs 'version: 2'");
  // A concatenating vertex whose inputs differ in resolution: vertex 1 of a staged pair.
  const auto path = dp(24, 5);
  std::string edited = config::architecture_to_yaml(path);
  edited = std::regex_replace(edited, std::regex("version: 1"), "version: 2");
  int target = -1;
  for (const auto& v : path.vertices)
    if (v.inputs.size() > 1 && !testing::one_resolution(path, v)) target = v.id;
  ASSERT_GE(target, 0) << "the sample has no vertex with inputs of two resolutions";
  const std::string entry = "  - {id: " + std::to_string(target) + ", ";
  const auto at = edited.find("staged: ", edited.find(entry));
  edited.insert(edited.find(',', at), ", merge: concat");
  expect_error(edited, line_of(edited, entry), "concat needs inputs of one resolution");
}

TEST(AVersion2File, NamesTheOutputEntryForAnOutputConcatOfTwoResolutions) {
  // Two sinks at different resolutions: 0 staged, 1 not.
  const NetworkOptions n = stageable_8x8();
  auto a = rebuild_architecture(graph::Dag::from_compute_edges(2, {}), n, {true, false});
  std::string text = config::architecture_to_yaml(a);
  text = std::regex_replace(text, std::regex("version: 1"), "version: 2");
  text = std::regex_replace(text, std::regex("output: \\{inputs: \\[0, 1\\]"), "output: {inputs: [0, 1], merge: concat");
  expect_error(text, line_of(text, "output:"), "the output vertex: concat needs inputs of one resolution");
}

TEST(AnLcpNetwork, IsKChainsStagedLikeTheChainWithAConcatenatingOutput) {
  NetworkOptions n;
  n.stem_channels = 16;
  n.channel_limit = 96;
  StagingOptions staging;
  for (int k : {2, 4}) {
    const auto a = lcp_architecture({k, 10, 1.0}, staging, n, 3);
    ASSERT_EQ(a.dag.num_compute(), 10 * k);
    const auto chain = chain_architecture(10, staging, n, 3);
    GenerateOptions o;
    o.generator = "lcp";
    o.params = {{"branches", k}, {"width", 1}};
    o.nodes = 10 * k;
    o.network = n;
    o.seed = 3;
    EXPECT_EQ(generate_architecture(o, graph::builtin_generators(), builtin_staging_policies()), a);
    int out_channels = 0;
    for (int b = 0; b < k; ++b)
      for (int i = 0; i < 10; ++i) {
        const auto& v = a.vertices[b * 10 + i];
        EXPECT_EQ(v.staged, chain.vertices[i].staged);
        EXPECT_EQ(v.out.height, chain.vertices[i].out.height);
        EXPECT_EQ(v.out.channels, std::lround(chain.vertices[i].out.channels / static_cast<double>(k)));
        EXPECT_EQ(v.inputs, i == 0 ? std::vector<int>{a.dag.input()} : std::vector<int>{b * 10 + i - 1});
        if (i == 9) out_channels += v.out.channels;
      }
    EXPECT_EQ(a.output.merge, Merge::kConcat);
    EXPECT_EQ(a.output.in.channels, out_channels);
  }
}

// Within 40% of chain / K: the stem, the head's bias and every branch's depthwise and batch
// norm weights (linear in the width) do not shrink by K.
TEST(AnLcpNetwork, HasAboutOneKthOfTheChainsParametersAtWidthOne) {
  NetworkOptions n;
  n.stem_channels = 16;
  n.channel_limit = 96;
  StagingOptions staging;
  const auto chain = compute_cost(lcp_architecture({1, 40, 1.0}, staging, n, 0)).total.params;
  for (int k : {2, 4}) {
    const auto lcp = compute_cost(lcp_architecture({k, 40, 1.0}, staging, n, 0)).total.params;
    EXPECT_GT(lcp, chain / k * 0.8) << k;
    EXPECT_LT(lcp, chain / k * 1.4) << k;
  }
}

TEST(AnLcpNetwork, RefusesUnknownParametersAndADepthThatDisagreesWithTheVertices) {
  testing::expect_error_containing<InvalidArgument>([] { lcp_options({{"k", 2}}, 40); }, "unknown parameter 'k'");
  testing::expect_error_containing<InvalidArgument>([] { lcp_options({{"branches", 3}}, 40); },
                                                    "do not split into 3 branches");
  testing::expect_error_containing<InvalidArgument>([] { lcp_options({{"depth", 30}}, 40); },
                                                    "2 branches of depth 30 are 60 vertices");
  testing::expect_error_containing<InvalidArgument>([] { lcp_options({{"width", 0}}, 40); }, "width 0");
  const auto o = lcp_options({{"branches", 4}}, 40);
  EXPECT_EQ(o.depth, 10);
}

}  // namespace
}  // namespace concnas::arch
