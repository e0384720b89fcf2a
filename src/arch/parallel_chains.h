#pragma once
// What LCP and separable networks share (arch/lcp.h, arch/sep.h): `groups` chains of
// `depth` vertices, vertex g·depth + i staged as vertex i of the chain baseline of that
// depth and seed, every vertex width / groups as wide, the output concatenating them; and
// how both read their whole-number parameters.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/arch/baselines.h"
#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::arch::detail {

struct ParallelChains {
  std::vector<graph::Arc> arcs;  ///< within each chain; a family adds its own
  std::vector<bool> staged;
  Design design;                 ///< one per compute vertex, then the output's
};

/// Parameter `key` of `family` (for the error line) as a whole number; `fallback` when the
/// parameter is not given.
inline int whole_param(const char* family, const ParamMap& params, const std::string& key, int fallback) {
  if (!params.contains(key)) return fallback;
  const double v = params.get(key);
  CONCNAS_CHECK(std::floor(v) == v && std::abs(v) <= 1e9, "{}: {} must be a whole number, got {}", family, key,
                format_number(v));
  return static_cast<int>(v);
}

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
