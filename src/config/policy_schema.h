#pragma once
// The keys of the `policy` section of `concnas policy`'s config (private to src/config).

#include "concnas/config/policy_config.h"
#include "schema.h"

namespace concnas::config::detail {

const Schema<PolicyConfig>& policy_schema();

}  // namespace concnas::config::detail
