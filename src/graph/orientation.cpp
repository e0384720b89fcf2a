#include "concnas/graph/orientation.h"

#include "concnas/common/error.h"

namespace concnas::graph {

Orientation parse_orientation(const std::string& name) {
  if (name == "dfs") return Orientation::kDfs;
  if (name == "index") return Orientation::kIndex;
  throw InvalidArgument(fmt::format("unknown orientation '{}' (known: dfs, index)", name));
}

std::string to_string(Orientation orientation) {
  return orientation == Orientation::kDfs ? "dfs" : "index";
}

std::vector<int> dfs_discovery_rank(const UndirectedGraph& graph) {
  const int n = graph.num_vertices();
  const auto adj = graph.adjacency();
  std::vector<int> rank(n, -1);
  int next = 0;
  // Iterative DFS with an explicit (vertex, next neighbour index) stack, so deep graphs
  // cannot overflow the call stack; visits exactly as the recursive form would.
  std::vector<std::pair<int, std::size_t>> stack;
  for (int root = 0; root < n; ++root) {
    if (rank[root] >= 0) continue;
    rank[root] = next++;
    stack.emplace_back(root, 0);
    while (!stack.empty()) {
      auto& [v, i] = stack.back();
      if (i == adj[v].size()) {
        stack.pop_back();
        continue;
      }
      const int w = adj[v][i++];
      if (rank[w] < 0) {
        rank[w] = next++;
        stack.emplace_back(w, 0);
      }
    }
  }
  return rank;
}

Dag orient(const UndirectedGraph& graph, Orientation orientation) {
  std::vector<Arc> arcs;
  arcs.reserve(graph.edges().size());
  if (orientation == Orientation::kIndex) {
    for (const auto& e : graph.edges()) arcs.push_back({e.u, e.v});  // edges keep u < v
  } else {
    const auto rank = dfs_discovery_rank(graph);
    for (const auto& e : graph.edges())
      arcs.push_back(rank[e.u] < rank[e.v] ? Arc{e.u, e.v} : Arc{e.v, e.u});
  }
  return Dag::from_compute_edges(graph.num_vertices(), std::move(arcs));
}

}  // namespace concnas::graph
