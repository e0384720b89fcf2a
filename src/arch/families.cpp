#include "concnas/arch/families.h"

#include "concnas/arch/lcp.h"
#include "concnas/arch/sep.h"
#include "concnas/common/error.h"

namespace concnas::arch {

bool is_architecture_family(const std::string& generator) { return generator == "lcp" || generator == "sep"; }

std::vector<std::string> architecture_families() { return {"lcp", "sep"}; }

namespace {

[[noreturn]] void not_a_family(const std::string& generator) {
  throw InvalidArgument("'" + generator + "' is not a network family (lcp, sep)");
}

}  // namespace

void check_family_params(const std::string& generator, const ParamMap& params, int nodes) {
  if (generator == "lcp") (void)lcp_options(params, nodes);
  else if (generator == "sep") (void)sep_options(params, nodes);
  else not_a_family(generator);
}

std::vector<int> family_parts(const Architecture& a, int units) {
  const auto& p = a.provenance;
  CONCNAS_CHECK(p.generator == "lcp" || p.generator == "sep",
                "'{}' was not generated as an lcp or sep network, so it has no branches or groups to place",
                a.name);
  const char* key = p.generator == "lcp" ? "branches" : "groups";
  CONCNAS_CHECK(p.params.contains(key) && p.params.contains("depth"), "'{}' does not record its {} and depth", a.name,
                key);
  const int groups = static_cast<int>(p.params.get(key)), depth = static_cast<int>(p.params.get("depth"));
  CONCNAS_CHECK(groups == units, "'{}' has {} {}, one per unit: give --units {}", a.name, groups, key, groups);
  CONCNAS_CHECK(groups * depth == a.dag.num_compute(), "'{}' records {} {} of depth {}, but has {} vertices", a.name,
                groups, key, depth, a.dag.num_compute());
  std::vector<int> parts(a.dag.num_vertices(), 0);
  for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = v / depth;
  return parts;
}

Architecture family_architecture(const std::string& generator, const ParamMap& params, int nodes,
                                 const StagingOptions& staging, const NetworkOptions& network, std::uint64_t seed) {
  if (generator == "lcp") return lcp_architecture(lcp_options(params, nodes), staging, network, seed);
  if (generator == "sep") return sep_architecture(sep_options(params, nodes), staging, network, seed);
  not_a_family(generator);
}

}  // namespace concnas::arch
