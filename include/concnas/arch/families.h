#pragma once
/// \file
/// Networks that `generate_architecture` builds whole rather than from a random graph:
/// "lcp" (arch/lcp.h) and "sep" (arch/sep.h).
///
///     if (concnas::arch::is_architecture_family(name))
///       auto a = concnas::arch::family_architecture(name, params, nodes, staging, network, seed);

#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/common/param_map.h"

namespace concnas::arch {

bool is_architecture_family(const std::string& generator);
/// Their names, for error messages and help.
std::vector<std::string> architecture_families();

/// Throws `InvalidArgument` when `params` at `nodes` vertices (0: not given) do not make a
/// network of family `generator`, as its options function says.
void check_family_params(const std::string& generator, const ParamMap& params, int nodes);

/// Unit per DAG vertex that puts branch (lcp) or group (sep) k of `a` on unit k, the stem
/// and the head on unit 0: how those networks are meant to run. Throws `InvalidArgument`
/// unless `a` was generated as one of them with exactly `units` branches or groups.
std::vector<int> family_parts(const Architecture& a, int units);

/// The network of family `generator` from its parameters; throws as `check_family_params`.
Architecture family_architecture(const std::string& generator, const ParamMap& params, int nodes,
                                 const StagingOptions& staging, const NetworkOptions& network, std::uint64_t seed);

}  // namespace concnas::arch
