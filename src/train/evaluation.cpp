#include "concnas/train/evaluation.h"

#include <filesystem>

#include <fmt/format.h>

#include "concnas/common/error.h"
#include "epoch.h"

namespace concnas::train {
LabelledImages load_images(const config::TrainConfig& config) {
  config.sanity_check();
  const auto t = detail::load_training_tensors(data::builtin_datasets().get(config.data.dataset),
                                               {config.train, config.data});
  return {t.train_x, t.train_y, t.val_x, t.val_y, t.test_x, t.test_y};
}

std::pair<double, double> evaluate(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y, int batch) {
  const auto r = detail::evaluate(net, x, y, batch);
  net->eval();
  return r;
}

void recalibrate_batch_norm(nn::Network& net, const torch::Tensor& x, int batch, int batches) {
  const std::int64_t rows = std::min<std::int64_t>(x.size(0), static_cast<std::int64_t>(batch) * batches);
  if (rows == 0) return;
  std::vector<std::pair<torch::nn::BatchNorm2dImpl*, c10::optional<double>>> norms;
  for (const auto& m : net->modules(/*include_self=*/false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      norms.emplace_back(bn, bn->options.momentum());
      bn->reset_running_stats();
      bn->options.momentum(c10::nullopt);  // a cumulative average over the batches below
    }
  torch::NoGradGuard no_grad;
  net->train();
  for (std::int64_t at = 0; at < rows; at += batch) net->forward(x.narrow(0, at, std::min<std::int64_t>(batch, rows - at)));
  for (auto& [bn, momentum] : norms) bn->options.momentum(momentum);
  net->eval();
}

void load_weights(nn::NetworkImpl& net, const std::string& file) {
  if (!std::filesystem::exists(file)) throw Error(fmt::format("{}: no such weights file", file));
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(file);
    net.load(archive);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("cannot load weights {} into architecture '{}': {}", file, net.architecture().name,
                            first_line(e.what())));
  }
}

}  // namespace concnas::train
