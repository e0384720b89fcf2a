#pragma once
/// \file
/// LCP networks (Low-Communication Parallelization, Jiang et al.; docs/generators.md, "LCP"):
/// a few narrow, independent branches from the stem to the output, one per device, so that
/// an inference across devices sends nothing until the output.
///
///     concnas::arch::LcpOptions lcp;
///     lcp.branches = 2;   // K
///     lcp.depth = 20;     // D vertices per branch
///     lcp.width = 1.0;    // W: each branch W/K of the chain's channels
///     auto a = concnas::arch::lcp_architecture(lcp, staging, network, /*seed=*/0);
///
/// Each branch is the chain baseline of `depth` vertices (arch/baselines.h) with the same
/// staging, every vertex `width / branches` as wide; the output vertex concatenates the
/// branches. At width 1 the network has about 1/K of the chain's parameters.
///
/// `generate_architecture` builds these for generator "lcp" (`concnas generate --generator
/// lcp --param branches=K --param depth=D --param width=W`).

#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::arch {

struct LcpOptions {
  int branches = 2;    ///< K
  int depth = 20;      ///< D, vertices per branch
  double width = 1.0;  ///< W
  /// Throws `InvalidArgument` naming the bad parameter.
  void sanity_check() const;
};

/// The options from generator parameters `branches`, `depth` and `width` (each optional:
/// 2, `nodes` / branches, 1). Throws `InvalidArgument` on an unknown parameter, a value out
/// of range, or a depth that disagrees with `nodes` (0: no vertex count given).
LcpOptions lcp_options(const ParamMap& params, int nodes);

Architecture lcp_architecture(const LcpOptions& lcp, const StagingOptions& staging, const NetworkOptions& network,
                              std::uint64_t seed);

}  // namespace concnas::arch
