#include "concnas/config/lcp_config.h"

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "lcp_schema.h"
#include "train_sections.h"

namespace concnas::config {
namespace {

using detail::field;
namespace d = detail;

std::vector<detail::Key<LcpConfig>> lcp_keys() {
  using C = LcpConfig;
  return {
      field<C>("lcp", "branches", [](C& c) -> auto& { return c.lcp.branches; },
               "branch counts K to try, each widened on its own", d::up_to(d::at_least(1), 1024)),
      field<C>("lcp", "width_start", [](C& c) -> auto& { return c.lcp.width_start; },
               "first width W (each branch W/K of the chain's channels)", d::within(0, 64, true, false)),
      field<C>("lcp", "width_step", [](C& c) -> auto& { return c.lcp.width_step; },
               "W grows by this while the validation accuracy is short of the chain's", d::within(0, 64, true, false)),
      field<C>("lcp", "width_max", [](C& c) -> auto& { return c.lcp.width_max; },
               "the widest W tried", d::within(0, 64, true, false)),
      field<C>("lcp", "tolerance", [](C& c) -> auto& { return c.lcp.tolerance; },
               "percentage points of validation accuracy an LCP may be below the chain", d::within(0, 100, false, false)),
      field<C>("lcp", "units", [](C& c) -> auto& { return c.lcp.units; },
               "devices the predicted latency is for (0: K, one branch each)", d::up_to(d::not_below(0), 1024)),
  };
}

}  // namespace

const detail::Schema<LcpConfig>& detail::lcp_schema() {
  static const Schema<LcpConfig> s(lcp_keys());
  return s;
}

void LcpConfig::sanity_check() const {
  base.sanity_check();
  detail::lcp_schema().check(*this);
  CONCNAS_CHECK(lcp.width_max >= lcp.width_start, "lcp.width_max: {} is below width_start {}",
                format_number(lcp.width_max), format_number(lcp.width_start));
  CONCNAS_CHECK(base.arch.file.empty() && base.arch.baseline.empty(),
                "arch: `concnas lcp` builds the chain and its LCP networks from arch.nodes; drop arch.file and "
                "arch.baseline");
}

LcpConfig parse_lcp_config(const std::string& text, const std::string& source,
                           const std::vector<std::string>& overrides) {
  detail::Reader r(source);
  YAML::Node root = detail::load_config_root(text, source);
  r.check_map(root, "", {"arch", "data", "train", "lcp"});
  const auto rest = detail::apply_section_overrides(root, overrides, "lcp", source);
  LcpConfig c;
  c.base = detail::parse_train_sections(root, source, rest);
  if (root["lcp"]) detail::lcp_schema().read(c, r, root["lcp"], "lcp");
  detail::check_at_key_line(root, source, [&] { c.sanity_check(); });
  return c;
}

LcpConfig load_lcp_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_lcp_config(read_file(path), path, overrides);
}

std::string to_yaml(const LcpConfig& c) {
  return "# resolved concnas lcp config: every key (docs/configuration.md)\n" +
         detail::sections_to_yaml(c.base, {"arch", "data", "train"}) + detail::lcp_schema().yaml(c, {"lcp"});
}

}  // namespace concnas::config
