#include "concnas/partition/partitioner.h"

#include <algorithm>
#include <numeric>

#include <fmt/ranges.h>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::partition {

void PartitionOptions::sanity_check() const {
  CONCNAS_CHECK(units >= 1, "units must be at least 1, got {}", units);
  CONCNAS_CHECK(epsilon >= 1.0, "balance bound epsilon must be at least 1, got {}",
                format_number(epsilon));
}

double balance_cap(const Hypergraph& hg, const PartitionOptions& options) {
  return options.epsilon * static_cast<double>(hg.total_weight()) / options.units;
}

std::vector<int> Partitioner::partition(const Hypergraph& hg,
                                        const PartitionOptions& options) const {
  options.sanity_check();
  CONCNAS_CHECK(options.units <= hg.num_compute,
                "{} units is more than the {} compute vertices", options.units, hg.num_compute);
  auto parts = partition_impl(hg, options);
  check_partition(hg, parts, options.units);
  return parts;
}

std::vector<std::vector<int>> Partitioner::partition_each(
    const Hypergraph& hg, const PartitionOptions& options,
    const std::vector<double>& epsilons) const {
  for (double e : epsilons) {
    PartitionOptions o = options;
    o.epsilon = e;
    o.sanity_check();
  }
  CONCNAS_CHECK(options.units <= hg.num_compute,
                "{} units is more than the {} compute vertices", options.units, hg.num_compute);
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
  // seed 000's appendix: the components of the DAG without input and output, heaviest
  // first, each onto the currently least loaded unit. The balance bound is not enforced
  // (a component is never split); the achieved imbalance is what scoring reports.
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
    std::vector<std::int64_t> load(options.units, 0);
    std::vector<int> unit_of_root(hg.num_compute, 0);
    for (int c : comps) {
      const int u = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
      unit_of_root[c] = u;
      load[u] += weight[c];
    }
    std::vector<int> parts(hg.num_vertices(), 0);
    for (int v = 0; v < hg.num_compute; ++v) parts[v] = unit_of_root[root[v]];
    return parts;
  }
};

// Exhaustive branch and bound. Units 1..k-1 are interchangeable (unit 0 holds the pinned
// vertices), so a vertex may open at most one new unit: each partition is visited once.
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
    const double cap = balance_cap(hg, options);
    State s(hg, k, cap);
    s.parts.assign(hg.num_vertices(), -1);
    s.count.assign(hg.nets.size() * k, 0);
    s.distinct.assign(hg.nets.size(), 0);
    s.load.assign(k, 0);
    for (int v = 0; v < hg.num_vertices(); ++v)
      if (hg.pinned[v] >= 0) s.assign(v, hg.pinned[v]);
    s.search(0, 0);
    CONCNAS_CHECK(!s.best_parts.empty(),
                  "no partition into {} units keeps every unit within epsilon = {} of the "
                  "average weight",
                  k, format_number(options.epsilon));
    return s.best_parts;
  }

  struct State {
    State(const Hypergraph& h, int units, double c) : hg(h), k(units), cap(c) {}
    const Hypergraph& hg;
    int k;
    double cap;
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
      const int limit = std::min(k - 1, opened + 1);
      for (int u = 0; u <= limit; ++u) {
        if (static_cast<double>(load[u] + hg.weight[v]) > cap) continue;
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

// ------------------------------------------------------------------ refinement

std::int64_t refine_connectivity(const Hypergraph& hg, const PartitionOptions& options,
                                 std::vector<int>& parts) {
  const int k = options.units;
  const int n = hg.num_vertices();
  if (k == 1) return 0;
  const double cap = balance_cap(hg, options);
  std::int64_t heaviest_free = 0;
  for (int v = 0; v < n; ++v)
    if (hg.pinned[v] < 0) heaviest_free = std::max(heaviest_free, hg.weight[v]);
  // During a pass a unit may exceed the cap by one vertex, so that two moves can act as a
  // swap; only states within the cap are kept as results.
  const double relaxed_cap = cap + static_cast<double>(heaviest_free);
  std::vector<int> count(hg.nets.size() * k, 0);
  for (std::size_t e = 0; e < hg.nets.size(); ++e)
    for (int p : hg.nets[e].pins) ++count[e * k + parts[p]];
  std::vector<std::int64_t> load = part_weights(hg, parts, k);
  auto overload = [&] {
    double total = 0;
    for (auto w : load) total += std::max(0.0, static_cast<double>(w) - cap);
    return total;
  };
  std::int64_t lambda = connectivity_cost(hg, parts, k);

  // gain[v * k + b]: drop in Λ if v moved to unit b (meaningless for b == parts[v]).
  std::vector<std::int64_t> gain(static_cast<std::size_t>(n) * k, 0);
  auto compute_gains = [&](int v) {
    const int a = parts[v];
    std::int64_t leave = 0;
    for (int e : hg.nets_of[v])
      if (count[e * k + a] == 1) leave += hg.nets[e].cost;
    for (int b = 0; b < k; ++b) {
      std::int64_t g = leave;
      for (int e : hg.nets_of[v])
        if (count[e * k + b] == 0) g -= hg.nets[e].cost;
      gain[static_cast<std::size_t>(v) * k + b] = g;
    }
  };
  auto move = [&](int v, int to) {
    const int from = parts[v];
    for (int e : hg.nets_of[v]) {
      --count[e * k + from];
      ++count[e * k + to];
    }
    load[from] -= hg.weight[v];
    load[to] += hg.weight[v];
    parts[v] = to;
  };

  // States compare by (overload, Λ): first get within the cap, then cut traffic.
  const int patience = std::max(8, n / 4);
  auto fm_passes = [&] {
  for (int pass = 0; pass < 32; ++pass) {
    std::vector<char> locked(n, 0);
    for (int v = 0; v < n; ++v) {
      locked[v] = hg.pinned[v] >= 0;
      if (!locked[v]) compute_gains(v);
    }
    std::vector<std::pair<int, int>> moves;  // (vertex, unit it came from)
    std::int64_t total = 0;  // Λ decrease so far in this pass
    double best_over = overload();
    std::int64_t best_total = 0;
    std::size_t best_len = 0;
    while (true) {
      const bool feasible = overload() == 0;
      int bv = -1;
      int bu = -1;
      std::int64_t bg = 0;
      for (int v = 0; v < n; ++v) {
        if (locked[v]) continue;
        const double w = static_cast<double>(hg.weight[v]);
        // Over the cap, only moves out of an overloaded unit into room are allowed.
        if (!feasible && static_cast<double>(load[parts[v]]) <= cap) continue;
        const double limit = feasible ? relaxed_cap : cap;
        for (int u = 0; u < k; ++u) {
          if (u == parts[v] || static_cast<double>(load[u]) + w > limit) continue;
          const std::int64_t g = gain[static_cast<std::size_t>(v) * k + u];
          if (bv < 0 || g > bg) {
            bv = v;
            bu = u;
            bg = g;
          }
        }
      }
      if (bv < 0) break;
      moves.emplace_back(bv, parts[bv]);
      move(bv, bu);
      locked[bv] = 1;
      total += bg;
      const double over = overload();
      if (over < best_over || (over == best_over && total > best_total)) {
        best_over = over;
        best_total = total;
        best_len = moves.size();
      }
      if (moves.size() - best_len > static_cast<std::size_t>(patience)) break;
      // Delta gain updates (connectivity metric): only nets whose pin count on the old
      // unit fell to 0 or 1, or on the new unit rose to 1 or 2, change other pins' gains.
      const int from = moves.back().second;
      for (int e : hg.nets_of[bv]) {
        const std::int64_t c = hg.nets[e].cost;
        const int left = count[e * k + from];  // after the move
        const int now = count[e * k + bu];
        if (left > 1 && now > 2) continue;
        for (int p : hg.nets[e].pins) {
          if (p == bv || locked[p]) continue;
          std::int64_t* g = &gain[static_cast<std::size_t>(p) * k];
          if (now == 1) g[bu] += c;  // joining unit bu no longer adds a unit to e
          if (left == 0) g[from] -= c;  // joining unit `from` now adds one
          if (now == 2 && parts[p] == bu)  // p is no longer alone on bu: leaving saves nothing
            for (int b = 0; b < k; ++b) g[b] -= c;
          if (left == 1 && parts[p] == from)  // p is now alone on `from`: leaving saves c
            for (int b = 0; b < k; ++b) g[b] += c;
        }
      }
    }
    while (moves.size() > best_len) {
      move(moves.back().first, moves.back().second);
      moves.pop_back();
    }
    lambda -= best_total;
    if (best_len == 0) break;
  }
  };

  // Pairwise swaps between units: what single moves cannot do when every unit is full.
  // First improvement in (overload, Λ) order. A swap of v (unit a) and w (unit b) gains
  // gain[v][b] + gain[w][a], less, for every net e holding both, cost(e) for each of a
  // and b that v or w would have left empty (the other one refills it): a shared net
  // never adds to the pair's gain, so pairs whose separate gains sum to <= 0 are skipped.
  auto unit_over = [&](std::int64_t w) { return std::max(0.0, static_cast<double>(w) - cap); };
  std::vector<char> net_of_v(hg.nets.size(), 0);
  auto swap_sweep = [&] {
    bool improved = false;
    for (int v = 0; v < n; ++v)
      if (hg.pinned[v] < 0) compute_gains(v);
    for (int v = 0; v < n; ++v) {
      if (hg.pinned[v] >= 0) continue;
      bool marked = false;
      for (int w = v + 1; w < n; ++w) {
        if (hg.pinned[w] >= 0 || parts[w] == parts[v]) continue;
        const int a = parts[v];
        const int b = parts[w];
        const std::int64_t shift = hg.weight[v] - hg.weight[w];
        const double before = unit_over(load[a]) + unit_over(load[b]);
        const double after = unit_over(load[a] - shift) + unit_over(load[b] + shift);
        if (after > before) continue;
        std::int64_t g =
            gain[static_cast<std::size_t>(v) * k + b] + gain[static_cast<std::size_t>(w) * k + a];
        if (after == before && g <= 0) continue;
        if (!marked) {
          for (int e : hg.nets_of[v]) net_of_v[e] = 1;
          marked = true;
        }
        for (int e : hg.nets_of[w])
          if (net_of_v[e])
            g -= hg.nets[e].cost * ((count[e * k + a] == 1) + (count[e * k + b] == 1));
        if (after < before || g > 0) {
          move(v, b);
          move(w, a);
          lambda -= g;
          improved = true;
          for (int x : {v, w})
            for (int e : hg.nets_of[x])
              for (int p : hg.nets[e].pins)
                if (hg.pinned[p] < 0) compute_gains(p);
          break;  // v moved: its pairs are stale, go on with the next v
        }
      }
      if (marked)
        for (int e : hg.nets_of[v]) net_of_v[e] = 0;
    }
    return improved;
  };

  fm_passes();
  for (int round = 0; round < 8 && swap_sweep(); ++round) fm_passes();
  return lambda;
}

}  // namespace concnas::partition
