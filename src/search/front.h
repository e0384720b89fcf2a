#pragma once
// The search's last stage (private to src/search): the front's folders in best/ and the
// pictures the report shows.

#include <map>
#include <string>
#include <vector>

#include "concnas/search/results.h"

namespace concnas::search::detail {

struct FrontFiles {
  std::vector<int> front;               ///< candidate ids on the front, ascending
  std::map<int, std::string> pictures;  ///< inline SVG per candidate id (with Graphviz)
  bool graphviz = false;                ///< whether `dot` was found
};

/// Writes best/<name>/ for every front entry: arch.yaml, arch.dot coloured by its best
/// partition, arch.svg when Graphviz's `dot` is installed, and the last rung's weights.
FrontFiles write_front(const SearchConfig& config, const std::string& dir, const std::vector<FinalEntry>& final,
                       int last_rung);

}  // namespace concnas::search::detail
