#pragma once
/// \file
/// Scoring an architecture for n units: partition it for each balance bound, measure
/// every option (the EDGE'23 paper's CS, communication and imbalance, and the predicted
/// latency; docs/scoring.md) and take the option with the minimum CS as the
/// architecture's score.
///
///     concnas::partition::ScoreOptions o;
///     o.units = 4;
///     auto score = concnas::partition::score_architecture(arch, o, partitioners);
///     score.best().metrics.cs;

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"
#include "concnas/partition/metrics.h"
#include "concnas/partition/partitioner.h"
#include "concnas/sim/latency.h"

namespace concnas::partition {

/// When `devices` charges a fixed time per layer call (unit 0's `layer_overhead_s`),
/// adds it to every compute vertex's weight as the FLOPs unit 0 would run in that time
/// (weight = FLOPs + overhead · FLOP/s · calls), so partitions balance time rather than
/// FLOPs alone; nothing changes without an overhead.
void add_call_overheads(Hypergraph& hg, const arch::Architecture& arch, const sim::DeviceModel& devices);

/// Each unit's share of the work when the devices differ in speed: its FLOP/s times its
/// cores, for `PartitionOptions::shares`, so that every unit needs about the same time.
/// Empty when every unit has the same speed (equal shares).
std::vector<double> unit_shares(const sim::DeviceModel& devices);

struct ScoreOptions {
  int units = 4;
  /// Balance bounds to partition for (the EDGE'23 paper's m options; docs/scoring.md).
  std::vector<double> epsilons{1.03, 1.1, 1.3};
  std::string partitioner = "metis";
  std::uint64_t seed = 0;
  /// Empty: `units` devices of `sim::kDefaultFlopsPerS`. Devices of different speeds get
  /// shares of the work in proportion to their speed (`unit_shares`).
  sim::DeviceModel devices;
  sim::LinkModel link;
  /// Throws `InvalidArgument` naming the bad field.
  void sanity_check() const;
};

struct ScoredOption {
  /// The balance bound partitioned for; negative for a partition given from outside.
  double epsilon = -1;
  std::vector<int> parts;  ///< unit per vertex (compute, input, output)
  PartitionMetrics metrics;
  sim::SimResult sim;
};

struct ArchitectureScore {
  int units = 0;
  std::vector<ScoredOption> options;
  std::size_t best_index = 0;  ///< the option with the minimum CS (first on ties)
  const ScoredOption& best() const { return options.at(best_index); }
  /// The option the device model predicts fastest (first on ties): what `export` deploys.
  const ScoredOption& fastest() const {
    return *std::min_element(options.begin(), options.end(),
                             [](const ScoredOption& x, const ScoredOption& y) { return x.sim.latency_s < y.sim.latency_s; });
  }
};

/// Partitions and scores `arch` for every epsilon of `options`.
ArchitectureScore score_architecture(const arch::Architecture& arch, const ScoreOptions& options,
                                     const PartitionerRegistry& partitioners);
/// The same, with `cost` = `arch::compute_cost(arch)` already at hand (the search has it).
ArchitectureScore score_architecture(const arch::Architecture& arch, arch::ArchitectureCost cost,
                                     const ScoreOptions& options,
                                     const PartitionerRegistry& partitioners);

/// Scores one given partition (e.g. read from an hMETIS partition file).
ArchitectureScore score_given_partition(const arch::Architecture& arch,
                                        const ScoreOptions& options,
                                        const std::vector<int>& parts);

}  // namespace concnas::partition
