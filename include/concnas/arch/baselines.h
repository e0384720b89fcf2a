#pragma once
/// \file
/// The two reference networks every search compares against.
///
///     auto chain = concnas::arch::chain_architecture(40, staging, network, /*seed=*/0);
///     auto rw = concnas::arch::randwire_architecture(40, network, /*seed=*/0);
///
/// - chain: one sequential path of `nodes` vertices, staged by the given policy (the
///   single-device network concurrency is measured against).
/// - randwire: RandWire's layout ("FB" in the study of the EDGE'23 paper, Hadidi et al.):
///   the vertices split into `stages` consecutive random WS(k, p) graphs oriented by
///   index; every sink of a stage feeds every source of the next, and exactly the
///   sources of stages 2.. stage (halve the resolution, double the channels). Staging is
///   fixed, so it is recorded as policy "stages".

#include <cstdint>

#include "concnas/arch/architecture.h"

namespace concnas::arch {

Architecture chain_architecture(int nodes, const StagingOptions& staging,
                                const NetworkOptions& network, std::uint64_t seed);

struct RandWireOptions {
  int stages = 3;
  int k = 4;      ///< WS ring degree per stage
  double p = 0.75;  ///< WS rewiring probability
};

/// Throws `InvalidArgument` when a stage would have k or fewer vertices, or when the
/// network options leave no room to stage (channel limit, minimum resolution).
Architecture randwire_architecture(int nodes, const NetworkOptions& network, std::uint64_t seed,
                                   const RandWireOptions& options = {});

}  // namespace concnas::arch
