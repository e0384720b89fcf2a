#pragma once
/// \file
/// Staging policies decide, vertex by vertex in topological order, whether a compute
/// vertex downsamples (stride 2) and doubles its channels (the EDGE'23 paper, Hadidi et al.,
/// Section III-B; docs/generators.md, "Staging").
///
///     auto registry = concnas::arch::builtin_staging_policies();
///     concnas::arch::StagingOptions options;  // probabilistic, p = 0.5
///     auto policy = registry.create(options);
///     bool stage = policy->decide(/*eligible=*/true, rng);
///
/// A vertex is *eligible* while its channels are below the channel limit and halving its
/// resolution keeps it at or above the minimum resolution; policies only choose among
/// eligible vertices.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "concnas/common/rng.h"

namespace concnas::arch {

/// Options of a staging policy.
struct StagingOptions {
  /// "uniform" (never stage), "greedy" (always when eligible) or "probabilistic".
  std::string policy = "probabilistic";
  /// Chance that an eligible vertex stages under "probabilistic" (the EDGE'23 paper: 0.5).
  double probability = 0.5;
  /// Throws `InvalidArgument` on a probability outside [0, 1].
  void sanity_check() const;
};

class StagingPolicy {
 public:
  virtual ~StagingPolicy() = default;
  virtual std::string name() const = 0;
  /// Whether a vertex stages; never true when it is not eligible. Draws from `rng` only
  /// for eligible vertices where the policy is random.
  bool decide(bool eligible, Rng& rng) const { return eligible && decide_impl(rng); }

 private:
  virtual bool decide_impl(Rng& rng) const = 0;
};

/// Name -> factory, filled by explicit `register_*` calls.
class StagingRegistry {
 public:
  using Factory = std::function<std::unique_ptr<StagingPolicy>(const StagingOptions&)>;
  void add(const std::string& name, Factory factory);
  /// Creates the policy `options.policy`; throws `InvalidArgument` listing known names.
  std::unique_ptr<StagingPolicy> create(const StagingOptions& options) const;
  std::vector<std::string> names() const;

 private:
  std::vector<std::pair<std::string, Factory>> factories_;
};

/// Registers uniform, greedy and probabilistic.
void register_builtin_staging_policies(StagingRegistry& registry);
StagingRegistry builtin_staging_policies();

}  // namespace concnas::arch
