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
  CONCNAS_CHECK(batch >= 1 && batches >= 0, "batch norm recalibration: batches of {}, {} of them", batch, batches);
  // Whole batches only, so that each weighs the same in the average; a set smaller than one
  // batch is one batch.
  const std::int64_t whole = std::min<std::int64_t>(batches, x.size(0) / batch);
  const std::int64_t rows = whole > 0 ? whole * batch : batches > 0 ? x.size(0) : 0;
  if (rows < 2) return;
  using Norms = std::vector<std::pair<torch::nn::BatchNorm2dImpl*, c10::optional<double>>>;
  Norms norms;
  for (const auto& m : net->modules(/*include_self=*/false))
    if (auto* bn = m->as<torch::nn::BatchNorm2d>()) norms.emplace_back(bn, bn->options.momentum());
  // Momentum back and evaluation mode even when a forward throws.
  struct Restore {
    Norms& saved;
    nn::Network& network;
    ~Restore() {
      for (auto& [bn, momentum] : saved) bn->options.momentum(momentum);
      network->eval();
    }
  } restore{norms, net};
  for (auto& [bn, momentum] : norms) {
    bn->reset_running_stats();
    bn->options.momentum(c10::nullopt);  // a cumulative average over the batches below
  }
  torch::NoGradGuard no_grad;
  net->train();
  const std::int64_t step = whole > 0 ? batch : rows;
  for (std::int64_t at = 0; at < rows; at += step) net->forward(x.narrow(0, at, step));
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
