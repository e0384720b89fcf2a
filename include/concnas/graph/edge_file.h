#pragma once
/// \file
/// A user's own DAG as a plain text file:
///
///     # my network
///     nodes 5      <- optional, must come first; counts isolated vertices
///     0 1
///     0 2
///     1 3
///
/// One directed edge `u v` per line between compute vertices `0..N-1`; `#` starts a
/// comment; blank lines are ignored. Without `nodes`, N is the largest id + 1.

#include <string>

#include "concnas/graph/dag.h"

namespace concnas::graph {

/// Parses edge-file text; `source` names the file in errors. Throws `ParseError` with the
/// line on malformed lines, ids out of range, self loops, repeated edges, and cycles.
Dag parse_edge_list(const std::string& text, const std::string& source);

/// Reads and parses an edge file.
Dag read_edge_file(const std::string& path);

}  // namespace concnas::graph
