#include "logged_training.h"

#include <filesystem>

#include <fmt/format.h>

#include "concnas/arch/cost.h"

namespace concnas::search {

train::TrainResult train_logged(const config::TrainConfig& cfg, const arch::Architecture& a, const std::string& out,
                                const std::string& dir, bool resume,
                                const std::function<void(const std::string&)>& log,
                                const std::function<void(train::Trainer&)>& setup) {
  const auto cost = arch::compute_cost(a);
  log(fmt::format("training {} ({:.3f} M params, {:.2f} MFLOPs) -> {}/{}", a.name, cost.total.params / 1e6,
                  cost.total.flops / 1e6, out, dir));
  train::Trainer trainer(cfg, a, out + "/" + dir);
  trainer.set_progress([&](int epoch, int epochs, std::int64_t done, std::int64_t total, double loss) {
    if (done == total) log(fmt::format("  {} epoch {}/{}: train loss {:.4f}", a.name, epoch, epochs, loss));
  });
  if (setup) setup(trainer);
  return trainer.run(resume && std::filesystem::exists(out + "/" + dir));
}

}  // namespace concnas::search
