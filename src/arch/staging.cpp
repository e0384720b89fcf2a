#include "concnas/arch/staging.h"

#include <fmt/ranges.h>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::arch {
namespace {

class UniformPolicy final : public StagingPolicy {
 public:
  std::string name() const override { return "uniform"; }

 private:
  bool decide_impl(Rng&) const override { return false; }
};

class GreedyPolicy final : public StagingPolicy {
 public:
  std::string name() const override { return "greedy"; }

 private:
  bool decide_impl(Rng&) const override { return true; }
};

class ProbabilisticPolicy final : public StagingPolicy {
 public:
  explicit ProbabilisticPolicy(double p) : p_(p) {}
  std::string name() const override { return "probabilistic"; }

 private:
  bool decide_impl(Rng& rng) const override { return rng.bernoulli(p_); }
  double p_;
};

}  // namespace

void StagingOptions::sanity_check() const {
  CONCNAS_CHECK(probability >= 0.0 && probability <= 1.0,
                "staging probability {} must lie in [0, 1]", format_number(probability));
}

void StagingRegistry::add(const std::string& name, Factory factory) {
  for (const auto& [known, f] : factories_)
    CONCNAS_CHECK(known != name, "staging policy '{}' is registered twice", name);
  factories_.emplace_back(name, std::move(factory));
}

std::unique_ptr<StagingPolicy> StagingRegistry::create(const StagingOptions& options) const {
  options.sanity_check();
  for (const auto& [name, factory] : factories_)
    if (name == options.policy) return factory(options);
  throw InvalidArgument(fmt::format("unknown staging policy '{}' (known: {})", options.policy,
                                    fmt::join(names(), ", ")));
}

std::vector<std::string> StagingRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& entry : factories_) out.push_back(entry.first);
  return out;
}

void register_builtin_staging_policies(StagingRegistry& registry) {
  registry.add("uniform", [](const StagingOptions&) { return std::make_unique<UniformPolicy>(); });
  registry.add("greedy", [](const StagingOptions&) { return std::make_unique<GreedyPolicy>(); });
  registry.add("probabilistic", [](const StagingOptions& o) {
    return std::make_unique<ProbabilisticPolicy>(o.probability);
  });
}

StagingRegistry builtin_staging_policies() {
  StagingRegistry registry;
  register_builtin_staging_policies(registry);
  return registry;
}

}  // namespace concnas::arch
