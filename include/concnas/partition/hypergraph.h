#pragma once
/// \file
/// The hypergraph model of an architecture (docs/scoring.md, "The hypergraph"): one net per
/// producing vertex v, e_v = {v} ∪ succ(v), costing the bytes of v's output; vertex
/// weight = FLOPs; the input and output vertices weigh 0 and are pinned to unit 0.
///
///     auto hg = concnas::partition::build_hypergraph(arch, concnas::arch::compute_cost(arch));
///     std::int64_t lambda = concnas::partition::connectivity_cost(hg, parts, units);
///
/// Vertex ids are the DAG's: compute vertices 0..N-1, input N, output N+1.

#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"

namespace concnas::partition {

struct Net {
  int driver = 0;           ///< the producing vertex
  std::vector<int> pins;    ///< driver first, then its successors ascending
  std::int64_t cost = 0;    ///< bytes of the driver's output
};

struct Hypergraph {
  int num_compute = 0;
  std::vector<std::int64_t> weight;  ///< per vertex (input/output 0)
  std::vector<int> pinned;           ///< unit a vertex is fixed to, or -1 when free
  std::vector<Net> nets;
  std::vector<std::vector<int>> nets_of;  ///< incident nets per vertex

  int num_vertices() const { return static_cast<int>(weight.size()); }
  int input() const { return num_compute; }
  int output() const { return num_compute + 1; }
  std::int64_t total_weight() const;
  /// The smallest net cost (U_c of the normalised communication); 0 without nets.
  std::int64_t min_net_cost() const;
};

/// Builds the hypergraph of `arch` with the weights and bytes of `cost`.
Hypergraph build_hypergraph(const arch::Architecture& arch, const arch::ArchitectureCost& cost);

/// Λ = Σ over nets of cost · (number of units the net touches − 1).
std::int64_t connectivity_cost(const Hypergraph& hg, const std::vector<int>& parts, int units);

/// Per-unit sums of vertex weights.
std::vector<std::int64_t> part_weights(const Hypergraph& hg, const std::vector<int>& parts,
                                       int units);

/// Throws `InvalidArgument` unless `parts` has one unit in [0, units) per vertex and every
/// pinned vertex sits on its unit.
void check_partition(const Hypergraph& hg, const std::vector<int>& parts, int units);

/// hMETIS text (fmt 11: net costs and vertex weights). Vertices 1..N are the compute
/// vertices in id order, then the input (N+1) and the output (N+2).
std::string to_hmetis(const Hypergraph& hg);
/// hMETIS fixed-vertex file: one line per vertex, its unit or -1 when free.
std::string to_hmetis_fix(const Hypergraph& hg);
/// Parses an hMETIS partition file (one unit per line, same vertex order). Accepts N+2
/// lines (every vertex) or N (compute vertices only; input and output go to unit 0).
/// Throws `ParseError` naming `source` and the line on a bad file or a unit out of range,
/// and `InvalidArgument` for a pinned vertex placed off its unit.
std::vector<int> parse_partition(const std::string& text, const std::string& source,
                                 const Hypergraph& hg, int units);

}  // namespace concnas::partition
