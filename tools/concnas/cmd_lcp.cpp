// concnas lcp: the width LCP networks need to match the chain's accuracy (search/lcp_search.h).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "concnas/common/param_map.h"
#include "concnas/config/lcp_config.h"
#include "concnas/search/lcp_search.h"

namespace concnas::cli {
namespace {

struct LcpArgs {
  std::string config;
  std::string out = "runs/lcp";
  bool resume = false;
  std::vector<std::string> sets;
};

void run_lcp(const LcpArgs& a) {
  const auto cfg = config::load_lcp_config(a.config, a.sets);
  const auto report = search::run_lcp_search(cfg, a.out, a.resume, [](const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  });
  std::printf("chain %s: validation %.2f%%, test %.2f%%, %.3f M params\n", report.chain.name.c_str(),
              100 * report.chain.val_accuracy, 100 * report.chain.test_accuracy, report.chain.params / 1e6);
  for (const auto& r : report.picked)
    std::printf("K=%d: width %s%s, validation %.2f%%, test %.2f%%, %.3f M params (%.2fx the chain's), "
                "predicted %.3f ms on %d devices (chain %.3f ms)\n",
                r.branches, format_number(r.width).c_str(), r.within ? "" : " (widest tried, not within tolerance)",
                100 * r.val_accuracy, 100 * r.test_accuracy, r.params / 1e6,
                static_cast<double>(r.params) / static_cast<double>(report.chain.params), r.latency_ms, r.units,
                report.chain.latency_ms);
  std::printf("-> %s/lcp.json, %s/lcp.csv\n", a.out.c_str(), a.out.c_str());
}

}  // namespace

Action add_lcp_command(CLI::App& app) {
  auto args = std::make_shared<LcpArgs>();
  auto* cmd = app.add_subcommand("lcp", "widen LCP networks until they match the chain's accuracy");
  cmd->add_option("--config,-c", args->config, "LCP config (YAML; docs/configuration.md)")->required();
  cmd->add_option("--out,-o", args->out, "output folder")->capture_default_str();
  cmd->add_flag("--resume", args->resume, "carry on the run folders of an earlier, interrupted run");
  cmd->add_option("--set", args->sets, "override a key: section.key=value (repeatable)");
  return [args] { run_lcp(*args); };
}

}  // namespace concnas::cli
