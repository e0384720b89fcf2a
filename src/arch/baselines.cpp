#include "concnas/arch/baselines.h"

#include <fmt/format.h>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/graph/generator.h"
#include "concnas/graph/orientation.h"

namespace concnas::arch {

Architecture chain_architecture(int nodes, const StagingOptions& staging,
                                const NetworkOptions& network, std::uint64_t seed) {
  std::vector<graph::Arc> arcs;
  for (int v = 0; v + 1 < nodes; ++v) arcs.push_back({v, v + 1});
  Provenance p;
  p.generator = "chain";
  p.seed = seed;
  p.orientation = "given";
  return architecture_from_dag(graph::Dag::from_compute_edges(nodes, arcs), p, staging, network,
                               builtin_staging_policies(), fmt::format("chain-n{}-s{}", nodes, seed));
}

Architecture randwire_architecture(int nodes, const NetworkOptions& network, std::uint64_t seed,
                                   const RandWireOptions& options) {
  CONCNAS_CHECK(options.stages >= 1, "randwire: {} stages; need at least 1", options.stages);
  const int base = nodes / options.stages;
  CONCNAS_CHECK(base > options.k, "randwire: {} vertices in {} stages leave {} per stage; WS(k={}) needs more",
                nodes, options.stages, base, options.k);
  const auto generators = graph::builtin_generators();
  const auto& ws = generators.get("ws");
  ParamMap params;
  params.set("k", options.k);
  params.set("p", options.p);

  std::vector<graph::Arc> arcs;
  std::vector<bool> staged(nodes, false);
  std::vector<int> previous_sinks;
  int offset = 0;
  for (int s = 0; s < options.stages; ++s) {
    const int size = s + 1 == options.stages ? nodes - offset : base;
    // One independent stream per stage, derived from the seed.
    const auto stage_dag = graph::orient(ws.generate(size, params, mix_seed(seed) + s),
                                         graph::Orientation::kIndex);
    std::vector<int> sources, sinks;
    for (int v = 0; v < size; ++v) {
      if (stage_dag.predecessors(v) == std::vector<int>{stage_dag.input()}) sources.push_back(v + offset);
      if (stage_dag.successors(v) == std::vector<int>{stage_dag.output()}) sinks.push_back(v + offset);
    }
    for (const auto& a : stage_dag.compute_arcs()) arcs.push_back({a.from + offset, a.to + offset});
    for (int from : previous_sinks)
      for (int to : sources) arcs.push_back({from, to});
    if (s > 0)
      for (int v : sources) staged[v] = true;
    previous_sinks = sinks;
    offset += size;
  }
  Architecture a = rebuild_architecture(graph::Dag::from_compute_edges(nodes, arcs), network, staged);
  a.name = fmt::format("randwire-n{}-s{}", nodes, seed);
  a.provenance.generator = "randwire";
  a.provenance.params.set("stages", options.stages);
  a.provenance.params.set("k", options.k);
  a.provenance.params.set("p", options.p);
  a.provenance.seed = seed;
  a.provenance.orientation = "given";
  a.staging.policy = "stages";
  a.staging.probability = 0;
  return a;
}

}  // namespace concnas::arch
