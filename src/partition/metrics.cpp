#include "concnas/partition/metrics.h"

#include <algorithm>
#include <cmath>

namespace concnas::partition {

double overlap_eta(int units, int longest_path, int compute_vertices) {
  return static_cast<double>(units) * longest_path / compute_vertices;
}

double concurrency_score(double imbalance, double comm_norm, double eta) {
  return std::cbrt(imbalance * std::pow(comm_norm, 1.5) * eta);
}

PartitionMetrics evaluate_partition(const Hypergraph& hg, const std::vector<int>& parts,
                                    int units, int longest_path) {
  check_partition(hg, parts, units);
  PartitionMetrics m;
  m.units = units;
  m.comm_bytes = connectivity_cost(hg, parts, units);
  const std::int64_t unit_cost = hg.min_net_cost();
  m.comm_norm = unit_cost > 0 ? static_cast<double>(m.comm_bytes) / (static_cast<double>(unit_cost) * units) : 0.0;
  m.unit_weights = part_weights(hg, parts, units);
  const double average = static_cast<double>(hg.total_weight()) / units;
  const auto heaviest = *std::max_element(m.unit_weights.begin(), m.unit_weights.end());
  m.imbalance = average > 0 ? static_cast<double>(heaviest) / average : 1.0;
  m.eta = overlap_eta(units, longest_path, hg.num_compute);
  m.cs = concurrency_score(m.imbalance, m.comm_norm, m.eta);
  return m;
}

}  // namespace concnas::partition
