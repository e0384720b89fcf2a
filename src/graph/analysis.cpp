#include "concnas/graph/analysis.h"

#include <algorithm>

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/connected_components.hpp>

namespace concnas::graph {

std::vector<int> depths(const Dag& dag) {
  std::vector<int> depth(dag.num_vertices(), 0);
  for (int v : dag.topological_order()) {
    int best = 0;
    for (int p : dag.predecessors(v)) best = std::max(best, depth[p]);
    depth[v] = best + (dag.is_compute(v) ? 1 : 0);
  }
  return depth;
}

int longest_path(const Dag& dag) { return depths(dag)[dag.output()]; }

std::vector<int> component_labels(const Dag& dag) {
  using UGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::undirectedS>;
  UGraph g(dag.num_compute());
  for (const auto& a : dag.compute_arcs()) boost::add_edge(a.from, a.to, g);
  std::vector<int> raw(dag.num_compute());
  boost::connected_components(g, raw.data());
  // Renumber so that labels follow the smallest member id: independent of Boost's order.
  std::vector<int> relabel(dag.num_compute(), -1);
  int next = 0;
  for (int& label : raw) {
    if (relabel[label] < 0) relabel[label] = next++;
    label = relabel[label];
  }
  return raw;
}

int count_components(const Dag& dag) {
  const auto labels = component_labels(dag);
  return labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
}

std::vector<int> width_per_depth(const Dag& dag) {
  const auto depth = depths(dag);
  std::vector<int> width(depth[dag.output()], 0);
  for (int v = 0; v < dag.num_compute(); ++v) ++width[depth[v] - 1];
  return width;
}

}  // namespace concnas::graph
