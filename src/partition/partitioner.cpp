#include "concnas/partition/partitioner.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/ranges.h>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::partition {

void PartitionOptions::sanity_check() const {
  CONCNAS_CHECK(units >= 1, "units must be at least 1, got {}", units);
  CONCNAS_CHECK(epsilon >= 1.0, "balance bound epsilon must be at least 1, got {}",
                format_number(epsilon));
  if (shares.empty()) return;
  CONCNAS_CHECK(static_cast<int>(shares.size()) == units, "{} shares given for {} units",
                shares.size(), units);
  for (std::size_t u = 0; u < shares.size(); ++u)
    CONCNAS_CHECK(std::isfinite(shares[u]) && shares[u] > 0,
                  "the share of unit {} must be a positive number, got {}", u,
                  format_number(shares[u]));
}

double PartitionOptions::share_of(int unit) const {
  if (shares.empty()) return 1.0 / units;
  return shares.at(unit) / std::accumulate(shares.begin(), shares.end(), 0.0);
}

bool PartitionOptions::equal_shares() const {
  return std::all_of(shares.begin(), shares.end(), [&](double s) { return s == shares.front(); });
}

double balance_cap(const Hypergraph& hg, const PartitionOptions& options, int unit) {
  const double total = static_cast<double>(hg.total_weight());
  // Equal shares: the same arithmetic as before shares existed, so caps agree to the bit.
  if (options.shares.empty()) return options.epsilon * total / options.units;
  return options.epsilon * total * options.share_of(unit);
}

std::vector<double> balance_caps(const Hypergraph& hg, const PartitionOptions& options) {
  std::vector<double> caps(options.units);
  for (int u = 0; u < options.units; ++u) caps[u] = balance_cap(hg, options, u);
  return caps;
}

double relative_heaviest(const std::vector<std::int64_t>& unit_weights,
                         const PartitionOptions& options) {
  double heaviest = 0;
  for (std::size_t u = 0; u < unit_weights.size(); ++u)
    heaviest = std::max(heaviest, static_cast<double>(unit_weights[u]) /
                                      options.share_of(static_cast<int>(u)));
  return heaviest;
}

namespace {
void check_units_fit(const Hypergraph& hg, int units) {
  CONCNAS_CHECK(units <= hg.num_compute, "{} units is more than the {} compute vertices", units,
                hg.num_compute);
}
}  // namespace

std::vector<int> Partitioner::partition(const Hypergraph& hg,
                                        const PartitionOptions& options) const {
  options.sanity_check();
  check_units_fit(hg, options.units);
  auto parts = partition_impl(hg, options);
  check_partition(hg, parts, options.units);
  return parts;
}

std::vector<std::vector<int>> Partitioner::partition_each(
    const Hypergraph& hg, const PartitionOptions& options,
    const std::vector<double>& epsilons) const {
  CONCNAS_CHECK(options.units >= 1, "units must be at least 1, got {}", options.units);
  for (double e : epsilons) {
    PartitionOptions o = options;
    o.epsilon = e;
    o.sanity_check();
  }
  check_units_fit(hg, options.units);
  auto each = partition_each_impl(hg, options, epsilons);
  CONCNAS_CHECK(each.size() == epsilons.size(), "partitioner '{}' returned {} partitions for {} bounds",
                name(), each.size(), epsilons.size());
  for (const auto& parts : each) check_partition(hg, parts, options.units);
  return each;
}

std::vector<std::vector<int>> Partitioner::partition_each_impl(
    const Hypergraph& hg, const PartitionOptions& options,
    const std::vector<double>& epsilons) const {
  std::vector<std::vector<int>> each;
  for (double e : epsilons) {
    PartitionOptions o = options;
    o.epsilon = e;
    each.push_back(partition_impl(hg, o));
  }
  return each;
}

void register_builtin_partitioners(PartitionerRegistry& registry) {
  registry.add(make_metis_partitioner());
  registry.add(make_metis_unrefined_partitioner());
  registry.add(make_components_partitioner());
  registry.add(make_single_partitioner());
  registry.add(make_exact_partitioner());
}

PartitionerRegistry builtin_partitioners() {
  PartitionerRegistry registry;
  register_builtin_partitioners(registry);
  return registry;
}

// ------------------------------------------------------------------ simple partitioners

namespace {

class SinglePartitioner final : public Partitioner {
 public:
  std::string name() const override { return "single"; }

 private:
  std::vector<int> partition_impl(const Hypergraph& hg, const PartitionOptions&) const override {
    return std::vector<int>(hg.num_vertices(), 0);
  }
};

// Union-find over the compute vertices joined by nets (input/output left out).
std::vector<int> compute_components(const Hypergraph& hg) {
  std::vector<int> parent(hg.num_compute);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int v) {
    while (parent[v] != v) v = parent[v] = parent[parent[v]];
    return v;
  };
  for (const auto& net : hg.nets) {
    if (net.driver >= hg.num_compute) continue;
    for (int p : net.pins)
      if (p < hg.num_compute) {
        const int a = find(net.driver);
        const int b = find(p);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
      }
  }
  std::vector<int> root(hg.num_compute);
  for (int v = 0; v < hg.num_compute; ++v) root[v] = find(v);
  return root;
}

class ComponentsPartitioner final : public Partitioner {
 public:
  std::string name() const override { return "components"; }

 private:
  // The EDGE'23 paper's appendix (Hadidi et al.; docs/scoring.md): the components of the
  // DAG without input and output, heaviest first, each onto the unit that would finish
  // its work first (the least loaded, relative to its share). The balance bound is not enforced (a component is never split); the achieved
  // imbalance is what scoring reports.
  std::vector<int> partition_impl(const Hypergraph& hg,
                                  const PartitionOptions& options) const override {
    const auto root = compute_components(hg);
    std::vector<std::int64_t> weight(hg.num_compute, 0);
    for (int v = 0; v < hg.num_compute; ++v) weight[root[v]] += hg.weight[v];
    std::vector<int> comps;
    for (int v = 0; v < hg.num_compute; ++v)
      if (root[v] == v) comps.push_back(v);
    std::stable_sort(comps.begin(), comps.end(),
                     [&](int a, int b) { return weight[a] > weight[b]; });
    std::vector<double> time(options.units, 0);  // load / share
    std::vector<int> unit_of_root(hg.num_compute, 0);
    for (int c : comps) {
      int u = 0;  // the unit that would finish first with the component
      for (int x = 1; x < options.units; ++x)
        if (time[x] + static_cast<double>(weight[c]) / options.raw_share(x) <
            time[u] + static_cast<double>(weight[c]) / options.raw_share(u))
          u = x;
      unit_of_root[c] = u;
      time[u] += static_cast<double>(weight[c]) / options.raw_share(u);
    }
    std::vector<int> parts(hg.num_vertices(), 0);
    for (int v = 0; v < hg.num_compute; ++v) parts[v] = unit_of_root[root[v]];
    return parts;
  }
};

// Exhaustive branch and bound. With equal shares, units 1..k-1 are interchangeable (unit
// 0 holds the pinned vertices), so a vertex may open at most one new unit: each partition
// is visited once.
class ExactPartitioner final : public Partitioner {
 public:
  std::string name() const override { return "exact"; }

 private:
  std::vector<int> partition_impl(const Hypergraph& hg,
                                  const PartitionOptions& options) const override {
    CONCNAS_CHECK(hg.num_compute <= kExactMaxVertices,
                  "the exact partitioner handles at most {} compute vertices, got {}",
                  kExactMaxVertices, hg.num_compute);
    const int k = options.units;
    State s(hg, k, balance_caps(hg, options), options.equal_shares());
    s.parts.assign(hg.num_vertices(), -1);
    s.count.assign(hg.nets.size() * k, 0);
    s.distinct.assign(hg.nets.size(), 0);
    s.load.assign(k, 0);
    for (int v = 0; v < hg.num_vertices(); ++v)
      if (hg.pinned[v] >= 0) s.assign(v, hg.pinned[v]);
    s.search(0, 0);
    CONCNAS_CHECK(!s.best_parts.empty(),
                  "no partition into {} units keeps every unit within epsilon = {} of its "
                  "share of the weight",
                  k, format_number(options.epsilon));
    return s.best_parts;
  }

  struct State {
    State(const Hypergraph& h, int units, std::vector<double> c, bool interchangeable)
        : hg(h), k(units), caps(std::move(c)), symmetric(interchangeable) {}
    const Hypergraph& hg;
    int k;
    std::vector<double> caps;
    bool symmetric;  // units 1..k-1 interchangeable
    std::vector<int> parts;
    std::vector<int> count;     // pins of net e on unit u: count[e * k + u]
    std::vector<int> distinct;  // units net e touches so far
    std::vector<std::int64_t> load;
    std::int64_t cost = 0;      // Σ cost · (distinct − 1) over nets touched so far
    std::int64_t best = -1;
    std::vector<int> best_parts;

    void assign(int v, int u) {
      parts[v] = u;
      load[u] += hg.weight[v];
      for (int e : hg.nets_of[v])
        if (count[e * k + u]++ == 0 && distinct[e]++ > 0) cost += hg.nets[e].cost;
    }
    void unassign(int v) {
      const int u = parts[v];
      for (int e : hg.nets_of[v])
        if (--count[e * k + u] == 0 && --distinct[e] > 0) cost -= hg.nets[e].cost;
      load[u] -= hg.weight[v];
      parts[v] = -1;
    }
    void search(int v, int opened) {
      if (best >= 0 && cost >= best) return;  // cost only grows as pins are placed
      if (v == hg.num_compute) {
        best = cost;
        best_parts = parts;
        return;
      }
      const int limit = symmetric ? std::min(k - 1, opened + 1) : k - 1;
      for (int u = 0; u <= limit; ++u) {
        if (static_cast<double>(load[u] + hg.weight[v]) > caps[u]) continue;
        assign(v, u);
        search(v + 1, std::max(opened, u));
        unassign(v);
      }
    }
  };
};

}  // namespace

std::unique_ptr<Partitioner> make_single_partitioner() {
  return std::make_unique<SinglePartitioner>();
}
std::unique_ptr<Partitioner> make_components_partitioner() {
  return std::make_unique<ComponentsPartitioner>();
}
std::unique_ptr<Partitioner> make_exact_partitioner() {
  return std::make_unique<ExactPartitioner>();
}

}  // namespace concnas::partition
