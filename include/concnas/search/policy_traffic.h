#pragma once
/// \file
/// What a separable network's communication policy sends between its groups, one group per
/// unit (`concnas export --partitioner groups`): the bytes per image of the plan's
/// transfers between blocks of different groups, each counted once per receiving unit.
/// The images and the partial sums of the sinks travel under every policy alike and are
/// not counted here (the plan's `bytes_per_image` counts them).
///
///     auto t = concnas::search::policy_traffic(sep_arch, /*groups=*/4);
///     t.exchange_bytes;  // what the policy sends per image

#include <cstdint>

#include "concnas/arch/architecture.h"

namespace concnas::search {

struct PolicyTraffic {
  std::int64_t exchange_bytes = 0;  ///< between groups' blocks, per image
  std::int64_t plan_bytes = 0;      ///< the plan's whole bytes per image (images and partial sums too)
};

/// Throws `InvalidArgument` when `a` is not a network of `groups` groups (arch::family_parts).
PolicyTraffic policy_traffic(const arch::Architecture& a, int groups);

}  // namespace concnas::search
