#include "concnas/deploy/plan.h"

#include <algorithm>

#include "concnas/common/error.h"

namespace concnas::deploy {

std::int64_t Plan::bytes_per_image() const {
  std::int64_t total = 0;
  for (const auto& t : transfers) total += t.bytes * static_cast<std::int64_t>(t.to.size());
  return total;
}

Plan make_plan(const arch::Architecture& arch, const std::vector<int>& parts, int units) {
  const auto& dag = arch.dag;
  CONCNAS_CHECK(units >= 1, "a plan needs at least one unit, not {}", units);
  CONCNAS_CHECK(static_cast<int>(parts.size()) == dag.num_vertices(),
                "partition has {} entries; architecture '{}' has {} vertices (compute, input, output)",
                parts.size(), arch.name, dag.num_vertices());
  for (int v = 0; v < dag.num_vertices(); ++v)
    CONCNAS_CHECK(parts[v] >= 0 && parts[v] < units, "vertex {} is on unit {}, outside 0..{}", v, parts[v],
                  units - 1);
  CONCNAS_CHECK(parts[dag.input()] == 0 && parts[dag.output()] == 0,
                "the input and output vertices must be on unit 0");
  Plan plan;
  plan.architecture = arch.name;
  plan.num_units = units;
  plan.parts = parts;
  plan.units.resize(units);
  for (int v : dag.topological_order())
    if (dag.is_compute(v)) plan.units[parts[v]].vertices.push_back(v);
  for (int v = 0; v < dag.num_vertices(); ++v) {
    if (v == dag.output()) continue;
    std::vector<int> to;
    for (int s : dag.successors(v))
      if (parts[s] != parts[v]) to.push_back(parts[s]);
    std::sort(to.begin(), to.end());
    to.erase(std::unique(to.begin(), to.end()), to.end());
    if (to.empty()) continue;
    Transfer t;
    t.vertex = v;
    t.from = parts[v];
    t.to = to;
    t.shape = arch.shape_of(v);
    t.bytes = t.shape.elements() * 4;
    for (int u : to) plan.units[u].receives.push_back(v);
    plan.transfers.push_back(t);
  }
  for (auto& u : plan.units) std::sort(u.receives.begin(), u.receives.end());
  return plan;
}

}  // namespace concnas::deploy
