// concnas export: a trained architecture as one TorchScript module per unit plus the plan
// that connects them (design.md §6).
#include <cstdio>
#include <memory>

#include "commands.h"
#include "concnas/common/error.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/deploy/export.h"
#include "concnas/partition/score.h"

namespace concnas::cli {
namespace {

struct ExportArgs {
  std::string arch;
  std::string weights;
  int units = 2;
  std::string partitioner = "metis";
  double epsilon = 0;  // 0: the best of the default balance bounds
  std::uint64_t seed = 0;
  std::string out;
};

void run_export(const ExportArgs& a) {
  const auto architecture = config::load_architecture(a.arch);
  nn::Network net(architecture);
  try {
    torch::load(net, a.weights);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("cannot load weights {} into architecture '{}': {}", a.weights, architecture.name,
                            first_line(e.what())));
  }
  net->eval();
  partition::ScoreOptions o;
  o.units = a.units;
  o.partitioner = a.partitioner;
  o.seed = a.seed;
  if (a.epsilon > 0) o.epsilons = {a.epsilon};
  const auto score = partition::score_architecture(architecture, o, partition::builtin_partitioners());
  const auto& best = score.best();
  const auto plan = deploy::make_plan(architecture, best.parts, a.units);
  const auto hash = deploy::export_deployment(architecture, *net, plan, a.out);
  std::printf("exported %s for %d units (epsilon %.2f, CS %.3f, %lld bytes per image between units, "
              "predicted %.3f ms) -> %s (unit_0..%d.pt, plan.yaml hash %016llx, parts.dot)\n",
              architecture.name.c_str(), a.units, best.epsilon, best.metrics.cs,
              static_cast<long long>(plan.bytes_per_image()), best.sim.latency_s * 1e3, a.out.c_str(),
              a.units - 1, static_cast<unsigned long long>(hash));
}

}  // namespace

Action add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "write per-unit TorchScript modules and a deployment plan");
  cmd->add_option("--arch", args->arch, "architecture file")->required();
  cmd->add_option("--weights", args->weights, "trained weights (weights.pt of a run folder)")->required();
  cmd->add_option("--units,-n", args->units, "number of units (devices)")->check(CLI::Range(1, 64));
  cmd->add_option("--partitioner", args->partitioner, "metis, metis-unrefined, components, single or exact");
  cmd->add_option("--epsilon", args->epsilon, "balance bound (default: the best of 1.03, 1.1, 1.3)");
  cmd->add_option("--seed", args->seed, "partitioner seed");
  cmd->add_option("--out,-o", args->out, "output folder")->required();
  return [args] { run_export(*args); };
}

}  // namespace concnas::cli
