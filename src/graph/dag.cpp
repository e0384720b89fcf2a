#include "concnas/graph/dag.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "concnas/common/error.h"

namespace concnas::graph {

namespace {

using Lists = std::vector<std::vector<int>>;

// Every arc must join two distinct compute vertices, and each only once; sorts the arcs.
void check_and_sort(int num_compute, std::vector<Arc>& arcs) {
  CONCNAS_CHECK(num_compute >= 1, "a network needs at least 1 compute vertex, got {}",
                num_compute);
  CONCNAS_CHECK(num_compute <= kMaxVertices, "a network has at most {} compute vertices, got {}", kMaxVertices,
                num_compute);
  for (const auto& a : arcs) {
    CONCNAS_CHECK(a.from >= 0 && a.from < num_compute && a.to >= 0 && a.to < num_compute,
                  "edge {} -> {} names a vertex outside 0..{}", a.from, a.to, num_compute - 1);
    CONCNAS_CHECK(a.from != a.to, "self loop on vertex {}", a.from);
  }
  std::sort(arcs.begin(), arcs.end());
  const auto dup = std::adjacent_find(arcs.begin(), arcs.end());
  CONCNAS_CHECK(dup == arcs.end(), "edge {} -> {} appears twice", dup->from, dup->to);
}

// Predecessor and successor lists of all num_compute + 2 vertices from the sorted arcs,
// the input (n) feeding and the output (n + 1) fed as the Dag describes; returns each
// compute vertex's in-degree among the arcs.
std::vector<int> link_vertices(int num_compute, const std::vector<Arc>& arcs, Lists& pred,
                               Lists& succ) {
  pred.assign(num_compute + 2, {});
  succ.assign(num_compute + 2, {});
  std::vector<int> indegree(num_compute, 0);
  std::vector<int> outdegree(num_compute, 0);
  for (const auto& a : arcs) {
    ++outdegree[a.from];
    ++indegree[a.to];
  }
  for (int v = 0; v < num_compute; ++v) {
    succ[v].reserve(std::max(outdegree[v], 1));
    pred[v].reserve(std::max(indegree[v], 1));
  }
  // Arcs are sorted by (from, to), so both successor and predecessor lists come out
  // ascending; input (n) and output (n + 1) are larger than every compute id.
  for (const auto& a : arcs) {
    succ[a.from].push_back(a.to);
    pred[a.to].push_back(a.from);
  }
  const int in = num_compute;
  const int out = num_compute + 1;
  for (int v = 0; v < num_compute; ++v) {
    if (pred[v].empty()) {
      pred[v].push_back(in);
      succ[in].push_back(v);
    }
    if (succ[v].empty()) {
      succ[v].push_back(out);
      pred[out].push_back(v);
    }
  }
  return indegree;
}

// Kahn's algorithm, smallest ready id first, over the compute vertices: appends them to
// `order` and leaves `indegree` above 0 exactly at the vertices it could not sort.
void sort_compute(int num_compute, const Lists& succ, std::vector<int>& indegree,
                  std::vector<int>& order) {
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int v = 0; v < num_compute; ++v)
    if (indegree[v] == 0) ready.push(v);
  while (!ready.empty()) {
    const int v = ready.top();
    ready.pop();
    order.push_back(v);
    for (int w : succ[v])
      if (w < num_compute && --indegree[w] == 0) ready.push(w);
  }
}

// Every unsorted vertex still has an unsorted predecessor: walking predecessors must
// revisit a vertex, and the first one revisited lies on a cycle.
int vertex_on_cycle(int num_compute, const Lists& pred, const std::vector<int>& indegree) {
  int on_cycle = 0;
  while (indegree[on_cycle] == 0) ++on_cycle;
  std::vector<char> seen(num_compute, 0);
  while (!seen[on_cycle]) {
    seen[on_cycle] = 1;
    for (int p : pred[on_cycle])
      if (p < num_compute && indegree[p] > 0) {
        on_cycle = p;
        break;
      }
  }
  return on_cycle;
}

}  // namespace

Dag Dag::from_compute_edges(int num_compute, std::vector<Arc> arcs) {
  check_and_sort(num_compute, arcs);
  Dag dag;
  dag.n_ = num_compute;
  dag.arcs_ = std::move(arcs);
  std::vector<int> indegree = link_vertices(num_compute, dag.arcs_, dag.pred_, dag.succ_);
  dag.order_.reserve(num_compute + 2);
  dag.order_.push_back(dag.input());
  sort_compute(num_compute, dag.succ_, indegree, dag.order_);
  if (static_cast<int>(dag.order_.size()) != num_compute + 1)
    throw InvalidArgument(fmt::format("the edges contain a cycle through vertex {}",
                                      vertex_on_cycle(num_compute, dag.pred_, indegree)));
  dag.order_.push_back(dag.output());
  return dag;
}

}  // namespace concnas::graph
