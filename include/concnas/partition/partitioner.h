#pragma once
/// \file
/// Partitioners place every vertex of a hypergraph on one of `units` devices, keeping
/// every unit's weight within `epsilon` times its share of the total and little data
/// crossing units. Shares are equal unless the devices differ in speed: a unit twice as
/// fast takes twice the work, so every unit needs about the same time.
///
///     auto registry = concnas::partition::builtin_partitioners();
///     concnas::partition::PartitionOptions o;
///     o.units = 4;
///     o.epsilon = 1.1;
///     auto parts = registry.get("metis").partition(hg, o);  // unit per vertex
///     o.shares = {2, 1, 1, 1};  // unit 0 twice as fast as the others
///
/// Built in: `metis` (METIS on a graph model, then connectivity refinement), `components`
/// (the EDGE'23 paper's appendix, Hadidi et al.: connected components, largest first onto
/// the least loaded unit), `single` (everything on unit 0) and `exact` (enumeration, small
/// instances only).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "concnas/common/registry.h"
#include "concnas/partition/hypergraph.h"

namespace concnas::partition {

struct PartitionOptions {
  /// Number of units (devices), >= 1.
  int units = 2;
  /// Balance bound: every unit's weight <= epsilon * its share of the total. >= 1.
  double epsilon = 1.03;
  /// Each unit's share of the total weight, in proportion to these positive numbers (a
  /// device's speed). Empty: equal shares.
  std::vector<double> shares;
  /// Seed for randomised partitioners (METIS).
  std::uint64_t seed = 0;
  /// Throws `InvalidArgument` naming the bad field.
  void sanity_check() const;
  /// Unit `unit`'s share of the total weight, in (0, 1]: 1 / units when `shares` is empty.
  double share_of(int unit) const;
  /// Unit `unit`'s share as given, not normalised: 1 when `shares` is empty. For ranking
  /// units by weight / share, exactly in integers when shares are equal.
  double raw_share(int unit) const { return shares.empty() ? 1.0 : shares.at(unit); }
  /// Whether every unit has the same share (then units are interchangeable).
  bool equal_shares() const;
};

/// The weight unit `unit` must stay within: epsilon * total * its share.
double balance_cap(const Hypergraph& hg, const PartitionOptions& options, int unit);
/// Each unit's `balance_cap`.
std::vector<double> balance_caps(const Hypergraph& hg, const PartitionOptions& options);
/// The heaviest unit relative to its share: max over units of weight / share. With equal
/// shares, units times the heaviest unit's weight.
double relative_heaviest(const std::vector<std::int64_t>& unit_weights, const PartitionOptions& options);

class Partitioner {
 public:
  virtual ~Partitioner() = default;
  virtual std::string name() const = 0;
  /// One unit per vertex; pinned vertices on their units. Checks the options and that
  /// there are no more units than compute vertices.
  std::vector<int> partition(const Hypergraph& hg, const PartitionOptions& options) const;
  /// One partition per balance bound of `epsilons` (`options.epsilon` is not used): entry i
  /// equals `partition` with epsilon = epsilons[i], computed with the work the bounds
  /// share done once (METIS's start).
  std::vector<std::vector<int>> partition_each(const Hypergraph& hg, const PartitionOptions& options,
                                               const std::vector<double>& epsilons) const;

 private:
  virtual std::vector<int> partition_impl(const Hypergraph& hg,
                                          const PartitionOptions& options) const = 0;

 protected:
  /// Default: `partition_impl` once per bound.
  virtual std::vector<std::vector<int>> partition_each_impl(
      const Hypergraph& hg, const PartitionOptions& options,
      const std::vector<double>& epsilons) const;
};

/// Name -> partitioner, filled by explicit `register_*` calls.
class PartitionerRegistry : public Registry<Partitioner> {
 public:
  PartitionerRegistry() : Registry<Partitioner>("partitioner") {}
};

void register_builtin_partitioners(PartitionerRegistry& registry);
PartitionerRegistry builtin_partitioners();

std::unique_ptr<Partitioner> make_metis_partitioner();
/// METIS alone, without the connectivity refinement (a baseline for benchmarks).
std::unique_ptr<Partitioner> make_metis_unrefined_partitioner();
std::unique_ptr<Partitioner> make_components_partitioner();
std::unique_ptr<Partitioner> make_single_partitioner();
/// Exhaustive search for the minimum connectivity cost within the balance bound; for
/// at most `kExactMaxVertices` free vertices.
std::unique_ptr<Partitioner> make_exact_partitioner();
inline constexpr int kExactMaxVertices = 20;

/// Improves `parts` in place by moving single vertices between units (k-way
/// Fiduccia-Mattheyses passes with rollback to the best prefix) so that the true
/// connectivity cost Λ drops. Never increases Λ, never moves pinned vertices, and never
/// moves a vertex onto a unit that would then exceed the balance cap. Returns the new Λ.
std::int64_t refine_connectivity(const Hypergraph& hg, const PartitionOptions& options,
                                 std::vector<int>& parts);

}  // namespace concnas::partition
