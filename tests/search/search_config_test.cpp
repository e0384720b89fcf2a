#include "concnas/search/search_config.h"

#include <gtest/gtest.h>

#include "concnas/common/error.h"
#include "support/expect_error.h"

namespace concnas::search {
namespace {

const char* kSmall = R"(search:
  candidates: 6
  rungs: [{train_subset: 100, epochs: 1}]
space:
  generators:
    ws: {k: {choices: [2, 4]}, p: [0.25, 0.75]}
    dp: {}
  nodes: [12, 16]
data:
  dataset: synthetic
  validation: 32
)";

TEST(ASearchConfig, ReadsTheQuickstartConfig) {
  const auto c = load_search_config(std::string(CONCNAS_SOURCE_DIR) + "/configs/quickstart.yaml");
  EXPECT_EQ(c.search.units, 4);
  EXPECT_EQ(c.space.generators.size(), 4u);
  EXPECT_EQ(c.search.rungs.size(), 3u);
  EXPECT_EQ(c.constraints.max_params, 500000);
  EXPECT_EQ(c.base.data.dataset, "fashion-mnist");
}

TEST(ASearchConfig, TakesRangesChoicesAndFixedValues) {
  const auto c = parse_search_config(kSmall, "s.yaml");
  ASSERT_EQ(c.space.generators.size(), 2u);
  const auto& ws = c.space.generators[0];
  EXPECT_EQ(ws.params.at("k").choices, (std::vector<double>{2, 4}));
  EXPECT_EQ(ws.params.at("p").lo, 0.25);
  EXPECT_EQ(ws.params.at("p").hi, 0.75);
  EXPECT_EQ(c.space.nodes, (std::vector<int>{12, 16}));
}

TEST(ASearchConfig, WritesEveryKeyAndReadsItBackUnchanged) {
  const auto c = parse_search_config(kSmall, "s.yaml", {"search.units=6", "train.epochs=2"});
  const std::string yaml = to_yaml(c);
  EXPECT_EQ(to_yaml(parse_search_config(yaml, "resolved.yaml")), yaml);
  EXPECT_NE(yaml.find("units: 6"), std::string::npos);
}

TEST(ASearchConfig, AppliesSetOverridesToEverySection) {
  const auto c = parse_search_config(kSmall, "s.yaml",
                                     {"search.candidates=9", "space.nodes=[20]", "constraints.max_params=1000",
                                      "data.validation=16", "space.generators.dp.p=0.5"});
  EXPECT_EQ(c.search.candidates, 9);
  EXPECT_EQ(c.space.nodes, std::vector<int>{20});
  EXPECT_EQ(c.constraints.max_params, 1000);
  EXPECT_EQ(c.base.data.validation, 16);
  EXPECT_EQ(c.space.generators[1].params.at("p").lo, 0.5);
}

TEST(ASearchConfig, NamesTheFileLineAndKeyOfABadValue) {
  testing::expect_parse_error_at([] { parse_search_config("search:\n  candidatez: 3\n", "s.yaml"); }, 2,
                                 "search.candidatez");
  testing::expect_parse_error_at([] { parse_search_config("search:\n  units: 1\n", "s.yaml"); }, 2,
                                 "search.units");
  testing::expect_parse_error_at([] { parse_search_config("search:\n  objective: speed\n", "s.yaml"); }, 2,
                                 "search.objective");
  testing::expect_parse_error_at([] { parse_search_config("arch:\n  nodes: 3\n", "s.yaml"); }, 1, "arch");
  testing::expect_parse_error_at([] { parse_search_config("space:\n  generators:\n    xx: {}\n", "s.yaml"); }, 3,
                                 "unknown generator 'xx'");
  // WS needs an even k: an integer range [2, 4] would draw k = 3 half-way through a search.
  testing::expect_parse_error_at(
      [] { parse_search_config("space:\n  nodes: [12]\n  generators:\n    ws: {k: [2, 4]}\n", "s.yaml"); }, 4,
      "space.generators.ws.k: k = 3");
  testing::expect_parse_error_at([] { parse_search_config("space:\n  baseline_nodes: 9\n", "s.yaml"); }, 2,
                                 "randwire");
  testing::expect_parse_error_at(
      [] { parse_search_config("space:\n  baseline_stem_channels: 16\n  baseline_channel_limit: 32\n", "s.yaml"); },
      3, "no room to stage twice");
  testing::expect_parse_error_at(
      [] { parse_search_config("space:\n  stem_channels: [16, 64]\n  channel_limit: [32, 64]\n", "s.yaml"); }, 3,
      "every combination");
  testing::expect_parse_error_at(
      [] { parse_search_config("data:\n  dataset: synthetic\n  validation: 600\n", "s.yaml"); }, 3,
      "synthetic training images");
  testing::expect_parse_error_at([] { parse_search_config("data:\n  validation: 0\n", "s.yaml"); }, 2,
                                 "data.validation");
  // Found by fuzzing: 500,000 vertices made the ER probe run for minutes.
  testing::expect_parse_error_at([] { parse_search_config("space:\n  nodes: 500000\n", "s.yaml"); }, 2,
                                 "space.nodes");
  testing::expect_parse_error_at([] { parse_search_config("space:\n  baseline_nodes: 2001\n", "s.yaml"); }, 2,
                                 "space.baseline_nodes");
}

TEST(ASearchConfig, RejectsABadSetFlagByName) {
  testing::expect_error_containing<InvalidArgument>(
      [] { parse_search_config(kSmall, "s.yaml", {"model.depth=3"}); }, "unknown section 'model'");
  testing::expect_error_containing<InvalidArgument>(
      [] { parse_search_config(kSmall, "s.yaml", {"search.units"}); }, "must be section.key=value");
  testing::expect_error_containing<InvalidArgument>(
      [] { parse_search_config(kSmall, "s.yaml", {"search.candidates=abc"}); }, "--set search.candidates:");
  testing::expect_error_containing<InvalidArgument>(
      [] { parse_search_config(kSmall, "s.yaml", {"space.channel_limit=[8]"}); }, "--set space.channel_limit:");
}

}  // namespace
}  // namespace concnas::search

namespace concnas::search {
namespace {

TEST(ASearchConfig, RefusesAFileOfCommentsAloneInsteadOfRunningTheDefaultSearch) {
  testing::expect_parse_error_at([] { parse_search_config("# only a comment\n", "s.yaml"); }, 0,
                                 "holds no settings");
  EXPECT_NO_THROW(parse_search_config("# a comment\nsearch: {candidates: 2}\n", "s.yaml"));
}

}  // namespace
}  // namespace concnas::search
