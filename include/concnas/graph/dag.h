#pragma once
/// \file
/// The directed acyclic graph of a network: compute vertices `0..n-1`, plus one input
/// vertex (id `n`) feeding every compute vertex without predecessors and one output vertex
/// (id `n+1`) fed by every compute vertex without successors.
///
///     auto dag = concnas::graph::Dag::from_compute_edges(3, {{0, 1}, {0, 2}});
///     dag.input();                 // 3
///     dag.predecessors(1);         // {0}
///     dag.successors(dag.input()); // {0}

#include <utility>
#include <vector>

namespace concnas::graph {

/// The most compute vertices a network may have: far beyond any searched one, and small
/// enough that no count or index overflows.
inline constexpr int kMaxVertices = 1'000'000;


/// A directed edge `from -> to`.
struct Arc {
  int from = 0;
  int to = 0;
  bool operator==(const Arc& o) const { return from == o.from && to == o.to; }
  bool operator<(const Arc& o) const { return from < o.from || (from == o.from && to < o.to); }
};

class Dag {
 public:
  Dag() = default;

  /// Builds the DAG from arcs between compute vertices `0..n-1` and adds the input and
  /// output vertices. Throws `InvalidArgument` on n < 1, an id out of range, a self loop,
  /// a repeated arc or a cycle (naming a vertex on it).
  static Dag from_compute_edges(int num_compute, std::vector<Arc> arcs);

  int num_compute() const { return n_; }
  /// Compute vertices plus input and output.
  int num_vertices() const { return n_ + 2; }
  int input() const { return n_; }
  int output() const { return n_ + 1; }
  bool is_compute(int v) const { return v >= 0 && v < n_; }

  /// Predecessors / successors in ascending id order (input/output included).
  const std::vector<int>& predecessors(int v) const { return pred_[v]; }
  const std::vector<int>& successors(int v) const { return succ_[v]; }

  /// Arcs between compute vertices, sorted.
  const std::vector<Arc>& compute_arcs() const { return arcs_; }
  int num_compute_arcs() const { return static_cast<int>(arcs_.size()); }

  /// A topological order of all vertices: input first, output last, compute vertices by
  /// Kahn's algorithm taking the smallest ready id first (deterministic).
  const std::vector<int>& topological_order() const { return order_; }

  bool operator==(const Dag& o) const { return n_ == o.n_ && arcs_ == o.arcs_; }

 private:
  int n_ = 0;
  std::vector<Arc> arcs_;
  std::vector<std::vector<int>> pred_;
  std::vector<std::vector<int>> succ_;
  std::vector<int> order_;
};

}  // namespace concnas::graph
