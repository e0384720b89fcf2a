// The parts of `concnas policy` without LibTorch: its config, what a policy sends, and
// policies.jsonl.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../../src/search/policy_log.h"
#include "concnas/arch/sep.h"
#include "concnas/common/error.h"
#include "concnas/config/policy_config.h"
#include "concnas/search/policy_traffic.h"
#include "support/expect_error.h"
#include "support/temp_dir.h"

namespace concnas::search {
namespace {

arch::Architecture sep(const arch::SepOptions& o) {
  arch::NetworkOptions n;
  n.input = {1, 16, 16};
  n.stem_channels = 8;
  n.channel_limit = 64;
  n.min_resolution = 2;
  return arch::sep_architecture(o, arch::StagingOptions{}, n, 3);
}

// Bytes per image of vertex p's output, `share` of its channels, as float32.
std::int64_t sent(const arch::Architecture& a, int p, double share) {
  const auto& s = a.vertices[p].out;
  return 4LL * arch::carried_channels(s.channels, share) * s.height * s.width;
}

TEST(PolicyTraffic, CountsWhatEachExchangeSendsOncePerReceivingGroup) {
  arch::SepOptions o;
  o.groups = 4, o.depth = 5, o.alpha = 2;  // steps before blocks 2 and 4
  o.full = true;
  const auto full = sep(o);
  std::int64_t expected = 0;
  for (int g = 0; g < 4; ++g)
    for (int block : {1, 3}) expected += 3 * sent(full, g * 5 + block, 1.0);
  const auto t = policy_traffic(full, 4);
  EXPECT_EQ(t.exchange_bytes, expected);
  EXPECT_GT(t.plan_bytes, t.exchange_bytes);  // the images and partial sums travel too

  // Step 0: the cycle 0->1->2->3->0 (permutation (1, 2, 3, 0)); step 1: the identity.
  o.full = false, o.share = 0.5;
  int cycle = 0;
  while (arch::nth_permutation(4, cycle) != std::vector<int>{1, 2, 3, 0}) ++cycle;
  o.permutations = {cycle, 0};
  const auto one_step = sep(o);
  std::int64_t half = 0;
  for (int g = 0; g < 4; ++g) half += sent(one_step, g * 5 + 1, 0.5);
  EXPECT_EQ(policy_traffic(one_step, 4).exchange_bytes, half);
  o.fp16 = true;
  EXPECT_EQ(policy_traffic(sep(o), 4).exchange_bytes, half / 2);
  o.permutations = {0, 0};
  EXPECT_EQ(policy_traffic(sep(o), 4).exchange_bytes, 0);
}

TEST(APolicyConfig, ReadsItsSectionAndNamesABadKey) {
  const auto c = config::parse_policy_config("policy:\n  groups: 2\n  samples: 7\n  share: 0.25\n", "p.yaml",
                                             {"policy.seeds=2"});
  EXPECT_EQ(c.policy.groups, 2);
  EXPECT_EQ(c.policy.samples, 7);
  EXPECT_EQ(c.policy.seeds, 2);
  EXPECT_DOUBLE_EQ(c.policy.share, 0.25);
  EXPECT_NE(config::to_yaml(c).find("samples: 7"), std::string::npos);
  using concnas::testing::expect_error_containing;
  auto parse = [](const std::string& text) { config::parse_policy_config(text, "p.yaml"); };
  expect_error_containing<ParseError>([&] { parse("policy:\n  groups: 9\n"); }, "p.yaml:2");
  expect_error_containing<ParseError>([&] { parse("policy:\n  share: 0\n"); }, "policy.share");
  expect_error_containing<ParseError>([&] { parse("policy:\n  depth: 4\n  alpha: 4\n"); }, "leaves no exchange step");
  expect_error_containing<ParseError>([&] { parse("policy:\n  samples: 3\n  colour: red\n"); }, "colour");
  expect_error_containing<InvalidArgument>([&] { config::parse_policy_config("", "p.yaml", {"search.x=1"}); },
                                           "unknown section");
  expect_error_containing<ParseError>([&] { config::parse_policy_config("policy: 3\n", "p.yaml", {"policy.seeds=2"}); },
                                      "p.yaml:1: policy: must be a mapping");
}

class APolicyLog : public testing::TempDirTest {};

TEST_F(APolicyLog, KeepsEveryRowAndDropsOnlyALastLineCutShort) {
  PolicyRow a{"random", 0, 0, {3, 1}, "sep-a", false, 500, 0.875, 1024, 0.125, 0.86875};
  PolicyRow b{"controller", 1, 4, {0, 23}, "sep-b", true, 5000, 0.5, 0, 0, 0.5};
  const auto file = path("policies.jsonl");
  detail::append_policy_row(file, a);
  detail::append_policy_row(file, b);
  auto rows = detail::read_policy_log(file);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].search, "controller");
  EXPECT_EQ(rows[1].permutations, (std::vector<int>{0, 23}));
  EXPECT_EQ(rows[0].exchange_bytes, 1024);
  EXPECT_TRUE(rows[1].final);
  EXPECT_EQ(rows[1].images, 5000);
  EXPECT_DOUBLE_EQ(rows[0].reward, 0.86875);
  std::ofstream(file, std::ios::app) << "{\"search\":\"ran";
  EXPECT_EQ(detail::read_policy_log(file).size(), 2u);
  detail::rewrite_policy_log(file, rows);
  std::ofstream(file, std::ios::app) << "{\"search\":1}\n{}\n";
  concnas::testing::expect_error_containing<ParseError>([&] { detail::read_policy_log(file); }, "policies.jsonl:3");
  EXPECT_TRUE(detail::read_policy_log(path("none.jsonl")).empty());
}

}  // namespace
}  // namespace concnas::search
