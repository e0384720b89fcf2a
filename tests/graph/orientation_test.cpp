#include "concnas/graph/orientation.h"

#include <gtest/gtest.h>

#include <functional>

#include "concnas/common/error.h"
#include "concnas/graph/generator.h"

namespace concnas::graph {
namespace {

UndirectedGraph make_graph(int n, std::initializer_list<std::pair<int, int>> edges) {
  UndirectedGraph g(n);
  for (auto [a, b] : edges) g.add_edge(a, b);
  g.finalize();
  return g;
}

// A recursive DFS written the textbook way, to check the iterative one against.
std::vector<int> recursive_rank(const UndirectedGraph& g) {
  const auto adj = g.adjacency();
  std::vector<int> rank(g.num_vertices(), -1);
  int next = 0;
  std::function<void(int)> visit = [&](int v) {
    rank[v] = next++;
    for (int w : adj[v])
      if (rank[w] < 0) visit(w);
  };
  for (int v = 0; v < g.num_vertices(); ++v)
    if (rank[v] < 0) visit(v);
  return rank;
}

TEST(AnOrientation, DfsPointsEdgesFromTheEarlierDiscoveredEndpoint) {
  // 0-3, 3-1, 1-2, 0-2: DFS from 0 visits 0, 2 (smallest neighbour), 1, 3.
  const auto g = make_graph(4, {{0, 3}, {1, 3}, {1, 2}, {0, 2}});
  EXPECT_EQ(dfs_discovery_rank(g), (std::vector<int>{0, 2, 1, 3}));
  const auto dag = orient(g, Orientation::kDfs);
  EXPECT_EQ(dag.compute_arcs(), (std::vector<Arc>{{0, 2}, {0, 3}, {1, 3}, {2, 1}}));
}

TEST(AnOrientation, IndexPointsEdgesFromTheSmallerId) {
  const auto g = make_graph(4, {{0, 3}, {1, 3}, {1, 2}, {0, 2}});
  const auto dag = orient(g, Orientation::kIndex);
  for (const auto& a : dag.compute_arcs()) EXPECT_LT(a.from, a.to);
  EXPECT_EQ(dag.num_compute_arcs(), 4);
}

TEST(AnOrientation, IterativeDfsMatchesTheRecursiveDefinition) {
  const auto registry = builtin_generators();
  for (const auto& name : registry.names())
    for (int s = 0; s < 20; ++s) {
      const auto g = registry.get(name).generate(40, {}, s);
      ASSERT_EQ(dfs_discovery_rank(g), recursive_rank(g)) << name << " seed " << s;
    }
}

TEST(AnOrientation, GivesAnAcyclicGraphWithOneSourceAndOneSinkKeepingEveryEdge) {
  const auto registry = builtin_generators();
  for (const auto& name : registry.names())
    for (auto orientation : {Orientation::kDfs, Orientation::kIndex})
      for (int s = 0; s < 30; ++s) {
        const auto g = registry.get(name).generate(40, {}, s);
        const auto dag = orient(g, orientation);
        ASSERT_EQ(dag.num_compute_arcs(), g.num_edges());
        const auto& order = dag.topological_order();
        ASSERT_EQ(static_cast<int>(order.size()), dag.num_vertices());
        std::vector<int> pos(dag.num_vertices());
        for (int i = 0; i < dag.num_vertices(); ++i) pos[order[i]] = i;
        int sources = 0;
        int sinks = 0;
        for (int v = 0; v < dag.num_vertices(); ++v) {
          for (int w : dag.successors(v)) ASSERT_LT(pos[v], pos[w]) << "arc against the order";
          sources += dag.predecessors(v).empty();
          sinks += dag.successors(v).empty();
        }
        EXPECT_EQ(sources, 1);
        EXPECT_EQ(sinks, 1);
        EXPECT_TRUE(dag.predecessors(dag.input()).empty());
        EXPECT_TRUE(dag.successors(dag.output()).empty());
        EXPECT_EQ(order.front(), dag.input());
        EXPECT_EQ(order.back(), dag.output());
      }
}

TEST(AnOrientation, ConnectsIsolatedVerticesToBothInputAndOutput) {
  const auto dag = orient(make_graph(3, {{0, 1}}), Orientation::kDfs);
  EXPECT_EQ(dag.predecessors(2), std::vector<int>{dag.input()});
  EXPECT_EQ(dag.successors(2), std::vector<int>{dag.output()});
  EXPECT_EQ(dag.successors(dag.input()), (std::vector<int>{0, 2}));
  EXPECT_EQ(dag.predecessors(dag.output()), (std::vector<int>{1, 2}));
}

TEST(AnOrientation, ParsesItsNamesAndRejectsOthers) {
  EXPECT_EQ(parse_orientation("dfs"), Orientation::kDfs);
  EXPECT_EQ(parse_orientation("index"), Orientation::kIndex);
  EXPECT_THROW(parse_orientation("bfs"), InvalidArgument);
}

TEST(ADag, RejectsCyclesNamingAVertexOnTheCycle) {
  try {
    Dag::from_compute_edges(5, {{0, 1}, {1, 2}, {2, 3}, {3, 1}, {3, 4}});
    FAIL() << "cycle accepted";
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("cycle"), std::string::npos);
    const bool names_cycle_vertex = what.find("vertex 1") != std::string::npos ||
                                    what.find("vertex 2") != std::string::npos ||
                                    what.find("vertex 3") != std::string::npos;
    EXPECT_TRUE(names_cycle_vertex) << what;
  }
}

TEST(ADag, RejectsSelfLoopsRepeatsAndOutOfRangeIds) {
  EXPECT_THROW(Dag::from_compute_edges(3, {{1, 1}}), InvalidArgument);
  EXPECT_THROW(Dag::from_compute_edges(3, {{0, 1}, {0, 1}}), InvalidArgument);
  EXPECT_THROW(Dag::from_compute_edges(3, {{0, 3}}), InvalidArgument);
  EXPECT_THROW(Dag::from_compute_edges(0, {}), InvalidArgument);
}

}  // namespace
}  // namespace concnas::graph
