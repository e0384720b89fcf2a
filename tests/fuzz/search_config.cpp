// Fuzz target: a search config (search::parse_search_config), an LCP study's config
// (config::parse_lcp_config) or a policy search's (config::parse_policy_config), chosen by
// the first byte.
#include "concnas/config/lcp_config.h"
#include "concnas/config/policy_config.h"
#include "concnas/search/search_config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text = concnas::fuzz::as_text(data + 1, size - 1);
  return concnas::fuzz::refusal_is_fine([&] {
    if (data[0] % 3 == 0)
      concnas::search::parse_search_config(text, "search.yaml");
    else if (data[0] % 3 == 1)
      concnas::config::parse_lcp_config(text, "lcp.yaml");
    else
      concnas::config::parse_policy_config(text, "policy.yaml");
  });
}
