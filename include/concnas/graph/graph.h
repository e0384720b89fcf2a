#pragma once
/// \file
/// The undirected graph a generator produces: `n` vertices `0..n-1` and a sorted list of
/// distinct edges `(u, v)` with `u < v`.
///
///     concnas::graph::UndirectedGraph g(4);
///     g.add_edge(2, 0);   // stored as (0, 2)
///     g.finalize();       // sorts, rejects duplicates

#include <utility>
#include <vector>

namespace concnas::graph {

/// An undirected edge, always stored with `u < v`.
struct Edge {
  int u = 0;
  int v = 0;
  bool operator==(const Edge& o) const { return u == o.u && v == o.v; }
  bool operator<(const Edge& o) const { return u < o.u || (u == o.u && v < o.v); }
};

class UndirectedGraph {
 public:
  explicit UndirectedGraph(int num_vertices = 0);

  int num_vertices() const { return n_; }
  int num_edges() const { return static_cast<int>(edges_.size()); }
  /// Edges sorted by (u, v), after `finalize()`.
  const std::vector<Edge>& edges() const { return edges_; }

  /// Adds the edge {a, b}; throws on a self loop or a vertex out of range.
  void add_edge(int a, int b);
  /// Sorts the edges; throws `InvalidArgument` if an edge was added twice.
  void finalize();

  /// Neighbour lists in ascending order (computed from the edges).
  std::vector<std::vector<int>> adjacency() const;
  /// Degree of every vertex.
  std::vector<int> degrees() const;

  bool operator==(const UndirectedGraph& o) const { return n_ == o.n_ && edges_ == o.edges_; }

 private:
  int n_;
  std::vector<Edge> edges_;
};

}  // namespace concnas::graph
