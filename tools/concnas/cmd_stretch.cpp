// concnas stretch: NN-Stretch, a chain branched over devices of different speeds
// (search/stretch_search.h).
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "concnas/common/param_map.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/config/devices_yaml.h"
#include "concnas/search/stretch_search.h"

namespace concnas::cli {
namespace {

struct StretchArgs {
  std::string arch;
  std::string config;
  std::string devices;
  int units = 2;
  search::StretchSearchOptions options;
  std::string out = "runs/stretch";
  bool resume = false;
  std::vector<std::string> sets;
};

void print_report(const search::StretchReport& r, const std::string& out) {
  std::printf("chain %s: validation %.2f%%, test %.2f%%, predicted %.3f ms on the fastest device (batch %d)\n",
              r.chain.name.c_str(), 100 * r.chain.val_accuracy, 100 * r.chain.test_accuracy, r.chain.predicted_ms,
              r.space.batch);
  const auto& p = r.tried.at(r.picked);
  std::printf("pick %s%s: validation %.2f%%, test %.2f%%, predicted %.3f ms (%.2fx the chain)\n", p.name.c_str(),
              p.within ? "" : " (none within tolerance: the most accurate)", 100 * p.val_accuracy,
              100 * p.test_accuracy, p.predicted_ms, r.chain.predicted_ms / p.predicted_ms);
  std::printf("-> %s/stretch.json, %s/stretch.csv, %s (concnas run --plan %s --local)\n", out.c_str(), out.c_str(),
              r.deploy_dir.c_str(), r.deploy_dir.c_str());
}

void run_stretch(StretchArgs a) {
  const auto chain = config::load_architecture(a.arch);
  auto cfg = config::load_train_config(a.config, a.sets);
  std::tie(a.options.devices, a.options.link) = config::load_devices(a.devices, a.units);
  const auto report = search::run_stretch_search(chain, cfg, a.options, a.out, a.resume, [](const std::string& line) {
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
  });
  print_report(report, a.out);
}

}  // namespace

Action add_stretch_command(CLI::App& app) {
  auto a = std::make_shared<StretchArgs>();
  auto* cmd = app.add_subcommand("stretch", "branch a chain over devices of different speeds (NN-Stretch)");
  cmd->add_option("--arch", a->arch, "the sequential network (architecture file)")->required();
  cmd->add_option("--config,-c", a->config, "training config for the chain and every candidate (YAML)")->required();
  cmd->add_option("--devices", a->devices, "the devices, one branch each, and the link (YAML)")->required();
  cmd->add_option("--units,-n", a->units, "devices, i.e. branches")->capture_default_str()->check(CLI::Range(1, 16));
  auto& s = a->options.space;
  cmd->add_option("--alpha", s.alpha, "a meeting's transfers at most this times its segment's compute")
      ->capture_default_str();
  cmd->add_option("--beta", s.beta, "each branch at most this times its segment's time on the fastest device")
      ->capture_default_str();
  cmd->add_option("--min-ratio", s.min_ratio, "least depth and width ratio of a branch")->capture_default_str();
  cmd->add_option("--step", s.step, "the ratio grid's step")->capture_default_str();
  cmd->add_option("--tolerance", a->options.tolerance, "validation accuracy points a pick may lose to the chain")
      ->capture_default_str();
  cmd->add_option("--out,-o", a->out, "output folder")->capture_default_str();
  cmd->add_flag("--resume", a->resume, "carry on the trainings of an earlier, interrupted run");
  cmd->add_option("--set", a->sets, "override a training config key: section.key=value (repeatable)");
  return [a] { run_stretch(*a); };
}

}  // namespace concnas::cli
