#pragma once
// What LCP and separable networks share (arch/lcp.h, arch/sep.h): `groups` chains of
// `depth` vertices, vertex g·depth + i staged as vertex i of the chain baseline of that
// depth and seed, every vertex width / groups as wide, the output concatenating them.

#include <cstdint>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/arch/baselines.h"

namespace concnas::arch::detail {

struct ParallelChains {
  std::vector<graph::Arc> arcs;  ///< within each chain; a family adds its own
  std::vector<bool> staged;
  Design design;                 ///< one per compute vertex, then the output's
};

inline ParallelChains parallel_chains(int groups, int depth, double width, const StagingOptions& staging,
                                      const NetworkOptions& network, std::uint64_t seed) {
  const Architecture chain = chain_architecture(depth, staging, network, seed);
  const int nodes = groups * depth;
  ParallelChains p{{}, std::vector<bool>(nodes), Design(nodes + 1)};
  for (int g = 0; g < groups; ++g)
    for (int i = 0; i < depth; ++i) {
      const int v = g * depth + i;
      if (i + 1 < depth) p.arcs.push_back({v, v + 1});
      p.staged[v] = chain.vertices[i].staged;
      p.design[v].width = width / groups;
    }
  p.design[nodes].merge = Merge::kConcat;
  return p;
}

}  // namespace concnas::arch::detail
