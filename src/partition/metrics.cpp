#include "concnas/partition/metrics.h"

#include <algorithm>
#include <cmath>

#include "concnas/partition/partitioner.h"

namespace concnas::partition {

double overlap_eta(int units, int longest_path, int compute_vertices) {
  return static_cast<double>(units) * longest_path / compute_vertices;
}

double concurrency_score(double imbalance, double comm_norm, double eta) {
  return std::cbrt(imbalance * std::pow(comm_norm, 1.5) * eta);
}

namespace {
double imbalance(const Hypergraph& hg, const std::vector<std::int64_t>& unit_weights,
                 const std::vector<double>& shares) {
  const double total = static_cast<double>(hg.total_weight());
  if (total <= 0) return 1.0;
  const int units = static_cast<int>(unit_weights.size());
  if (shares.empty()) {
    const auto heaviest = *std::max_element(unit_weights.begin(), unit_weights.end());
    return static_cast<double>(heaviest) / (total / units);
  }
  PartitionOptions o;
  o.units = units;
  o.shares = shares;
  o.sanity_check();
  return relative_heaviest(unit_weights, o) / total;
}
}  // namespace

PartitionMetrics evaluate_partition(const Hypergraph& hg, const std::vector<int>& parts,
                                    int units, int longest_path,
                                    const std::vector<double>& shares) {
  check_partition(hg, parts, units);
  PartitionMetrics m;
  m.units = units;
  m.comm_bytes = connectivity_cost(hg, parts, units);
  const std::int64_t unit_cost = hg.min_net_cost();
  m.comm_norm = unit_cost > 0 ? static_cast<double>(m.comm_bytes) / (static_cast<double>(unit_cost) * units) : 0.0;
  m.unit_weights = part_weights(hg, parts, units);
  m.imbalance = imbalance(hg, m.unit_weights, shares);
  m.eta = overlap_eta(units, longest_path, hg.num_compute);
  m.cs = concurrency_score(m.imbalance, m.comm_norm, m.eta);
  return m;
}

}  // namespace concnas::partition
