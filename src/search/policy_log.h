#pragma once
// policies.jsonl of `concnas policy` (private to src/search): one scored policy per line,
// appended and flushed as it is scored.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "concnas/search/policy_search.h"

namespace concnas::search::detail {

nlohmann::ordered_json policy_row_json(const PolicyRow& row);

/// The rows of `path` (none when it does not exist). A last line cut short by a kill is
/// dropped, and `*cut_short` (when given) says whether there was one; any other line that
/// does not parse is a `ParseError` naming the file and line.
std::vector<PolicyRow> read_policy_log(const std::string& path, bool* cut_short = nullptr);

/// Rewrites `path` with `rows` (dropping a cut-short line), atomically.
void rewrite_policy_log(const std::string& path, const std::vector<PolicyRow>& rows);

/// Appends one line and flushes it to disk.
void append_policy_row(const std::string& path, const PolicyRow& row);

}  // namespace concnas::search::detail
