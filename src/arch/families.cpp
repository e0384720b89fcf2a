#include "concnas/arch/families.h"

#include "concnas/arch/lcp.h"
#include "concnas/arch/sep.h"
#include "concnas/common/error.h"

namespace concnas::arch {

bool is_architecture_family(const std::string& generator) { return generator == "lcp" || generator == "sep"; }

std::vector<std::string> architecture_families() { return {"lcp", "sep"}; }

void check_family_params(const std::string& generator, const ParamMap& params, int nodes) {
  if (generator == "lcp") (void)lcp_options(params, nodes);
  else if (generator == "sep") (void)sep_options(params, nodes);
  else throw InvalidArgument("'" + generator + "' is not a network family (lcp, sep)");
}

Architecture family_architecture(const std::string& generator, const ParamMap& params, int nodes,
                                 const StagingOptions& staging, const NetworkOptions& network, std::uint64_t seed) {
  if (generator == "sep") return sep_architecture(sep_options(params, nodes), staging, network, seed);
  check_family_params(generator, params, nodes);
  return lcp_architecture(lcp_options(params, nodes), staging, network, seed);
}

}  // namespace concnas::arch
