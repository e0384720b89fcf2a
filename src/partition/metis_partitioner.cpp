// METIS on a graph model of the hypergraph, then refinement of the true objective.
#include <metis.h>

#include <algorithm>
#include <limits>
#include <mutex>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/partition/partitioner.h"
#include "gklib_per_thread.h"
#include "refiner.h"

namespace concnas::partition {
namespace {

// METIS's idx_t is 32-bit here: scale weights so that sums stay far from overflow.
constexpr std::int64_t kMaxTotal = std::int64_t{1} << 28;

std::int64_t scale_factor(std::int64_t total) {
  return total <= kMaxTotal ? 1 : (total + kMaxTotal - 1) / kMaxTotal;
}

// (neighbour, bytes) per vertex in one flat array, vertex v's at [begin[v], begin[v + 1]).
struct Incidence {
  std::vector<int> begin;
  std::vector<std::pair<int, std::int64_t>> edges;
  std::int64_t total = 0;  // bytes over all edges, each counted from both ends
};

// The graph model: each net becomes edges from its driver to each other pin, weighted by
// the net's bytes. Counted first: the search builds thousands of these a second.
Incidence incidence(const Hypergraph& hg) {
  const int n = hg.num_vertices();
  Incidence in;
  in.begin.assign(n + 1, 0);
  for (const auto& net : hg.nets)
    for (std::size_t i = 1; i < net.pins.size(); ++i) {
      ++in.begin[net.driver + 1];
      ++in.begin[net.pins[i] + 1];
    }
  for (int v = 0; v < n; ++v) in.begin[v + 1] += in.begin[v];
  in.edges.resize(in.begin[n]);
  std::vector<int> fill(in.begin.begin(), in.begin.end() - 1);
  for (const auto& net : hg.nets)
    for (std::size_t i = 1; i < net.pins.size(); ++i) {
      in.edges[fill[net.driver]++] = {net.pins[i], net.cost};
      in.edges[fill[net.pins[i]]++] = {net.driver, net.cost};
      in.total += 2 * net.cost;
    }
  return in;
}

// The graph in METIS's CSR form, weights scaled to fit idx_t.
struct MetisGraph {
  std::vector<idx_t> xadj, adjncy, adjwgt, vwgt;
};

// Each vertex's slice of the incidence sorted by neighbour and pairs joined by several
// nets merged into one edge.
MetisGraph metis_graph(const Hypergraph& hg) {
  const int n = hg.num_vertices();
  Incidence in = incidence(hg);
  const std::int64_t wscale = scale_factor(hg.total_weight());
  const std::int64_t escale = scale_factor(in.total);
  MetisGraph g;
  g.xadj.reserve(n + 1);
  g.xadj.push_back(0);
  g.adjncy.reserve(in.edges.size());
  g.adjwgt.reserve(in.edges.size());
  g.vwgt.resize(n);
  for (int v = 0; v < n; ++v) {
    // Compute vertices keep a weight of at least 1 so that METIS balances their count.
    g.vwgt[v] = static_cast<idx_t>(
        hg.weight[v] == 0 ? 0 : std::max<std::int64_t>(1, hg.weight[v] / wscale));
    const auto first = in.edges.begin() + in.begin[v];
    const auto last = in.edges.begin() + in.begin[v + 1];
    std::sort(first, last, [](const auto& x, const auto& y) { return x.first < y.first; });
    for (auto it = first; it != last;) {
      std::int64_t c = 0;
      const int w = it->first;
      for (; it != last && it->first == w; ++it) c += it->second;
      g.adjncy.push_back(w);
      g.adjwgt.push_back(static_cast<idx_t>(std::max<std::int64_t>(1, c / escale)));
    }
    g.xadj.push_back(static_cast<idx_t>(g.adjncy.size()));
  }
  return g;
}

// METIS_PartGraphRecursive on `g`: each vertex's unit, each unit's weight in proportion
// to its share.
std::vector<idx_t> partition_graph(MetisGraph& g, const PartitionOptions& options, double epsilon) {
  const int n = static_cast<int>(g.vwgt.size());
  const int units = options.units;
  const std::uint64_t seed = options.seed;
  idx_t nvtxs = n;
  idx_t ncon = 1;
  idx_t nparts = units;
  std::vector<real_t> tpwgts(units);
  for (int u = 0; u < units; ++u) tpwgts[u] = static_cast<real_t>(options.share_of(u));
  // METIS needs a bound strictly above 1.
  real_t ubvec = static_cast<real_t>(std::max(epsilon, 1.001));
  idx_t metis_options[METIS_NOPTIONS];
  METIS_SetDefaultOptions(metis_options);
  metis_options[METIS_OPTION_SEED] = static_cast<idx_t>(seed % 2147483647u);
  metis_options[METIS_OPTION_NUMBERING] = 0;
  // One refinement iteration inside METIS: our own refinement follows, and METIS's
  // default (10) triples its time on these small graphs.
  metis_options[METIS_OPTION_NITER] = 1;
  idx_t objval = 0;
  std::vector<idx_t> part(n, 0);
  // GKlib keeps its random generator in process-wide state: with its per-thread
  // replacements bound (gklib_per_thread.h) threads partition at once; otherwise one call
  // at a time keeps every partition a function of its seed.
  static const bool per_thread = gklib_calls_are_per_thread();
  static std::mutex metis_mutex;
  std::unique_lock<std::mutex> lock(metis_mutex, std::defer_lock);
  if (!per_thread) lock.lock();
  const int status =
      METIS_PartGraphRecursive(&nvtxs, &ncon, g.xadj.data(), g.adjncy.data(), g.vwgt.data(),
                               nullptr, g.adjwgt.data(), &nparts,
                               options.shares.empty() ? nullptr : tpwgts.data(), &ubvec,
                               metis_options,
                               &objval, part.data());
  if (status != METIS_OK)
    throw Error(fmt::format("METIS failed (status {}) partitioning {} vertices into {} units",
                            status, n, units));
  return part;
}

std::vector<int> run_metis(const Hypergraph& hg, const PartitionOptions& options, double epsilon) {
  MetisGraph g = metis_graph(hg);
  const auto part = partition_graph(g, options, epsilon);
  std::vector<int> parts(part.begin(), part.end());
  // Pinned vertices weigh 0: relabel units so the input's unit becomes unit 0 where the
  // two have the same share, then put every pinned vertex on its unit (no effect on
  // balance).
  const int in_unit = parts[hg.input()];
  if (options.share_of(in_unit) == options.share_of(0))
    for (int& p : parts) {
      if (p == in_unit) p = 0;
      else if (p == 0) p = in_unit;
    }
  for (int v = 0; v < hg.num_vertices(); ++v)
    if (hg.pinned[v] >= 0) parts[v] = hg.pinned[v];
  return parts;
}

class MetisPartitioner final : public Partitioner {
 public:
  explicit MetisPartitioner(bool refine) : refine_(refine) {}
  std::string name() const override { return refine_ ? "metis" : "metis-unrefined"; }

 private:
  std::vector<int> partition_impl(const Hypergraph& hg,
                                  const PartitionOptions& options) const override {
    if (options.units == 1) return std::vector<int>(hg.num_vertices(), 0);
    if (!refine_) return run_metis(hg, options, options.epsilon);
    return partition_each_impl(hg, options, {options.epsilon}).front();
  }

  std::vector<std::vector<int>> partition_each_impl(
      const Hypergraph& hg, const PartitionOptions& options,
      const std::vector<double>& epsilons) const override {
    if (!refine_ || options.units == 1 || epsilons.empty())
      return Partitioner::partition_each_impl(hg, options, epsilons);
    const auto start = metis_start(hg, options);
    Refiner refiner(hg);
    const Rng rng = greedy_rng(options);
    std::vector<std::vector<int>> each;
    for (double e : epsilons) {
      PartitionOptions o = options;
      o.epsilon = e;
      each.push_back(best_refined(hg, o, refiner, rng, start));
    }
    return each;
  }

  // METIS balances the start to kStartBalance whatever the bound: the refinement then
  // works within the bound, and one METIS call serves every bound of a score.
  static std::vector<int> metis_start(const Hypergraph& hg, const PartitionOptions& options) {
    return run_metis(hg, options, kStartBalance);
  }

  // The greedy starts' generator: the same draws for every bound.
  static Rng greedy_rng(const PartitionOptions& options) {
    return Rng::derive(options.seed, 0x6d65746973ULL);
  }

  // The METIS start and some greedy ones, each refined; keep the lowest Λ within the
  // bound (then the lighter heaviest unit relative to its share, then the earliest start).
  // Small instances get more greedy starts: their refinement is cheap and their optima are
  // narrow.
  static std::vector<int> best_refined(const Hypergraph& hg, const PartitionOptions& options,
                                       Refiner& refiner, Rng rng, std::vector<int> metis) {
    std::vector<int> best;
    bool best_fits = false;
    std::int64_t best_lambda = 0;
    double best_max = 0;
    const auto caps = balance_caps(hg, options);
    auto consider = [&](std::vector<int> parts) {
      const auto lambda = refiner.refine(options, parts);
      const auto w = part_weights(hg, parts, options.units);
      const double heaviest = relative_heaviest(w, options);
      bool fits = true;
      for (int u = 0; u < options.units; ++u) fits = fits && static_cast<double>(w[u]) <= caps[u];
      if (best.empty() || (fits && !best_fits) ||
          (fits == best_fits && (lambda < best_lambda ||
                                 (lambda == best_lambda && heaviest < best_max)))) {
        best = std::move(parts);
        best_fits = fits;
        best_lambda = lambda;
        best_max = heaviest;
      }
    };
    consider(std::move(metis));
    std::size_t pins = 0;
    for (const auto& net : hg.nets) pins += net.pins.size();
    const int greedy =
        std::clamp(static_cast<int>(kGreedyBudget / (pins * options.units)), 1, 16);
    for (int start = 0; start < greedy; ++start) consider(refiner.greedy_start(options, rng));
    return best;
  }

  static constexpr double kStartBalance = 1.03;
  // Greedy starts: refinement work grows with pins x units; about this much in all.
  static constexpr std::size_t kGreedyBudget = 1000;
  bool refine_;
};

}  // namespace

std::unique_ptr<Partitioner> make_metis_partitioner() {
  return std::make_unique<MetisPartitioner>(true);
}
std::unique_ptr<Partitioner> make_metis_unrefined_partitioner() {
  return std::make_unique<MetisPartitioner>(false);
}

}  // namespace concnas::partition
