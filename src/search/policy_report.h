#pragma once
// policy.json and report.html of `concnas policy` (private to src/search).
#include <string>

#include "concnas/config/policy_config.h"
#include "concnas/search/policy_search.h"

namespace concnas::search::detail {

/// Writes `out`/policy.json (every figure of `report` but the rows, which policies.jsonl
/// holds) and `out`/report.html, each atomically.
void write_policy_report(const PolicyReport& report, const config::PolicyConfig& config, const std::string& out);

}  // namespace concnas::search::detail
