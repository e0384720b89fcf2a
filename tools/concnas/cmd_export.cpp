// concnas export: a trained architecture as one TorchScript module per unit plus the plan
// that connects them (docs/deploy.md).
#include <algorithm>
#include <cstdio>
#include <memory>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "device_args.h"
#include "concnas/arch/cost.h"
#include "concnas/arch/families.h"
#include "concnas/common/atomic_file.h"
#include "concnas/config/train_config.h"
#include "concnas/train/evaluation.h"
#include "concnas/train/trainer.h"
#include "concnas/common/error.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/deploy/export.h"
#include "concnas/partition/score.h"

namespace concnas::cli {
namespace {
namespace fs = std::filesystem;

struct ExportArgs {
  std::string arch;
  std::string weights;
  int units = 2;
  std::string partitioner = "metis";
  double epsilon = 0;  // 0: the best of the default balance bounds
  std::uint64_t seed = 0;
  DeviceArgs model;
  std::vector<double> mean;
  std::vector<double> std;
  std::string out;
};

// The normalisation the weights were trained with: --mean/--std, else eval.json beside
// the weights (written by concnas train), else that run's config.yaml (read again).
deploy::InputSpec input_spec(const ExportArgs& a) {
  deploy::InputSpec in;
  if (!a.mean.empty() || !a.std.empty()) {
    CONCNAS_CHECK(!a.mean.empty() && !a.std.empty(), "give both --mean and --std, or neither");
    in.mean = a.mean;
    in.std = a.std;
    return in;
  }
  const fs::path run = fs::path(a.weights).parent_path();
  const fs::path eval = run / "eval.json";
  if (fs::exists(eval)) {
    const auto j = nlohmann::json::parse(read_file(eval.string()), nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("input_mean") && j.contains("input_std")) {
      in.mean = j["input_mean"].get<std::vector<double>>();
      in.std = j["input_std"].get<std::vector<double>>();
      return in;
    }
  }
  const fs::path config = run / "config.yaml";
  if (fs::exists(config)) {
    const auto n = train::input_normalisation(config::load_train_config(config.string(), {}));
    in.mean = n.mean;
    in.std = n.std;
    return in;
  }
  throw InvalidArgument(fmt::format("cannot tell how the input was normalised in training: {} has no eval.json or "
                                    "config.yaml; give --mean and --std (per channel, pixels scaled to [0, 1])",
                                    run.empty() ? "." : run.string()));
}

// Where each vertex runs: with --partitioner groups, branch or group k of an lcp or sep
// network on unit k; else the option the model predicts fastest (the score's best has the
// lowest CS). `what` describes the choice for the summary line.
struct Placement {
  std::vector<int> parts;
  double predicted_ms = 0;
  std::string what;
};

Placement place(const ExportArgs& a, const arch::Architecture& architecture) {
  partition::ScoreOptions o;
  o.units = a.units;
  o.partitioner = a.partitioner;
  o.seed = a.seed;
  if (a.epsilon > 0) o.epsilons = {a.epsilon};
  a.model.apply(o, a.units);
  if (a.partitioner == "groups") {
    auto parts = arch::family_parts(architecture, a.units);
    const double s = sim::simulate(architecture, arch::compute_cost(architecture), parts, o.devices, o.link).latency_s;
    return {std::move(parts), s * 1e3, "one group per unit"};
  }
  const auto score = partition::score_architecture(architecture, o, partition::builtin_partitioners());
  const auto& best = score.fastest();
  return {best.parts, best.sim.latency_s * 1e3,
          fmt::format("epsilon {:.2f}, CS {:.3f}", best.epsilon, best.metrics.cs)};
}

void run_export(const ExportArgs& a) {
  const auto architecture = config::load_architecture(a.arch);
  nn::Network net(architecture);
  train::load_weights(*net, a.weights);
  net->eval();
  const auto placement = place(a, architecture);
  const auto input = input_spec(a);
  const auto plan = deploy::make_plan(architecture, placement.parts, a.units);
  const auto hash = deploy::export_deployment(architecture, *net, plan, a.out, input);
  std::printf("exported %s for %d units (%s, %lld bytes per image between units, predicted %.3f ms) -> %s "
              "(unit_0..%d.pt, plan.yaml hash %016llx, parts.dot)\n",
              architecture.name.c_str(), a.units, placement.what.c_str(),
              static_cast<long long>(plan.bytes_per_image()), placement.predicted_ms, a.out.c_str(), a.units - 1,
              static_cast<unsigned long long>(hash));
}

}  // namespace

Action add_export_command(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  auto* cmd = app.add_subcommand("export", "write per-unit TorchScript modules and a deployment plan");
  cmd->add_option("--arch", args->arch, "architecture file")->required();
  cmd->add_option("--weights", args->weights, "trained weights (weights.pt of a run folder)")->required();
  cmd->add_option("--units,-n", args->units, "number of units (devices)")->check(CLI::Range(1, 64));
  cmd->add_option("--partitioner", args->partitioner,
                  "metis, metis-unrefined, components, single, exact, or groups (an lcp or sep network's branch or "
                  "group k on unit k)");
  cmd->add_option("--epsilon", args->epsilon, "balance bound (default: of 1.03, 1.1 and 1.3, the one with the lowest predicted latency)")
      ->check(CLI::Range(1.0, 100.0));
  cmd->add_option("--seed", args->seed, "partitioner seed");
  args->model.add_to(cmd);  // the model that picks the best balance bound
  cmd->add_option("--mean", args->mean, "input normalisation mean per channel (default: from the training run)")
      ->delimiter(',');
  cmd->add_option("--std", args->std, "input normalisation std per channel (default: from the training run)")
      ->delimiter(',');
  cmd->add_option("--out,-o", args->out, "output folder")->required();
  return [args] { run_export(*args); };
}

}  // namespace concnas::cli
