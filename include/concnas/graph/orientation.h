#pragma once
/// \file
/// Turning an undirected graph into a DAG.
///
///     auto dag = concnas::graph::orient(g, concnas::graph::Orientation::kDfs);
///
/// `kDfs` (the EDGE'23 paper, Hadidi et al.; docs/generators.md): depth-first search from
/// the smallest unvisited id, neighbours in ascending order; every edge points from the
/// endpoint discovered first to the later one.
/// `kIndex` (RandWire): every edge points from the smaller id to the larger.

#include <string>

#include "concnas/graph/dag.h"
#include "concnas/graph/graph.h"

namespace concnas::graph {

enum class Orientation { kDfs, kIndex };

/// "dfs" / "index"; throws `InvalidArgument` on anything else.
Orientation parse_orientation(const std::string& name);
std::string to_string(Orientation orientation);

/// DFS discovery order: `rank[v]` is the position at which v was discovered.
std::vector<int> dfs_discovery_rank(const UndirectedGraph& graph);

/// Orients every edge and adds the input and output vertices.
Dag orient(const UndirectedGraph& graph, Orientation orientation);

}  // namespace concnas::graph
