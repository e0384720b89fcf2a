#include "concnas/partition/score.h"

#include <algorithm>
#include <cmath>

#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "concnas/common/param_map.h"
#include "concnas/graph/analysis.h"

namespace concnas::partition {

void ScoreOptions::sanity_check() const {
  CONCNAS_CHECK(units >= 1, "units must be at least 1, got {}", units);
  CONCNAS_CHECK(!epsilons.empty(), "give at least one balance bound epsilon");
  for (double e : epsilons)
    CONCNAS_CHECK(e >= 1.0, "balance bound epsilon must be at least 1, got {}", format_number(e));
  if (!devices.flops_per_s.empty()) {
    devices.sanity_check();
    CONCNAS_CHECK(devices.units() == units, "the device model describes {} units, but {} are used",
                  devices.units(), units);
  }
  link.sanity_check();
}

void add_call_overheads(Hypergraph& hg, const arch::Architecture& arch, const sim::DeviceModel& devices) {
  if (devices.units() == 0 || devices.overhead_of(0) <= 0) return;
  const double flops_per_call = devices.overhead_of(0) * devices.flops_per_s[0];
  for (int v = 0; v < arch.dag.num_compute(); ++v)
    hg.weight[v] += std::llround(flops_per_call * sim::layer_calls(arch, v));
}

std::vector<double> unit_shares(const sim::DeviceModel& devices) {
  std::vector<double> shares(devices.units());
  for (int u = 0; u < devices.units(); ++u)
    shares[u] = devices.flops_per_s[u] * devices.cores_of(u);
  const bool equal =
      std::all_of(shares.begin(), shares.end(), [&](double x) { return x == shares.front(); });
  return equal ? std::vector<double>{} : shares;
}

namespace {

struct Context {
  const arch::Architecture& arch;
  arch::ArchitectureCost cost;
  Hypergraph hg;
  int longest;
  sim::DeviceModel devices;
  std::vector<double> shares;  // unit_shares(devices)
};

Context make_context(const arch::Architecture& arch, arch::ArchitectureCost cost,
                     const ScoreOptions& options) {
  options.sanity_check();
  CONCNAS_CHECK(options.units <= arch.dag.num_compute(),
                "{} units is more than the {} compute vertices of '{}'", options.units,
                arch.dag.num_compute(), arch.name);
  auto hg = build_hypergraph(arch, cost);
  auto devices = options.devices.flops_per_s.empty()
                     ? sim::DeviceModel::uniform(options.units, sim::kDefaultFlopsPerS)
                     : options.devices;
  add_call_overheads(hg, arch, devices);
  auto shares = unit_shares(devices);
  return {arch, std::move(cost), std::move(hg), graph::longest_path(arch.dag), std::move(devices),
          std::move(shares)};
}

ScoredOption score_option(const Context& c, const ScoreOptions& options, double epsilon,
                          std::vector<int> parts) {
  ScoredOption o;
  o.epsilon = epsilon;
  o.metrics = evaluate_partition(c.hg, parts, options.units, c.longest, c.shares);
  o.sim = sim::simulate(c.arch, c.cost, parts, c.devices, options.link);
  o.parts = std::move(parts);
  return o;
}

void pick_best(ArchitectureScore& s) {
  s.best_index = 0;
  for (std::size_t i = 1; i < s.options.size(); ++i)
    if (s.options[i].metrics.cs < s.options[s.best_index].metrics.cs) s.best_index = i;
}

}  // namespace

ArchitectureScore score_architecture(const arch::Architecture& arch, const ScoreOptions& options,
                                     const PartitionerRegistry& partitioners) {
  return score_architecture(arch, arch::compute_cost(arch), options, partitioners);
}

ArchitectureScore score_architecture(const arch::Architecture& arch, arch::ArchitectureCost cost,
                                     const ScoreOptions& options,
                                     const PartitionerRegistry& partitioners) {
  const auto& partitioner = partitioners.get(options.partitioner);
  const Context c = make_context(arch, std::move(cost), options);
  ArchitectureScore s;
  s.units = options.units;
  PartitionOptions po;
  po.units = options.units;
  po.seed = options.seed;
  po.shares = c.shares;
  auto each = partitioner.partition_each(c.hg, po, options.epsilons);
  for (std::size_t i = 0; i < each.size(); ++i)
    s.options.push_back(score_option(c, options, options.epsilons[i], std::move(each[i])));
  pick_best(s);
  return s;
}

ArchitectureScore score_given_partition(const arch::Architecture& arch,
                                        const ScoreOptions& options,
                                        const std::vector<int>& parts) {
  const Context c = make_context(arch, arch::compute_cost(arch), options);
  ArchitectureScore s;
  s.units = options.units;
  s.options.push_back(score_option(c, options, -1, parts));
  return s;
}

}  // namespace concnas::partition
