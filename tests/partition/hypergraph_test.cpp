#include "concnas/partition/hypergraph.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "support/expect_error.h"

#include "concnas/common/error.h"
#include "support/tiny_network.h"
#include "concnas/partition/score.h"

namespace concnas::partition {
namespace {

Hypergraph tiny() {
  const auto a = concnas::testing::tiny_network();
  return build_hypergraph(a, arch::compute_cost(a));
}

TEST(AHypergraph, HasOneNetPerProducingVertexCostingItsOutputBytes) {
  const auto hg = tiny();
  ASSERT_EQ(hg.nets.size(), 4u);  // v0, v1, v2, input (the output produces nothing)
  EXPECT_EQ(hg.nets[0].pins, (std::vector<int>{0, 2}));
  EXPECT_EQ(hg.nets[0].cost, 512);
  EXPECT_EQ(hg.nets[1].pins, (std::vector<int>{1, 2}));
  EXPECT_EQ(hg.nets[1].cost, 1024);
  EXPECT_EQ(hg.nets[2].pins, (std::vector<int>{2, 4}));
  EXPECT_EQ(hg.nets[3].pins, (std::vector<int>{3, 0, 1}));
  EXPECT_EQ(hg.nets[3].cost, 1024);  // the stem's 4x8x8 fp32 tensor
  EXPECT_EQ(hg.min_net_cost(), 512);
}

TEST(AHypergraph, WeighsComputeVerticesByFlopsAndPinsInputAndOutput) {
  const auto hg = tiny();
  EXPECT_EQ(hg.weight, (std::vector<std::int64_t>{2432, 7168, 6272, 0, 0}));
  EXPECT_EQ(hg.pinned, (std::vector<int>{-1, -1, -1, 0, 0}));
  EXPECT_EQ(hg.total_weight(), 2432 + 7168 + 6272);
}

// With 1 ms per layer call at 1e6 FLOP/s a call weighs 1000 FLOPs: vertex 2 (one scaling
// block) gains 2000, the others 1000; the pinned input and output stay at 0.
TEST(AHypergraph, AddsLayerCallOverheadsToTheWeightsWhenTheDevicesHaveThem) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  auto hg = build_hypergraph(a, cost);
  const auto plain = hg.weight;
  add_call_overheads(hg, a, sim::DeviceModel::uniform(2, 1e6));
  EXPECT_EQ(hg.weight, plain);
  add_call_overheads(hg, a, sim::DeviceModel::uniform(2, 1e6, 1e-3));
  EXPECT_EQ(hg.weight[0], plain[0] + 1000);
  EXPECT_EQ(hg.weight[1], plain[1] + 1000);
  EXPECT_EQ(hg.weight[2], plain[2] + 2000);
  EXPECT_EQ(hg.weight[a.dag.input()], 0);
  EXPECT_EQ(hg.weight[a.dag.output()], 0);
}

TEST(AHypergraph, CountsATensorSentToSeveralVerticesOfOneUnitOnce) {
  const auto hg = tiny();
  // The stem's net {input, 0, 1}: both sinks on unit 1 cost one copy.
  EXPECT_EQ(connectivity_cost(hg, {1, 1, 1, 0, 0}, 2), 1024 + 512);
  EXPECT_EQ(connectivity_cost(hg, {1, 2, 1, 0, 0}, 3), 2 * 1024 + 1024 + 512);
}

TEST(AHypergraph, WritesHmetisWithWeightsAndFixedVertices) {
  const auto hg = tiny();
  const auto text = to_hmetis(hg);
  const auto body = text.substr(text.find('\n') + 1);  // after the % comment
  // The input and output vertices weigh 1, not 0: hMETIS and KaHyPar refuse 0.
  EXPECT_EQ(body, "4 5 11\n512 1 3\n1024 2 3\n512 3 5\n1024 4 1 2\n2432\n7168\n6272\n1\n1\n");
  EXPECT_EQ(to_hmetis_fix(hg), "-1\n-1\n-1\n0\n0\n");
}

// hMETIS's input rules (its manual, section 3.1), read strictly and apart from concnas's
// own reader: a header "nets vertices fmt"; with fmt 11 each net line is a positive
// integer cost then pins in 1..vertices, and one positive integer weight per vertex
// follows; nothing else but '%' comment lines.
std::string strict_hmetis_error(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::vector<long long>> lines;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '%') continue;
    std::istringstream fields(line);
    std::vector<long long> row;
    for (std::string f; fields >> f;) {
      if (f.find_first_not_of("0123456789") != std::string::npos) return "not a non-negative integer: " + f;
      row.push_back(std::stoll(f));
    }
    lines.push_back(row);
  }
  if (lines.empty() || lines[0].size() != 3 || lines[0][2] != 11) return "header is not 'nets vertices 11'";
  const auto nets = lines[0][0], vertices = lines[0][1];
  if (static_cast<long long>(lines.size()) != 1 + nets + vertices) return "wrong number of lines";
  for (long long i = 1; i <= nets; ++i) {
    if (lines[i].size() < 2 || lines[i][0] <= 0) return "net without a positive cost or pins";
    for (std::size_t k = 1; k < lines[i].size(); ++k)
      if (lines[i][k] < 1 || lines[i][k] > vertices) return "pin outside 1..vertices";
  }
  for (long long i = 1 + nets; i < static_cast<long long>(lines.size()); ++i)
    if (lines[i].size() != 1 || lines[i][0] <= 0) return "vertex weight not a positive integer";
  return "";
}

TEST(AHypergraph, WritesFilesThatHmetisRulesAccept) {
  EXPECT_EQ(strict_hmetis_error(to_hmetis(tiny())), "");
  EXPECT_NE(strict_hmetis_error("1 2 11\n5 1 2\n3\n0\n"), "");  // the rules do refuse a zero weight
}

TEST(AHypergraph, ReadsPartitionFilesOfEveryVertexOrOfComputeVerticesOnly) {
  const auto hg = tiny();
  EXPECT_EQ(parse_partition("1\n0\n1\n0\n0\n", "p", hg, 2), (std::vector<int>{1, 0, 1, 0, 0}));
  EXPECT_EQ(parse_partition("% comment\n1\n0\n 1 \n", "p", hg, 2),
            (std::vector<int>{1, 0, 1, 0, 0}));
}

void expect_parse_error(const std::string& text, int units, int line, const std::string& what) {
  concnas::testing::expect_parse_error_at([&] { parse_partition(text, "p.txt", tiny(), units); }, line, what);
}

TEST(AHypergraph, RejectsBadPartitionFiles) {
  expect_parse_error("1\n0\n", 2, 0, "has 2 unit ids; expected 5");
  expect_parse_error("1\n0\n1\n0\n0\n0\n", 2, 0, "has 6 unit ids");
  expect_parse_error("1\n2\n1\n", 2, 2, "unit 2 is outside [0, 2)");
  expect_parse_error("1\n-1\n1\n", 2, 2, "outside");
  expect_parse_error("1\nx\n1\n", 2, 2, "expected one unit id");
  expect_parse_error("1\n0\n1\n1\n0\n", 2, 0, "pinned to unit 0 but placed on unit 1");
}

}  // namespace
}  // namespace concnas::partition
