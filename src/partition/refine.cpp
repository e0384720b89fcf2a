// Connectivity refinement: k-way Fiduccia-Mattheyses passes and pairwise swap sweeps on
// the true objective Λ = Σ cost(e) · (units e touches − 1).
//
// The search scores thousands of candidates a second and refines each several times, so
// a Refiner copies the hypergraph's nets into flat arrays once and every loop runs on them.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "refiner.h"

#include "concnas/common/error.h"

namespace concnas::partition {

namespace {
// The unit whose load is the smallest relative to its share.
int least_relative_load(const std::vector<std::int64_t>& load, const PartitionOptions& options) {
  int best = 0;
  for (int u = 1; u < static_cast<int>(load.size()); ++u)
    if (static_cast<double>(load[u]) / options.raw_share(u) <
        static_cast<double>(load[best]) / options.raw_share(best))
      best = u;
  return best;
}
}  // namespace

Refiner::Refiner(const Hypergraph& hg) : hg_(hg), n_(hg.num_vertices()), weight_(hg.weight) {
  pinned_.assign(n_, 1);
  for (int v = 0; v < n_; ++v)
    if (hg.pinned[v] < 0) {
      free_.push_back(v);
      pinned_[v] = 0;
      heaviest_free_ = std::max(heaviest_free_, hg.weight[v]);
    }
  const int m = static_cast<int>(hg.nets.size());
  net_begin_.assign(1, 0);
  cost_.resize(m);
  for (int e = 0; e < m; ++e) {
    cost_[e] = hg.nets[e].cost;
    pins_.insert(pins_.end(), hg.nets[e].pins.begin(), hg.nets[e].pins.end());
    net_begin_.push_back(static_cast<int>(pins_.size()));
  }
  vnet_begin_.assign(1, 0);
  for (int v = 0; v < n_; ++v) {
    vnets_.insert(vnets_.end(), hg.nets_of[v].begin(), hg.nets_of[v].end());
    vnet_begin_.push_back(static_cast<int>(vnets_.size()));
  }
  marked_.assign(m, 0);
}

std::vector<int> Refiner::greedy_start(const PartitionOptions& options, Rng& rng) const {
  const int k = options.units;
  const auto caps = balance_caps(hg_, options);
  std::vector<int> parts(n_, -1);
  std::vector<std::int64_t> load(k, 0);
  for (int v = 0; v < n_; ++v)
    if (pinned_[v]) parts[v] = hg_.pinned[v];
  std::vector<int> order = free_;
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  // Bytes shared with each unit, at affinity[unit + 1]; slot 0 collects the pins not
  // placed yet, v itself included, so the loop needs no test (it was mispredicted often).
  std::vector<std::int64_t> slots(k + 1);
  const std::int64_t* affinity = slots.data() + 1;
  for (int v : order) {
    std::fill(slots.begin(), slots.end(), 0);
    for (const int* e = nets_begin(v); e != nets_end(v); ++e)
      for (int i = net_begin_[*e]; i < net_begin_[*e + 1]; ++i) slots[parts[pins_[i]] + 1] += cost_[*e];
    int best = -1;
    for (int u = 0; u < k; ++u) {
      if (static_cast<double>(load[u] + weight_[v]) > caps[u]) continue;
      if (best < 0 || affinity[u] > affinity[best] ||
          (affinity[u] == affinity[best] && load[u] < load[best]))
        best = u;
    }
    if (best < 0) best = least_relative_load(load, options);
    parts[v] = best;
    load[best] += weight_[v];
  }
  return parts;
}

std::int64_t Refiner::refine(const PartitionOptions& options, std::vector<int>& parts) {
  k_ = options.units;
  if (k_ == 1) return 0;
  parts_ = parts.data();
  // Weights are integers: a load fits a cap exactly when it fits its floor.
  cap_exact_ = balance_caps(hg_, options);
  cap_.resize(k_);
  relaxed_cap_.resize(k_);
  for (int u = 0; u < k_; ++u) {
    cap_[u] = static_cast<std::int64_t>(std::floor(cap_exact_[u]));
    // During a pass a unit may exceed its cap by one vertex, so that two moves can act as
    // a swap; only states within the caps are kept as results.
    relaxed_cap_[u] = cap_[u] + heaviest_free_;
  }
  switch (k_) {
    case 2: return run<2>();
    case 3: return run<3>();
    case 4: return run<4>();
    case 8: return run<8>();
    default: return run<0>();
  }
}

template <int K>
std::int64_t Refiner::run() {
  const int k = units<K>();
  const int m = static_cast<int>(cost_.size());
  count_.assign(static_cast<std::size_t>(m) * k, 0);
  lambda_ = 0;
  for (int e = 0; e < m; ++e) {
    int* row = &count_[static_cast<std::size_t>(e) * k];
    for (int i = net_begin_[e]; i < net_begin_[e + 1]; ++i) ++row[parts_[pins_[i]]];
    int touched = 0;
    for (int u = 0; u < k; ++u) touched += row[u] > 0;
    lambda_ += cost_[e] * (touched - 1);
  }
  load_.assign(k, 0);
  for (int v = 0; v < n_; ++v) load_[parts_[v]] += weight_[v];
  gain_.assign(static_cast<std::size_t>(n_) * k, 0);
  best_gain_.assign(n_, kStay);
  for (int v : free_) compute_gains<K>(v);
  room_.resize(k);
  fm_passes<K>();
  for (int round = 0; round < 8 && swap_sweep<K>(); ++round) fm_passes<K>();
  return lambda_;
}

// gain_[v·k + b]: drop in Λ if v moved to unit b; kStay (far below any real gain) for
// b == parts[v], so that the best gain needs no test of the unit.
template <int K>
void Refiner::compute_gains(int v) {
  const int k = units<K>();
  const int a = parts_[v];
  std::int64_t* g = &gain_[static_cast<std::size_t>(v) * k];
  // Sums in registers (with the unit count fixed) and masks instead of branches: whether
  // a unit holds a pin of a net is close to random, and branches on it mispredict.
  std::int64_t local[K > 0 ? K : 1] = {};
  std::int64_t* join = K > 0 ? local : g;
  if (K == 0) std::fill(g, g + k, 0);
  std::int64_t leave = 0;
  for (const int* e = nets_begin(v); e != nets_end(v); ++e) {
    const int* row = &count_[*e * k];
    const std::int64_t c = cost_[*e];
    leave += c & -static_cast<std::int64_t>(row[a] == 1);
    for (int b = 0; b < k; ++b) join[b] += c & -static_cast<std::int64_t>(row[b] == 0);
  }
  for (int b = 0; b < k; ++b) g[b] = leave - join[b];
  g[a] = kStay;
  note_best<K>(v);
}

template <int K>
void Refiner::note_best(int v) {
  const int k = units<K>();
  const std::int64_t* g = &gain_[static_cast<std::size_t>(v) * k];
  std::int64_t best = g[0];
  for (int b = 1; b < k; ++b) best = std::max(best, g[b]);
  best_gain_[v] = best;
}

// Moves v and keeps every other free vertex's gains exact, and v's own unless an FM pass
// (which locks v and recomputes it once at its end) says otherwise.
template <int K>
void Refiner::move(int v, int to, bool own_gains) {
  const int k = units<K>();
  const int from = parts_[v];
  for (const int* e = nets_begin(v); e != nets_end(v); ++e) {
    --count_[*e * k + from];
    ++count_[*e * k + to];
  }
  load_[from] -= weight_[v];
  load_[to] += weight_[v];
  parts_[v] = to;
  update_gains<K>(v, from, to);
  if (own_gains) compute_gains<K>(v);
  if (verify_) verify_gains();
}

void Refiner::verify_gains() const {
  std::vector<std::int64_t> g(k_);
  for (int v : free_) {
    if (in_pass_ && std::any_of(moves_.begin(), moves_.end(), [v](const auto& m) { return m.first == v; }))
      continue;
    std::fill(g.begin(), g.end(), 0);
    for (const int* e = nets_begin(v); e != nets_end(v); ++e)
      for (int b = 0; b < k_; ++b) {
        const int* row = &count_[*e * k_];
        if (row[parts_[v]] == 1) g[b] += cost_[*e];
        if (row[b] == 0) g[b] -= cost_[*e];
      }
    std::int64_t best = kStay;
    for (int b = 0; b < k_; ++b) {
      if (b == parts_[v]) continue;
      const std::int64_t kept = gain_[static_cast<std::size_t>(v) * k_ + b];
      CONCNAS_CHECK(kept == g[b], "refinement: vertex {} to unit {} keeps gain {}, recomputed {}", v, b,
                    kept, g[b]);
      best = std::max(best, g[b]);
    }
    CONCNAS_CHECK(best_gain_[v] == best, "refinement: vertex {} keeps best gain {}, recomputed {}", v,
                  best_gain_[v], best);
  }
}

// After v moved from `from` to `to`: only nets whose pin count on `from` fell to 0 or 1,
// or on `to` rose to 1 or 2, change the gains of their other pins.
template <int K>
void Refiner::update_gains(int v, int from, int to) {
  const int k = units<K>();
  for (const int* e = nets_begin(v); e != nets_end(v); ++e) {
    const int left = count_[*e * k + from];
    const int now = count_[*e * k + to];
    if (left > 1 && now > 2) continue;
    const std::int64_t c = cost_[*e];
    for (int i = net_begin_[*e]; i < net_begin_[*e + 1]; ++i) {
      const int p = pins_[i];
      if (p == v || pinned_[p]) continue;
      std::int64_t* g = &gain_[static_cast<std::size_t>(p) * k];
      std::int64_t& best = best_gain_[p];
      bool rescan = false;
      if (now == 1) {  // joining `to` no longer adds a unit to e
        g[to] += c;
        best = std::max(best, g[to]);
      }
      if (left == 0) {  // joining `from` now adds one
        rescan = g[from] == best;
        g[from] -= c;
      }
      // If p is no longer alone on `to`, leaving it saves nothing (-c on every gain); if p
      // is now alone on `from`, leaving it saves c (+c). Masks, not branches: which unit
      // p is on is close to random.
      const int on = parts_[p];
      const std::int64_t shift = (c & -static_cast<std::int64_t>((left == 1) & (on == from))) -
                                 (c & -static_cast<std::int64_t>((now == 2) & (on == to)));
      for (int b = 0; b < k; ++b) g[b] += shift;
      best += shift;
      if (rescan) note_best<K>(p);
    }
  }
}

// FM passes: move the unlocked vertex with the best gain (within the relaxed cap, or out
// of an overloaded unit while one is over the cap), lock it, and roll back to the best
// prefix of the pass in (overload, Λ) order; stop when a pass finds nothing better.
template <int K>
void Refiner::fm_passes() {
  in_pass_ = true;
  for (int pass = 0; pass < 32; ++pass) {
    active_ = free_;
    moves_.clear();
    moved_to_.clear();
    save_pass_start();
    std::int64_t best_total = 0;  // Λ decrease of the best prefix
    const std::size_t best_len = fm_moves<K>(best_total);
    keep_best_prefix<K>(best_len);
    lambda_ -= best_total;
    if (best_len == 0) break;
  }
  in_pass_ = false;
  moves_.clear();
}

// The state at the pass's start (every gain exact): most passes keep a short prefix, and
// restoring this and redoing the prefix is cheaper than undoing the rest.
void Refiner::save_pass_start() {
  start_parts_.assign(parts_, parts_ + n_);
  start_count_ = count_;
  start_load_ = load_;
  start_gain_ = gain_;
  start_best_gain_ = best_gain_;
}

// One pass's moves, each vertex locked once moved, until none is left or `patience` moves
// past the best state so far; returns the best prefix's length and its Λ decrease.
template <int K>
std::size_t Refiner::fm_moves(std::int64_t& best_total) {
  const int patience = std::max(8, n_ / 4);
  std::int64_t total = 0;  // Λ decrease so far in this pass
  double over_now = overload();
  double best_over = over_now;
  best_total = 0;
  std::size_t best_len = 0;
  while (!active_.empty()) {
    const Candidate best = best_candidate<K>(over_now == 0);
    if (best.unit < 0) break;
    const int bv = active_[best.index];
    if (best.unit == parts_[bv]) break;  // only the own unit's placeholder gain left (cannot
                                         // happen while every unit has room for any vertex)
    const int from = parts_[bv];
    // Keep the scan order of the remaining vertices (ties go to the lowest position).
    active_.erase(active_.begin() + static_cast<std::ptrdiff_t>(best.index));
    moves_.emplace_back(bv, from);
    moved_to_.push_back(best.unit);
    move<K>(bv, best.unit, false);
    total += best.gain;
    over_now = overload();
    if (over_now < best_over || (over_now == best_over && total > best_total)) {
      best_over = over_now;
      best_total = total;
      best_len = moves_.size();
    }
    if (moves_.size() - best_len > static_cast<std::size_t>(patience)) break;
  }
  return best_len;
}

// The first vertex of active_ with the best gain to a unit with room; a vertex whose best
// gain anywhere cannot beat the best so far is skipped, the rest compare branch-free.
template <int K>
Refiner::Candidate Refiner::best_candidate(bool feasible) {
  const int k = units<K>();
  for (int u = 0; u < k; ++u) room_[u] = (feasible ? relaxed_cap_[u] : cap_[u]) - load_[u];
  std::size_t bi = 0;
  int bu = -1;
  std::int64_t bg = std::numeric_limits<std::int64_t>::min();
  // One loop per case, so that the feasibility test is not repeated per vertex.
  auto scan = [&](auto feasible_case) {
    for (std::size_t i = 0; i < active_.size(); ++i) {
      const int v = active_[i];
      if (best_gain_[v] <= bg) continue;
      // Over the cap, only moves out of an overloaded unit into room are allowed.
      if constexpr (!decltype(feasible_case)::value)
        if (load_[parts_[v]] <= cap_[parts_[v]]) continue;
      const std::int64_t w = weight_[v];
      const std::int64_t* g = &gain_[static_cast<std::size_t>(v) * k];
      for (int u = 0; u < k; ++u) {
        const bool better = (w <= room_[u]) & (g[u] > bg);
        bg = better ? g[u] : bg;
        bu = better ? u : bu;
        bi = better ? i : bi;
      }
    }
  };
  if (feasible) scan(std::true_type{});
  else scan(std::false_type{});
  return {bi, bu, bg};
}

// Leaves the state after the pass's first `best_len` moves, with every gain exact.
template <int K>
void Refiner::keep_best_prefix(std::size_t best_len) {
  if (best_len < moves_.size() - best_len) {
    // Back to the start, then the kept moves again; only their movers' gains are stale.
    std::copy(start_parts_.begin(), start_parts_.end(), parts_);
    count_.swap(start_count_);
    load_.swap(start_load_);
    gain_.swap(start_gain_);
    best_gain_.swap(start_best_gain_);
    for (std::size_t i = 0; i < best_len; ++i) move<K>(moves_[i].first, moved_to_[i], false);
    for (std::size_t i = 0; i < best_len; ++i) compute_gains<K>(moves_[i].first);
  } else {
    for (std::size_t i = moves_.size(); i > best_len; --i)
      move<K>(moves_[i - 1].first, moves_[i - 1].second, false);
    for (const auto& mv : moves_) compute_gains<K>(mv.first);
  }
}

// Pairwise swaps between units: what single moves cannot do when every unit is full.
// First improvement in (overload, Λ) order. A swap of v (unit a) and w (unit b) gains
// gain[v][b] + gain[w][a], less, for every net e holding both, cost(e) for each of a
// and b that v or w would have left empty (the other one refills it): a shared net
// never adds to the pair's gain, so pairs whose separate gains sum to <= 0 are skipped.
template <int K>
bool Refiner::swap_sweep() {
  const int k = units<K>();
  bool improved = false;
  // Within the cap no swap lowers the overload, so a pair must gain: it gains at most the
  // sum of its two best single-move gains, which prunes most pairs and often whole rows.
  const bool feasible = overload() == 0;
  auto top = [&] {
    std::int64_t m = kStay;
    for (int v : free_) m = std::max(m, best_gain_[v]);
    return m;
  };
  std::int64_t best_any = feasible ? top() : 0;
  for (std::size_t i = 0; i < free_.size(); ++i) {
    const int v = free_[i];
    if (feasible && best_gain_[v] + best_any <= 0) continue;
    bool marked = false;
    for (std::size_t j = i + 1; j < free_.size(); ++j) {
      const int w = free_[j];
      const int a = parts_[v];
      const int b = parts_[w];
      const std::int64_t shift = weight_[v] - weight_[w];
      bool lowers_overload = false;
      if (feasible) {
        // Both units must stay within the cap and the pair must gain. Integer tests joined
        // without short-circuits: one branch instead of several mispredicted ones.
        if ((a == b) | (best_gain_[v] + best_gain_[w] <= 0) | (load_[a] - shift > cap_[a]) |
            (load_[b] + shift > cap_[b]))
          continue;
      } else {
        if (a == b) continue;
        const double before = over(a, load_[a]) + over(b, load_[b]);
        const double after = over(a, load_[a] - shift) + over(b, load_[b] + shift);
        if (after > before) continue;
        lowers_overload = after < before;
      }
      std::int64_t g = gain_[static_cast<std::size_t>(v) * k + b] +
                       gain_[static_cast<std::size_t>(w) * k + a];
      if (!lowers_overload && g <= 0) continue;
      if (!marked) {
        for (const int* e = nets_begin(v); e != nets_end(v); ++e) marked_[*e] = 1;
        marked = true;
      }
      for (const int* e = nets_begin(w); e != nets_end(w); ++e)
        if (marked_[*e])
          g -= cost_[*e] * ((count_[*e * k + a] == 1) + (count_[*e * k + b] == 1));
      if (lowers_overload || g > 0) {
        move<K>(v, b);
        move<K>(w, a);
        lambda_ -= g;
        improved = true;
        if (feasible) best_any = top();
        break;  // v moved: its pairs are stale, go on with the next v
      }
    }
    if (marked)
      for (const int* e = nets_begin(v); e != nets_end(v); ++e) marked_[*e] = 0;
  }
  return improved;
}

std::int64_t refine_connectivity(const Hypergraph& hg, const PartitionOptions& options,
                                 std::vector<int>& parts) {
  return Refiner(hg).refine(options, parts);
}

}  // namespace concnas::partition
