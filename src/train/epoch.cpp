#include "epoch.h"

#include <chrono>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/nn/input.h"
#include "concnas/train/step.h"

namespace concnas::train {
namespace detail {
namespace {

torch::Tensor labels_of(const data::ImageSet& set) {
  return torch::tensor(std::vector<int64_t>(set.labels.begin(), set.labels.end()), torch::kLong);
}

torch::Tensor images_of(const data::ImageSet& set, const data::Normalisation& n) {
  return nn::input_tensor(set, n, 0, set.size());
}

// Random crop after zero padding (zero is the mean after normalisation) and optional
// horizontal flip, drawn from `rng`.
torch::Tensor augment(const torch::Tensor& x, int padding, bool flip, Rng& rng) {
  const int64_t h = x.size(2);
  const int64_t w = x.size(3);
  torch::Tensor padded = padding > 0
                             ? torch::constant_pad_nd(x, {padding, padding, padding, padding}, 0.0)
                             : x;
  torch::Tensor out = torch::empty_like(x);
  for (int64_t i = 0; i < x.size(0); ++i) {
    const int64_t dy = static_cast<int64_t>(rng.below(2 * padding + 1));
    const int64_t dx = static_cast<int64_t>(rng.below(2 * padding + 1));
    torch::Tensor crop = padded[i].narrow(1, dy, h).narrow(2, dx, w);
    if (flip && rng.bernoulli(0.5)) crop = crop.flip({2});
    out[i].copy_(crop);
  }
  return out;
}

// The epoch's order of the training rows, drawn from the epoch's own stream (which the
// augmentation then continues), so that a resumed run draws what an uninterrupted one does.
torch::Tensor epoch_order(std::int64_t n, Rng& rng) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(static_cast<std::uint64_t>(i))]);
  return torch::tensor(order, torch::kLong);
}

}  // namespace

TrainingTensors load_training_tensors(const data::Dataset& dataset, const TrainerOptions& options) {
  const auto& d = options.data;
  const auto parts = data::load_training_parts(dataset, config::dataset_options(d, options.train.seed),
                                               d.validation, d.train_subset, options.train.seed);
  TrainingTensors out;
  out.normalisation = data::Normalisation::of(parts.train);
  out.train_x = images_of(parts.train, out.normalisation);
  out.train_y = labels_of(parts.train);
  out.val_x = images_of(parts.validation, out.normalisation);
  out.val_y = labels_of(parts.validation);
  out.test_x = images_of(parts.test, out.normalisation);
  out.test_y = labels_of(parts.test);
  out.flip = d.flip == "on" || (d.flip == "auto" && dataset.flips_by_default());
  return out;
}

EpochStats train_epoch(nn::Network& net, torch::optim::SGD& opt, const TrainingTensors& data,
                       const TrainerOptions& options, const Schedule& schedule, int epoch,
                       std::int64_t* step, const std::string& kept_checkpoint, const ProgressFn& progress,
                       const StepHook& before_step) {
  const auto& t = options.train;
  const int64_t n = data.train_x.size(0);
  Rng rng = Rng::derive(t.seed, 0x65706f6368ULL + static_cast<std::uint64_t>(epoch));
  const auto order = epoch_order(n, rng);
  EpochStats stats;
  const auto started = std::chrono::steady_clock::now();
  for (int64_t b = 0; b < schedule.steps_per_epoch && *step < schedule.total_steps; ++b) {
    const int64_t at = b * t.batch_size;
    const int64_t count = std::min<int64_t>(t.batch_size, n - at);
    const auto idx = order.narrow(0, at, count);
    torch::Tensor x = data.train_x.index_select(0, idx);
    const torch::Tensor y = data.train_y.index_select(0, idx);
    if (options.data.augment) x = augment(x, options.data.crop_padding, data.flip, rng);
    for (auto& group : opt.param_groups())
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(schedule.lr_at(*step));
    if (before_step) before_step(*net, *step);
    const StepResult r = forward_backward(net, x, y, t.label_smoothing);
    if (!std::isfinite(r.loss))
      throw Error(fmt::format("loss became {} at epoch {} step {}; the last good checkpoint ({}) is kept",
                              r.loss, epoch + 1, *step, kept_checkpoint));
    opt.step();
    ++*step;
    stats.loss_sum += r.loss * count;
    stats.correct += r.correct;
    stats.seen += count;
    if (progress) progress(epoch + 1, t.epochs, b + 1, schedule.steps_per_epoch, stats.loss_sum / stats.seen);
  }
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return stats;
}

std::pair<double, double> evaluate(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y,
                                   int batch) {
  if (x.size(0) == 0) return {0.0, 0.0};
  torch::NoGradGuard no_grad;
  net->eval();
  double loss = 0;
  int64_t correct = 0;
  for (int64_t at = 0; at < x.size(0); at += batch) {
    const int64_t n = std::min<int64_t>(batch, x.size(0) - at);
    const auto logits = net->forward(x.narrow(0, at, n));
    const auto target = y.narrow(0, at, n);
    loss += torch::nn::functional::cross_entropy(
                logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                .item<double>();
    correct += logits.argmax(1).eq(target).sum().item<int64_t>();
  }
  net->train();
  return {loss / x.size(0), static_cast<double>(correct) / x.size(0)};
}

}  // namespace detail

namespace {

// Label-smoothed cross entropy, mean over the rows.
torch::Tensor smoothed_cross_entropy(const torch::Tensor& logits, const torch::Tensor& y, double eps) {
  const auto logp = torch::log_softmax(logits, 1);
  const auto nll = -logp.gather(1, y.unsqueeze(1)).squeeze(1);
  const double rows = static_cast<double>(logits.size(0));
  if (eps == 0) return nll.sum() / rows;
  return ((1.0 - eps) * nll - eps * logp.mean(1)).sum() / rows;
}

}  // namespace

StepResult forward_backward(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y,
                            double label_smoothing) {
  const auto params = net->parameters();
  for (auto& p : params) p.mutable_grad() = torch::Tensor();
  const auto logits = net->forward(x);
  const auto loss = smoothed_cross_entropy(logits, y, label_smoothing);
  loss.backward();
  // A parameter the loss does not reach gets a zero gradient.
  for (auto& p : params)
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
  return {loss.item<double>(), logits.argmax(1).eq(y).sum().item<int64_t>()};
}

}  // namespace concnas::train
