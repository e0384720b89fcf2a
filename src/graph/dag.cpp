#include "concnas/graph/dag.h"

#include <algorithm>
#include <functional>
#include <queue>

#include "concnas/common/error.h"

namespace concnas::graph {

Dag Dag::from_compute_edges(int num_compute, std::vector<Arc> arcs) {
  CONCNAS_CHECK(num_compute >= 1, "a network needs at least 1 compute vertex, got {}",
                num_compute);
  for (const auto& a : arcs) {
    CONCNAS_CHECK(a.from >= 0 && a.from < num_compute && a.to >= 0 && a.to < num_compute,
                  "edge {} -> {} names a vertex outside 0..{}", a.from, a.to, num_compute - 1);
    CONCNAS_CHECK(a.from != a.to, "self loop on vertex {}", a.from);
  }
  std::sort(arcs.begin(), arcs.end());
  const auto dup = std::adjacent_find(arcs.begin(), arcs.end());
  CONCNAS_CHECK(dup == arcs.end(), "edge {} -> {} appears twice", dup->from, dup->to);

  Dag dag;
  dag.n_ = num_compute;
  dag.arcs_ = std::move(arcs);
  dag.pred_.assign(num_compute + 2, {});
  dag.succ_.assign(num_compute + 2, {});
  std::vector<int> indegree(num_compute, 0);
  std::vector<int> outdegree(num_compute, 0);
  for (const auto& a : dag.arcs_) {
    ++outdegree[a.from];
    ++indegree[a.to];
  }
  for (int v = 0; v < num_compute; ++v) {
    dag.succ_[v].reserve(std::max(outdegree[v], 1));
    dag.pred_[v].reserve(std::max(indegree[v], 1));
  }
  // Arcs are sorted by (from, to), so both successor and predecessor lists come out
  // ascending; input (n) and output (n + 1) are larger than every compute id.
  for (const auto& a : dag.arcs_) {
    dag.succ_[a.from].push_back(a.to);
    dag.pred_[a.to].push_back(a.from);
  }
  const int in = dag.input();
  const int out = dag.output();
  for (int v = 0; v < num_compute; ++v) {
    if (dag.pred_[v].empty()) {
      dag.pred_[v].push_back(in);
      dag.succ_[in].push_back(v);
    }
    if (dag.succ_[v].empty()) {
      dag.succ_[v].push_back(out);
      dag.pred_[out].push_back(v);
    }
  }

  // Kahn's algorithm, smallest ready id first, over the compute vertices.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int v = 0; v < num_compute; ++v)
    if (indegree[v] == 0) ready.push(v);
  dag.order_.reserve(num_compute + 2);
  dag.order_.push_back(in);
  while (!ready.empty()) {
    const int v = ready.top();
    ready.pop();
    dag.order_.push_back(v);
    for (int w : dag.succ_[v])
      if (w < num_compute && --indegree[w] == 0) ready.push(w);
  }
  if (static_cast<int>(dag.order_.size()) != num_compute + 1) {
    // Every unsorted vertex still has an unsorted predecessor: walking predecessors must
    // revisit a vertex, and the first one revisited lies on a cycle.
    int on_cycle = 0;
    while (indegree[on_cycle] == 0) ++on_cycle;
    std::vector<char> seen(num_compute, 0);
    while (!seen[on_cycle]) {
      seen[on_cycle] = 1;
      for (int p : dag.pred_[on_cycle])
        if (p < num_compute && indegree[p] > 0) {
          on_cycle = p;
          break;
        }
    }
    throw InvalidArgument(fmt::format("the edges contain a cycle through vertex {}", on_cycle));
  }
  dag.order_.push_back(out);
  return dag;
}

}  // namespace concnas::graph
