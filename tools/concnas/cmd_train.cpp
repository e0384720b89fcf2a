// concnas train: train an architecture on real data into a run folder, resumably.

#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "progress_bar.h"
#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "concnas/config/train_config.h"
#include "concnas/train/trainer.h"

namespace concnas::cli {
namespace {

struct TrainArgs {
  std::string config;
  std::string arch;
  std::string out;
  bool resume = false;
  std::vector<std::string> sets;
  std::string baseline;
};

void run_train(const TrainArgs& a) {
  auto cfg = config::load_train_config(a.config, a.sets);
  if (!a.arch.empty()) cfg.arch.file = a.arch;
  if (!a.baseline.empty()) {
    CONCNAS_CHECK(a.baseline == "chain", "--baseline '{}': the only baseline is 'chain'", a.baseline);
    CONCNAS_CHECK(a.arch.empty(), "--baseline chain builds its own architecture; drop --arch");
    cfg.arch.baseline = a.baseline;
    cfg.arch.file.clear();
  }
  const auto [input, classes] = train::dataset_shape(cfg);
  auto architecture = train::architecture_from_config(cfg, input, classes);
  const std::string out = a.out.empty() ? "runs/" + architecture.name : a.out;
  const auto cost = arch::compute_cost(architecture);
  std::printf("training %s (%.3f M params, %.2f MFLOPs) on %s -> %s\n",
               architecture.name.c_str(), cost.total.params / 1e6, cost.total.flops / 1e6,
               cfg.data.dataset.c_str(), out.c_str());
  std::fflush(stdout);
  train::Trainer trainer(cfg, std::move(architecture), out);
  // A bar on a terminal; plain lines per epoch otherwise (CI logs).
  const bool tty = stderr_is_terminal();
  trainer.set_progress([tty](int epoch, int epochs, std::int64_t done, std::int64_t total, double loss) {
    if (tty) {
      draw_progress_bar(fmt::format("epoch {}/{}", epoch, epochs), done, total, 30,
                        fmt::format("{:3d}% loss {:.4f}", total > 0 ? 100 * done / total : 100, loss));
    } else if (done == total) {
      std::fprintf(stderr, "epoch %d/%d done, train loss %.4f\n", epoch, epochs, loss);
    }
    std::fflush(stderr);
  });
  if (a.resume && !std::filesystem::exists(out + "/checkpoint.pt"))
    std::printf("no checkpoint in %s yet: training from the start\n", out.c_str());
  const auto r = trainer.run(a.resume);
  std::printf("test accuracy %.4f, loss %.4f, %d epochs, %.1f s, %.0f images/s -> %s/eval.json\n",
              r.test_accuracy, r.test_loss, r.epochs, r.seconds,
              r.images_per_s, out.c_str());
}

}  // namespace

Action add_train_command(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "train an architecture on real data");
  cmd->add_option("--config,-c", args->config, "training config (YAML)")->required();
  cmd->add_option("--arch", args->arch, "architecture file (overrides arch.file)");
  cmd->add_option("--out,-o", args->out, "run folder (default: runs/<architecture name>)");
  cmd->add_flag("--resume", args->resume, "continue the run in --out from its checkpoint");
  cmd->add_option("--set", args->sets, "override a config key: section.key=value (repeatable)");
  cmd->add_option("--baseline", args->baseline,
                  "train the sequential baseline instead: 'chain' (arch.nodes vertices)");
  return [args] { run_train(*args); };
}

}  // namespace concnas::cli
