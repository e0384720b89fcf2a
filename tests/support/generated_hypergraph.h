#pragma once
// Hypergraphs of generated networks for the partitioner tests (any generator at any size,
// with the generator parameters kept valid for small graphs) and their balance check.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"
#include "concnas/arch/staging.h"
#include "concnas/graph/generator.h"
#include "concnas/partition/hypergraph.h"
#include "concnas/partition/partitioner.h"

namespace concnas::testing {

inline arch::Architecture generated(const std::string& generator, int nodes, std::uint64_t seed) {
  arch::GenerateOptions o;
  o.generator = generator;
  o.nodes = nodes;
  o.seed = seed;
  if (generator == "ba") o.params.set("m", std::min(2, nodes - 1));
  if (generator == "ws") o.params.set("k", 2);
  return arch::generate_architecture(o, graph::builtin_generators(),
                                     arch::builtin_staging_policies());
}

inline partition::Hypergraph hypergraph_of(const arch::Architecture& a) {
  return partition::build_hypergraph(a, arch::compute_cost(a));
}

/// Disjoint chains of the given lengths, nothing staged: vertices numbered chain after
/// chain (the components partitioner's test networks).
inline arch::Architecture chains(const std::vector<int>& lengths) {
  std::vector<graph::Arc> arcs;
  int first = 0;
  for (int length : lengths) {
    for (int i = 0; i + 1 < length; ++i) arcs.push_back({first + i, first + i + 1});
    first += length;
  }
  return arch::rebuild_architecture(graph::Dag::from_compute_edges(first, arcs), arch::NetworkOptions{},
                                    std::vector<bool>(first, false));
}

/// Whether every unit of `parts` is within its balance cap.
inline bool balanced(const partition::Hypergraph& hg, const std::vector<int>& parts,
                     const partition::PartitionOptions& o) {
  const auto w = partition::part_weights(hg, parts, o.units);
  for (int u = 0; u < o.units; ++u)
    if (static_cast<double>(w[u]) > partition::balance_cap(hg, o, u)) return false;
  return true;
}

}  // namespace concnas::testing
