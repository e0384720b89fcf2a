#include "concnas/graph/generator.h"

#include <cmath>

#include <fmt/ranges.h>

#include "concnas/common/error.h"

namespace concnas::graph {

ParamMap Generator::resolve(const ParamMap& params) const {
  const auto specs = param_specs();
  for (const auto& [key, value] : params.values()) {
    bool known = false;
    for (const auto& s : specs) known = known || s.name == key;
    if (!known) {
      std::string names;
      for (const auto& s : specs) names += (names.empty() ? "" : ", ") + s.name;
      throw InvalidArgument(fmt::format("generator '{}' has no parameter '{}' (it takes: {})",
                                        name(), key, names));
    }
  }
  ParamMap resolved;
  for (const auto& s : specs) {
    const double v = params.contains(s.name) ? params.get(s.name) : s.default_value;
    switch (s.kind) {
      case ParamSpec::Kind::kProbability:
        CONCNAS_CHECK(v >= 0.0 && v <= 1.0,
                      "generator '{}': {}={} is a probability and must lie in [0, 1]", name(),
                      s.name, format_number(v));
        break;
      case ParamSpec::Kind::kNonNegative:
        CONCNAS_CHECK(v >= 0.0 && std::isfinite(v), "generator '{}': {}={} must be >= 0",
                      name(), s.name, format_number(v));
        break;
      case ParamSpec::Kind::kInteger:
        CONCNAS_CHECK(v == std::floor(v) && v >= 0 && v <= 1e9,
                      "generator '{}': {}={} must be a non-negative integer", name(), s.name,
                      format_number(v));
        break;
    }
    resolved.set(s.name, v);
  }
  return resolved;
}

void Generator::check_impl(int, const ParamMap&) const {}

UndirectedGraph Generator::generate(int nodes, const ParamMap& params,
                                    std::uint64_t seed) const {
  CONCNAS_CHECK(nodes >= 2, "generator '{}' needs at least 2 nodes, got {}", name(), nodes);
  const ParamMap resolved = resolve(params);
  check_impl(nodes, resolved);
  return generate_impl(nodes, resolved, seed);
}

void register_builtin_generators(GeneratorRegistry& registry) {
  registry.add(make_er_generator());
  registry.add(make_ba_generator());
  registry.add(make_ws_generator());
  registry.add(make_dp_generator());
}

GeneratorRegistry builtin_generators() {
  GeneratorRegistry registry;
  register_builtin_generators(registry);
  return registry;
}

}  // namespace concnas::graph
