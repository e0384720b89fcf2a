#pragma once
// The keys of the `lcp` section of `concnas lcp`'s config (private to src/config).

#include "concnas/config/lcp_config.h"
#include "schema.h"

namespace concnas::config::detail {

const Schema<LcpConfig>& lcp_schema();

}  // namespace concnas::config::detail
