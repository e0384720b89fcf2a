#include "concnas/partition/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "concnas/arch/cost.h"
#include "concnas/graph/analysis.h"
#include "concnas/graph/edge_file.h"
#include "support/tiny_network.h"

namespace concnas::partition {
namespace {

// The EDGE'23 paper's Fig. 5 (Hadidi et al.; docs/scoring.md) with n = 3 units:
// eta = n * L / |V|.
double eta_of(const graph::Dag& dag) {
  return overlap_eta(3, graph::longest_path(dag), dag.num_compute());
}

TEST(AnEta, MatchesTheEdge23PaperFigure5) {
  // (a) branches of 6, 2 and 1 vertices: 3 * 6 / 9 = 2
  EXPECT_DOUBLE_EQ(eta_of(graph::parse_edge_list("nodes 9\n0 1\n1 2\n2 3\n3 4\n4 5\n6 7\n", "a")), 2.0);
  // (b) three chains of 5: 3 * 5 / 15 = 1
  EXPECT_DOUBLE_EQ(eta_of(graph::parse_edge_list(
                       "0 1\n1 2\n2 3\n3 4\n5 6\n6 7\n7 8\n8 9\n10 11\n11 12\n12 13\n13 14\n", "b")),
                   1.0);
  // (c) rows of three joined by single vertices, 15 vertices, longest path 7: 1.4
  EXPECT_DOUBLE_EQ(eta_of(graph::read_edge_file(std::string(CONCNAS_SOURCE_DIR) +
                                                "/configs/examples/fig5_rows.edges")),
                   1.4);
  // (d) a chain of 7: 3 * 7 / 7 = 3
  EXPECT_DOUBLE_EQ(eta_of(graph::parse_edge_list("0 1\n1 2\n2 3\n3 4\n4 5\n5 6\n", "d")), 3.0);
}

TEST(AConcurrencyScore, IsTheCubeRootOfImbalanceCommAndEta) {
  EXPECT_DOUBLE_EQ(concurrency_score(1, 0, 1), 0);
  EXPECT_NEAR(concurrency_score(1, 4, 1), 2.0, 1e-12);          // (4^1.5)^(1/3) = 2
  EXPECT_NEAR(concurrency_score(1.2, 2.5, 1.4), std::cbrt(1.2 * std::pow(2.5, 1.5) * 1.4), 1e-12);
  EXPECT_LT(concurrency_score(1.0, 2.0, 1.0), concurrency_score(1.0, 3.0, 1.0));
}

TEST(APartitionEvaluation, MeasuresTheTinyNetworkByHand) {
  const auto a = concnas::testing::tiny_network();
  const auto cost = arch::compute_cost(a);
  const auto hg = build_hypergraph(a, cost);
  // Vertices 0 and 2 on unit 1, vertex 1 (and input, output) on unit 0.
  const std::vector<int> parts{1, 0, 1, 0, 0};
  const auto m = evaluate_partition(hg, parts, 2, graph::longest_path(a.dag));
  // Crossing: the stem's tensor (to unit 1: 1024 bytes), vertex 1's (to unit 1: 1024),
  // vertex 2's (to the output on unit 0: 512). Vertex 0's stays on unit 1.
  EXPECT_EQ(m.comm_bytes, 1024 + 1024 + 512);
  EXPECT_DOUBLE_EQ(m.comm_norm, 2560.0 / (512 * 2));  // smallest tensor: 512 bytes
  EXPECT_EQ(m.unit_weights, (std::vector<std::int64_t>{7168, 2432 + 6272}));
  EXPECT_DOUBLE_EQ(m.imbalance, 8704.0 / ((7168 + 8704) / 2.0));
  EXPECT_DOUBLE_EQ(m.eta, 2.0 * 2 / 3);
  EXPECT_DOUBLE_EQ(m.cs, concurrency_score(m.imbalance, m.comm_norm, m.eta));
}

TEST(APartitionEvaluation, GivesZeroTrafficOnOneUnit) {
  const auto a = concnas::testing::tiny_network();
  const auto hg = build_hypergraph(a, arch::compute_cost(a));
  const auto m = evaluate_partition(hg, std::vector<int>(5, 0), 1, 2);
  EXPECT_EQ(m.comm_bytes, 0);
  EXPECT_DOUBLE_EQ(m.imbalance, 1.0);
  EXPECT_DOUBLE_EQ(m.cs, 0.0);
}

}  // namespace
}  // namespace concnas::partition
