#pragma once
// Connectivity refinement with the hypergraph copied into flat arrays once: a partitioner
// that refines several starts of one hypergraph builds one Refiner and calls `refine` for
// each (the buffers are reused). `refine_connectivity` is `Refiner(hg).refine(...)`.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "concnas/common/rng.h"
#include "concnas/partition/partitioner.h"

namespace concnas::partition {

class Refiner {
 public:
  explicit Refiner(const Hypergraph& hg);
  /// As `refine_connectivity`: improves `parts` in place and returns its Λ.
  std::int64_t refine(const PartitionOptions& options, std::vector<int>& parts);
  /// A cheap start to refine, from the same flat copy: vertices in random order, each onto
  /// the unit it shares the most bytes with among those with room (the least loaded when
  /// none has room).
  std::vector<int> greedy_start(const PartitionOptions& options, Rng& rng) const;
  /// Tests: after every move, recompute every gain that should be exact and throw
  /// `Error` on a difference (slow).
  void verify_each_move(bool on) { verify_ = on; }

 private:
  // Weight over unit u's exact (fractional) cap: states over it are ranked by this sum.
  double over(int u, std::int64_t load) const {
    return load > cap_[u] ? static_cast<double>(load) - cap_exact_[u] : 0.0;
  }
  double overload() const {
    double total = 0;
    for (int u = 0; u < k_; ++u) total += over(u, load_[u]);
    return total;
  }
  void verify_gains() const;
  const int* nets_begin(int v) const { return vnets_.data() + vnet_begin_[v]; }
  const int* nets_end(int v) const { return vnets_.data() + vnet_begin_[v + 1]; }
  // The loops below run over the units: K > 0 fixes their count at compile time (the
  // common 2, 3, 4 and 8, unrolled), K == 0 reads it from k_.
  template <int K> int units() const { return K > 0 ? K : k_; }
  template <int K> std::int64_t run();
  template <int K> void compute_gains(int v);
  template <int K> void note_best(int v);
  template <int K> void move(int v, int to, bool own_gains = true);
  template <int K> void update_gains(int v, int from, int to);
  template <int K> void fm_passes();
  // An FM pass's next move: the vertex at active_[index] to `unit`, gaining `gain`.
  struct Candidate {
    std::size_t index;
    int unit;  // -1: no vertex can move
    std::int64_t gain;
  };
  void save_pass_start();
  template <int K> std::size_t fm_moves(std::int64_t& best_total);
  template <int K> Candidate best_candidate(bool feasible);
  template <int K> void keep_best_prefix(std::size_t best_len);
  template <int K> bool swap_sweep();

  // The hypergraph (which must outlive the Refiner) and its flat copy.
  const Hypergraph& hg_;
  int n_ = 0;
  const std::vector<std::int64_t>& weight_;
  std::vector<int> free_;  // unpinned vertices, ascending
  std::vector<char> pinned_;
  std::int64_t heaviest_free_ = 0;
  std::vector<int> net_begin_, pins_;    // pins of net e: pins_[net_begin_[e] .. net_begin_[e+1])
  std::vector<std::int64_t> cost_;
  std::vector<int> vnet_begin_, vnets_;  // nets of vertex v, likewise

  // One refinement.
  int k_ = 0;
  int* parts_ = nullptr;
  std::vector<double> cap_exact_;        // each unit's cap
  std::vector<std::int64_t> cap_;        // its floor: loads are integers
  std::vector<std::int64_t> relaxed_cap_;
  bool verify_ = false;
  bool in_pass_ = false;                 // movers of moves_ have stale own gains
  std::vector<int> count_;               // pins of net e on unit u: count_[e·k + u]
  std::vector<std::int64_t> load_;
  std::vector<std::int64_t> gain_;       // drop in Λ if v moved to unit b: gain_[v·k + b]
  std::vector<std::int64_t> best_gain_;  // the largest of v's gains
  static constexpr std::int64_t kStay = std::numeric_limits<std::int64_t>::min() / 4;
  std::vector<char> marked_;             // nets of the swap sweep's current v
  std::vector<std::int64_t> room_;
  std::vector<int> active_;
  std::vector<std::pair<int, int>> moves_;  // an FM pass's moves: (vertex, unit it left)
  std::vector<int> moved_to_;               // and the unit each went to
  // The state at an FM pass's start.
  std::vector<int> start_parts_, start_count_;
  std::vector<std::int64_t> start_load_, start_gain_, start_best_gain_;
  std::int64_t lambda_ = 0;
};

}  // namespace concnas::partition
