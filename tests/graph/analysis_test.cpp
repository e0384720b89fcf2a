#include "concnas/graph/analysis.h"

#include <gtest/gtest.h>

namespace concnas::graph {
namespace {

Dag chains(int count, int length) {
  std::vector<Arc> arcs;
  for (int c = 0; c < count; ++c)
    for (int i = 0; i + 1 < length; ++i) arcs.push_back({c * length + i, c * length + i + 1});
  return Dag::from_compute_edges(count * length, arcs);
}

TEST(AnAnalysis, MeasuresAChain) {
  const auto dag = chains(1, 7);
  EXPECT_EQ(longest_path(dag), 7);
  EXPECT_EQ(count_components(dag), 1);
  EXPECT_EQ(width_per_depth(dag), std::vector<int>(7, 1));
}

TEST(AnAnalysis, MeasuresParallelChains) {
  const auto dag = chains(3, 5);
  EXPECT_EQ(longest_path(dag), 5);
  EXPECT_EQ(count_components(dag), 3);
  EXPECT_EQ(width_per_depth(dag), std::vector<int>(5, 3));
  EXPECT_EQ(component_labels(dag),
            (std::vector<int>{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2}));
}

TEST(AnAnalysis, MeasuresRowsOfThreeBetweenSingleVertices) {
  // Like the EDGE'23 paper's Fig. 5 (c) (docs/scoring.md), with single vertices at both
  // ends: 1 -> 3 -> 1 -> 3 -> 1 -> 3 -> 1 (13 vertices, longest path 7).
  std::vector<Arc> arcs;
  const std::vector<std::vector<int>> layers{{0}, {1, 2, 3}, {4}, {5, 6, 7}, {8}, {9, 10, 11}, {12}};
  for (std::size_t l = 0; l + 1 < layers.size(); ++l)
    for (int a : layers[l])
      for (int b : layers[l + 1]) arcs.push_back({a, b});
  auto dag = Dag::from_compute_edges(13, arcs);
  EXPECT_EQ(longest_path(dag), 7);
  EXPECT_EQ(width_per_depth(dag), (std::vector<int>{1, 3, 1, 3, 1, 3, 1}));
  EXPECT_EQ(count_components(dag), 1);
}

TEST(AnAnalysis, CountsLongestPathThroughUnevenBranches) {
  // Branches of 6, 2 and 1 vertices between input and output.
  auto dag = Dag::from_compute_edges(9, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {6, 7}});
  EXPECT_EQ(longest_path(dag), 6);
  EXPECT_EQ(count_components(dag), 3);
  EXPECT_EQ(depths(dag)[dag.input()], 0);
  EXPECT_EQ(depths(dag)[7], 2);
}

TEST(AnAnalysis, TreatsIsolatedVerticesAsTheirOwnComponents) {
  auto dag = Dag::from_compute_edges(4, {});
  EXPECT_EQ(count_components(dag), 4);
  EXPECT_EQ(longest_path(dag), 1);
  EXPECT_EQ(width_per_depth(dag), std::vector<int>{4});
}

}  // namespace
}  // namespace concnas::graph
