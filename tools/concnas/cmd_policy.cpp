// concnas policy: a separable network's communication policy, searched on shared weights
// (search/policy_search.h).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "concnas/config/policy_config.h"
#include "concnas/search/policy_search.h"

namespace concnas::cli {
namespace {

struct PolicyArgs {
  std::string config;
  std::string out = "runs/policy";
  bool resume = false;
  std::vector<std::string> sets;
};

void print_model(const search::PolicyModel& m) {
  std::printf("%-10s %-34s test %.2f%%, traffic %5.1f%% (%lld bytes/image)", m.what.c_str(), m.name.c_str(),
              100 * m.test_accuracy, 100 * m.traffic, static_cast<long long>(m.exchange_bytes));
  if (m.test_accuracy_fp16 >= 0)
    std::printf("; fp16 exchange: test %.2f%%, traffic %.1f%%", 100 * m.test_accuracy_fp16, 100 * m.traffic_fp16);
  std::printf("\n");
}

void run_policy(const PolicyArgs& a) {
  const auto cfg = config::load_policy_config(a.config, a.sets);
  const auto report = search::run_policy_search(cfg, a.out, a.resume, [](const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  });
  for (const auto& s : report.seeds)
    std::printf("seed %d: best reward random %.4f, controller %.4f\n", s.seed, s.random, s.controller);
  for (const auto& m : report.picks) print_model(m);
  for (const auto& m : report.baselines) print_model(m);
  std::printf("-> %s/policy.json, %s/policies.jsonl, %s/report.html, %s/best.yaml\n", a.out.c_str(), a.out.c_str(),
              a.out.c_str(), a.out.c_str());
}

}  // namespace

Action add_policy_command(CLI::App& app) {
  auto args = std::make_shared<PolicyArgs>();
  auto* cmd = app.add_subcommand("policy", "search a separable network's communication policy on shared weights");
  cmd->add_option("--config,-c", args->config, "policy config (YAML; docs/configuration.md)")->required();
  cmd->add_option("--out,-o", args->out, "output folder")->capture_default_str();
  cmd->add_flag("--resume", args->resume, "carry on an earlier, interrupted run in --out");
  cmd->add_option("--set", args->sets, "override a key: section.key=value (repeatable)");
  return [args] { run_policy(*args); };
}

}  // namespace concnas::cli
