#pragma once
/// \file
/// The concurrency score of a partition, as defined by the EDGE'23 paper (Hadidi et al.;
/// docs/scoring.md, "Metrics").
///
///     auto m = concnas::partition::evaluate_partition(hg, parts, /*units=*/3, /*longest=*/7);
///     m.cs;  // (imbalance * comm_norm^1.5 * eta)^(1/3), lower is better
///
/// - comm_bytes Λ = Σ over nets of bytes · (units touched − 1)
/// - comm_norm Λ' = Λ / (U_c · n), U_c the smallest net cost
/// - imbalance δ_w = heaviest unit / average unit weight (>= 1); with unequal shares
///   (devices of different speeds), the largest of each unit's weight / its share of the
///   total, so that it measures the slowest unit's time against the ideal
/// - eta η = n · L / |V| (L compute vertices on the longest path, |V| compute vertices)

#include <cstdint>
#include <vector>

#include "concnas/partition/hypergraph.h"

namespace concnas::partition {

struct PartitionMetrics {
  int units = 1;
  std::int64_t comm_bytes = 0;
  double comm_norm = 0;
  double imbalance = 1;
  double eta = 0;
  double cs = 0;
  std::vector<std::int64_t> unit_weights;
};

/// η = units · longest_path / compute_vertices.
double overlap_eta(int units, int longest_path, int compute_vertices);
/// CS = (imbalance · comm_norm^1.5 · eta)^(1/3).
double concurrency_score(double imbalance, double comm_norm, double eta);

/// All metrics of `parts` (checked with `check_partition`). `shares`: each unit's share
/// of the weight as in `PartitionOptions::shares` (empty: equal).
PartitionMetrics evaluate_partition(const Hypergraph& hg, const std::vector<int>& parts,
                                    int units, int longest_path,
                                    const std::vector<double>& shares = {});

}  // namespace concnas::partition
