#pragma once
/// \file
/// Structural measures of a DAG used by staging, scoring and reports.
///
///     int depth = concnas::graph::longest_path(dag);      // compute vertices on it
///     int parts = concnas::graph::count_components(dag);  // without input/output

#include <vector>

#include "concnas/graph/dag.h"

namespace concnas::graph {

/// Depth of every vertex: the number of compute vertices on the longest path from the
/// input up to and including it (input 0; output = longest_path).
std::vector<int> depths(const Dag& dag);

/// Number of compute vertices on the longest input -> output path.
int longest_path(const Dag& dag);

/// Connected component label (0-based, numbered by smallest member) of every compute
/// vertex, ignoring edge direction and the input/output vertices.
std::vector<int> component_labels(const Dag& dag);
/// Number of connected components of the compute vertices.
int count_components(const Dag& dag);

/// `width[d-1]` = number of compute vertices at depth d, for d = 1..longest_path.
std::vector<int> width_per_depth(const Dag& dag);

}  // namespace concnas::graph
