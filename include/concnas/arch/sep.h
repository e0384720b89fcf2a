#pragma once
/// \file
/// Separable networks (seed 001; docs/generators.md, "Separable networks"): G narrow chains,
/// one per device, that exchange a few channels every A blocks along a communication
/// policy, so that an inference across G devices sends little between them.
///
///     concnas::arch::SepOptions sep;
///     sep.groups = 4;        // G
///     sep.depth = 8;         // D blocks per group
///     sep.alpha = 2;         // an exchange step before blocks A, 2A, ... < D
///     sep.permutations = {1, 0, 5};  // per step, an index into the G! permutations
///     sep.share = 0.25;      // the first quarter of the channels travels
///     sep.fp16 = true;       // as float16
///     auto a = concnas::arch::sep_architecture(sep, staging, network, /*seed=*/0);
///
/// Group g's block i is vertex g·D + i; each group is the chain baseline of D vertices with
/// the same staging, every vertex `width / groups` as wide, and the output vertex
/// concatenates the groups (as an LCP network of G branches). At exchange step s, before
/// block i = (s + 1)·A, group g's block i - 1 also feeds block i of group π_s(g), where π_s
/// is permutation `permutations[s]` of 0..G-1 in lexicographic order (0, the identity,
/// sends nothing); that edge carries the first `share` of the channels, in fp16 with
/// `fp16`, and the receiving block adds it to its own input. `full` sends every group's
/// output to every other group instead.
///
/// `generate_architecture` builds these for generator "sep" (`concnas generate --generator
/// sep --param groups=G --param depth=D --param alpha=A --param policy=P`, sep_options).

#include <cstdint>
#include <utility>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/common/param_map.h"
#include "concnas/common/rng.h"

namespace concnas::arch {

struct SepOptions {
  int groups = 4;      ///< G, at most kMaxSepGroups
  int depth = 8;       ///< D, blocks per group
  int alpha = 2;       ///< A, blocks between exchange steps
  double width = 1.0;  ///< W: each group W/G of the chain's channels
  double share = 1.0;  ///< of each exchanged tensor's channels, the first this share travel
  bool fp16 = false;   ///< exchanged tensors travel as float16
  bool full = false;   ///< every group to every other at each step (`permutations` unused)
  /// Per exchange step, the lexicographic index of π_s among the G! permutations; empty:
  /// the identity at every step (no exchange).
  std::vector<int> permutations;
  /// Exchange steps: blocks A, 2A, ... below D.
  int steps() const { return alpha >= 1 ? (depth - 1) / alpha : 0; }
  /// Throws `InvalidArgument` naming the bad field.
  void sanity_check() const;
};

inline constexpr int kMaxSepGroups = 8;

/// n!, the number of permutations of n elements (n up to 20).
std::int64_t permutation_count(int n);

/// Permutation `index` of 0..n-1 in lexicographic order (0: the identity). Throws
/// `InvalidArgument` when `index` is not below n!.
std::vector<int> nth_permutation(int n, std::int64_t index);

/// The options from generator parameters (each optional): `groups` (4), `depth` (`nodes` /
/// groups), `alpha` (2), `width` (1), `share` (1), `fp16` (0 or 1), and `policy`: -1 for
/// full exchange, else the permutation indices of the steps as one number in base G!, step
/// 0 the lowest digit (0: no exchange). Throws `InvalidArgument` on an unknown parameter,
/// a value out of range, or a depth that disagrees with `nodes` (0: no vertex count given).
SepOptions sep_options(const ParamMap& params, int nodes);

/// The edges between groups that `sep` makes, (producer, consumer) by step, then group.
std::vector<std::pair<int, int>> exchange_arcs(const SepOptions& sep);

/// `base` with a permutation per step drawn uniformly from the G! (`full` off): a policy
/// for one training step of the shared network.
SepOptions random_policy(const SepOptions& base, Rng& rng);

/// The edges of full exchange that `policy` does not make: switched off in the network of
/// full exchange (NetworkImpl::set_inactive_edges), it computes as `policy`'s network.
std::vector<std::pair<int, int>> edges_left_out(const SepOptions& policy);

Architecture sep_architecture(const SepOptions& sep, const StagingOptions& staging, const NetworkOptions& network,
                              std::uint64_t seed);

}  // namespace concnas::arch
