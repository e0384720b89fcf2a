#pragma once
/// \file
/// Random graph generators: pure functions `(nodes, params, seed) -> UndirectedGraph`,
/// behind a small interface and an explicitly filled registry.
///
///     auto registry = concnas::graph::builtin_generators();
///     const auto& dp = registry.get("dp");
///     auto g = dp.generate(40, {{"alpha", 1}, {"beta", 2}, {"p", 0.75}}, /*seed=*/7);
///
/// Every generator draws only from `concnas::Rng`, so a seed gives the same graph on every
/// platform. Parameters not given take the documented defaults (RandWire's).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "concnas/common/param_map.h"
#include "concnas/common/registry.h"
#include "concnas/graph/graph.h"

namespace concnas::graph {

/// What a generator parameter is and which values it accepts.
struct ParamSpec {
  std::string name;
  double default_value = 0;
  std::string description;
  enum class Kind { kProbability, kNonNegative, kInteger } kind = Kind::kProbability;
};

class Generator {
 public:
  virtual ~Generator() = default;

  /// Short registry name ("er").
  virtual std::string name() const = 0;
  /// The parameters it takes, with defaults.
  virtual std::vector<ParamSpec> param_specs() const = 0;

  /// `params` completed with the defaults of every parameter not given. Throws
  /// `InvalidArgument` on an unknown key or a value outside its kind's range.
  ParamMap resolve(const ParamMap& params) const;

  /// Generates a graph on `nodes` vertices. Validates `nodes` (>= 2) and the parameters
  /// first, then calls `generate_impl` with the resolved parameters.
  UndirectedGraph generate(int nodes, const ParamMap& params, std::uint64_t seed) const;

 private:
  /// Generator-specific checks that need `nodes` (e.g. K < N for WS).
  virtual void check_impl(int nodes, const ParamMap& resolved) const;
  virtual UndirectedGraph generate_impl(int nodes, const ParamMap& resolved,
                                        std::uint64_t seed) const = 0;
};

/// Name -> generator. Filled by explicit `register_*` calls; no self-registration.
class GeneratorRegistry : public Registry<Generator> {
 public:
  GeneratorRegistry() : Registry<Generator>("generator") {}
};

/// Registers er, ba, ws and dp.
void register_builtin_generators(GeneratorRegistry& registry);
/// A registry holding the built-in generators.
GeneratorRegistry builtin_generators();

/// Erdos-Renyi G(N, P): every pair linked with probability `p` (default 0.2).
std::unique_ptr<Generator> make_er_generator();
/// Barabasi-Albert: M isolated seeds, each new vertex adds `m` distinct edges to targets
/// drawn with probability proportional to degree (default m = 5); exactly m(N-m) edges.
std::unique_ptr<Generator> make_ba_generator();
/// Watts-Strogatz: ring of degree `k`, each lattice edge rewired with probability `p`
/// (defaults k = 4, p = 0.75); exactly N*k/2 edges.
std::unique_ptr<Generator> make_ws_generator();
/// Distance based (the EDGE'23 paper, Hadidi et al.; docs/generators.md): pair at ring
/// distance d linked with probability min(1, alpha * p^(beta*d)) (defaults alpha = 1,
/// beta = 2, p = 0.75).
std::unique_ptr<Generator> make_dp_generator();

/// Expected edge count of DP on `nodes` vertices, from the design formula.
double dp_expected_edges(int nodes, double alpha, double beta, double p);

}  // namespace concnas::graph
