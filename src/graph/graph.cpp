#include "concnas/graph/graph.h"

#include <algorithm>

#include "concnas/common/error.h"

namespace concnas::graph {

UndirectedGraph::UndirectedGraph(int num_vertices) : n_(num_vertices) {
  CONCNAS_CHECK(num_vertices >= 0, "a graph cannot have {} vertices", num_vertices);
}

void UndirectedGraph::add_edge(int a, int b) {
  CONCNAS_CHECK(a != b, "self loop on vertex {}", a);
  CONCNAS_CHECK(a >= 0 && a < n_ && b >= 0 && b < n_,
                "edge ({}, {}) names a vertex outside 0..{}", a, b, n_ - 1);
  edges_.push_back(a < b ? Edge{a, b} : Edge{b, a});
}

void UndirectedGraph::finalize() {
  std::sort(edges_.begin(), edges_.end());
  const auto dup = std::adjacent_find(edges_.begin(), edges_.end());
  CONCNAS_CHECK(dup == edges_.end(), "edge ({}, {}) appears twice", dup->u, dup->v);
}

std::vector<std::vector<int>> UndirectedGraph::adjacency() const {
  std::vector<std::vector<int>> adj(n_);
  const auto deg = degrees();
  for (int v = 0; v < n_; ++v) adj[v].reserve(deg[v]);
  for (const auto& e : edges_) {
    adj[e.u].push_back(e.v);
    adj[e.v].push_back(e.u);
  }
  // Edges are sorted by (u, v): each list gets its smaller neighbours (as v) in order,
  // then its larger ones (as u) in order, so it is ascending without a sort.
  return adj;
}

std::vector<int> UndirectedGraph::degrees() const {
  std::vector<int> deg(n_, 0);
  for (const auto& e : edges_) {
    ++deg[e.u];
    ++deg[e.v];
  }
  return deg;
}

}  // namespace concnas::graph
