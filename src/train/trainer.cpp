#include "concnas/train/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <nlohmann/json.hpp>

#include "concnas/arch/baselines.h"
#include "concnas/arch/cost.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/rng.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/data/image_set.h"
#include "concnas/nn/batch_split.h"
#include "concnas/nn/network.h"
#include "concnas/nn/ops.h"
#include "concnas/train/step.h"

namespace concnas::train {
namespace fs = std::filesystem;

void configure_cpu_runtime(int threads) {
  torch::set_num_threads(threads > 0 ? threads
                                     : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
#ifdef __GLIBC__
  // Serve blocks up to 32 MiB (glibc's ceiling) from the heap and never trim it.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
#endif
}

std::pair<arch::Shape, int> dataset_shape(const config::TrainConfig& config) {
  const auto& d = config.data;
  if (d.dataset == "synthetic") return {{1, d.synthetic_side, d.synthetic_side}, d.synthetic_classes};
  if (d.dataset == "cifar10") return {{3, 32, 32}, 10};
  return {{1, 28, 28}, 10};
}

arch::Architecture architecture_from_config(const config::TrainConfig& config,
                                            const arch::Shape& input, int classes) {
  const auto& a = config.arch;
  if (!a.file.empty()) {
    auto loaded = config::load_architecture(a.file);
    CONCNAS_CHECK(loaded.network.input == input && loaded.network.classes == classes,
                  "architecture {} takes {}x{}x{} images and {} classes, but the data set has "
                  "{}x{}x{} and {}",
                  a.file, loaded.network.input.channels, loaded.network.input.height,
                  loaded.network.input.width, loaded.network.classes, input.channels,
                  input.height, input.width, classes);
    return loaded;
  }
  const auto o = config::generate_options(a, input, classes);
  if (a.baseline == "chain") {
    o.network.sanity_check();
    return arch::chain_architecture(a.nodes, o.staging, o.network, a.seed);
  }
  return arch::generate_architecture(o, graph::builtin_generators(),
                                     arch::builtin_staging_policies());
}

namespace {

struct Data {
  torch::Tensor train_x, train_y, val_x, val_y, test_x, test_y;
  std::vector<double> mean, std;  // the normalisation, from the training part
  bool flip = false;
};

struct Parts {
  data::ImageSet train, val, test;
};

torch::Tensor to_tensor(const data::ImageSet& set, const std::vector<double>& mean,
                        const std::vector<double>& std) {
  auto x = torch::from_blob(const_cast<std::uint8_t*>(set.pixels.data()),
                            {static_cast<int64_t>(set.size()), set.channels, set.height, set.width},
                            torch::kUInt8)
               .to(torch::kFloat)
               .div_(255.0);
  auto m = torch::tensor(std::vector<float>(mean.begin(), mean.end())).view({1, -1, 1, 1});
  auto s = torch::tensor(std::vector<float>(std.begin(), std.end())).view({1, -1, 1, 1});
  return x.sub_(m).div_(s).contiguous();
}

torch::Tensor labels_of(const data::ImageSet& set) {
  return torch::tensor(std::vector<int64_t>(set.labels.begin(), set.labels.end()), torch::kLong);
}

// The training part (subset applied), the validation part and the test set of a config.
Parts load_parts(const config::TrainConfig& c) {
  const auto& d = c.data;
  data::ImageSet train, test;
  if (d.dataset == "synthetic") {
    train = data::make_synthetic(d.synthetic_train, 1, d.synthetic_side, d.synthetic_side,
                                 d.synthetic_classes, c.train.seed);
    test = data::make_synthetic(d.synthetic_test, 1, d.synthetic_side, d.synthetic_side,
                                d.synthetic_classes, c.train.seed + 1);
  } else if (d.dataset == "cifar10") {
    train = data::load_cifar10(d.path, data::Split::kTrain);
    test = data::load_cifar10(d.path, data::Split::kTest);
  } else {
    const std::string dir = d.path.empty() ? data::kFashionMnistDir : d.path;
    train = data::load_mnist_format(dir, data::Split::kTrain, d.dataset);
    test = data::load_mnist_format(dir, data::Split::kTest, d.dataset);
  }
  CONCNAS_CHECK(static_cast<std::size_t>(d.validation) < train.size(),
                "data.validation: {} leaves nothing of {} training images", d.validation, train.size());
  auto [train_idx, val_idx] = data::split_indices(train.size(), d.validation, c.train.seed);
  if (d.train_subset > 0 && static_cast<std::size_t>(d.train_subset) < train_idx.size()) {
    // A seeded random subset, kept in index order.
    Rng rng = Rng::derive(c.train.seed, 0x737562ULL);
    for (std::size_t i = train_idx.size(); i > 1; --i) std::swap(train_idx[i - 1], train_idx[rng.below(i)]);
    train_idx.resize(d.train_subset);
    std::sort(train_idx.begin(), train_idx.end());
  }
  return {train.subset(train_idx), train.subset(val_idx), std::move(test)};
}

Data load_data(const config::TrainConfig& c) {
  const auto& d = c.data;
  const auto [train_part, val_part, test] = load_parts(c);
  const auto [mean, std] = data::channel_stats(train_part);
  Data out;
  out.mean = mean;
  out.std = std;
  out.train_x = to_tensor(train_part, mean, std);
  out.train_y = labels_of(train_part);
  out.val_x = to_tensor(val_part, mean, std);
  out.val_y = labels_of(val_part);
  out.test_x = to_tensor(test, mean, std);
  out.test_y = labels_of(test);
  out.flip = d.flip == "on" || (d.flip == "auto" && (d.dataset == "fashion-mnist" || d.dataset == "cifar10"));
  return out;
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

// Label-smoothed cross entropy summed over the rows and divided by `batch` (the whole
// batch's row count: a rank of a split holds only some of them).
torch::Tensor smoothed_cross_entropy(const torch::Tensor& logits, const torch::Tensor& y, double eps,
                                     int64_t batch) {
  const auto logp = torch::log_softmax(logits, 1);
  const auto nll = -logp.gather(1, y.unsqueeze(1)).squeeze(1);
  if (eps == 0) return nll.sum() / static_cast<double>(batch);
  return ((1.0 - eps) * nll - eps * logp.mean(1)).sum() / static_cast<double>(batch);
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

// Keeps the metrics lines of epochs up to `epochs` (a resumed run recomputes later ones).
void truncate_metrics(const std::string& path, int epochs) {
  if (!fs::exists(path)) return;
  std::ifstream in(path);
  std::string kept, line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    try {
      if (nlohmann::json::parse(line).at("epoch").get<int>() <= epochs) kept += line + "\n";
    } catch (const std::exception&) {
      break;  // a torn last line from a crash
    }
  }
  write_file_atomic(path, kept);
}

}  // namespace

StepResult forward_backward(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y,
                            double label_smoothing, nn::BatchSplit* split) {
  const int64_t batch = x.size(0);
  const auto params = net->parameters();
  if (!split || split->world() == 1 || batch < split->world()) {
    for (auto& p : params) p.mutable_grad() = torch::Tensor();
    const auto logits = net->forward(x);
    const auto loss = smoothed_cross_entropy(logits, y, label_smoothing, batch);
    loss.backward();
    // A parameter the loss does not reach gets a zero gradient, as in the split path.
    for (auto& p : params)
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    return {loss.item<double>(), logits.argmax(1).eq(y).sum().item<int64_t>()};
  }
  const int world = split->world();
  std::vector<double> losses(world);
  std::vector<int64_t> correct(world);
  std::vector<std::vector<torch::Tensor>> grads(world);
  split->run([&](int rank) {
    const auto [at, n] = split->rows(batch, rank);
    const auto target = y.narrow(0, at, n);
    const auto logits = net->forward(x.narrow(0, at, n));
    const auto loss = smoothed_cross_entropy(logits, target, label_smoothing, batch);
    grads[rank] = torch::autograd::grad({loss}, params, {}, c10::nullopt, false, /*allow_unused=*/true);
    losses[rank] = loss.item<double>();
    correct[rank] = logits.argmax(1).eq(target).sum().item<int64_t>();
  });
  // Summed in rank order: the same bits every run.
  StepResult r;
  for (std::size_t i = 0; i < params.size(); ++i) {
    torch::Tensor g;
    for (int rank = 0; rank < world; ++rank)
      if (grads[rank][i].defined()) g = g.defined() ? g + grads[rank][i] : grads[rank][i];
    params[i].mutable_grad() = g.defined() ? g : torch::zeros_like(params[i]);
  }
  for (int rank = 0; rank < world; ++rank) {
    r.loss += losses[rank];
    r.correct += correct[rank];
  }
  return r;
}

std::pair<std::vector<double>, std::vector<double>> input_normalisation(const config::TrainConfig& config) {
  return data::channel_stats(load_parts(config).train);
}

Trainer::Trainer(config::TrainConfig config, arch::Architecture arch, std::string run_dir)
    : config_(std::move(config)), arch_(std::move(arch)), dir_(std::move(run_dir)) {
  config_.sanity_check();
}

TrainResult Trainer::run(bool resume) {
  const auto& t = config_.train;
  fs::create_directories(dir_);
  const std::string checkpoint_path = dir_ + "/checkpoint.pt";
  const std::string metrics_path = dir_ + "/metrics.jsonl";
  if (!resume) {
    CONCNAS_CHECK(!fs::exists(checkpoint_path),
                  "{} already holds a run (checkpoint.pt); use --resume or another --out", dir_);
  }
  write_file_atomic(dir_ + "/config.yaml", config::to_yaml(config_));
  config::save_architecture(arch_, dir_ + "/arch.yaml");

  configure_cpu_runtime(t.threads);
  const Data d = load_data(config_);
  CONCNAS_CHECK(d.train_x.size(1) == arch_.network.input.channels &&
                    d.train_x.size(2) == arch_.network.input.height &&
                    d.train_x.size(3) == arch_.network.input.width,
                "architecture '{}' does not take this data set's images", arch_.name);

  torch::manual_seed(t.seed);
  nn::Network net(arch_);
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(t.lr)
                                               .momentum(t.momentum)
                                               .nesterov(t.nesterov && t.momentum > 0)
                                               .weight_decay(t.weight_decay));
  int start_epoch = 0;
  std::int64_t step = 0;
  // Training time and images of earlier (interrupted) runs of this folder, so that a
  // resumed run reports the whole run's figures.
  double seconds_before = 0;
  std::int64_t images_before = 0;
  if (resume) {
    CONCNAS_CHECK(fs::exists(checkpoint_path), "nothing to resume: {} not found", checkpoint_path);
    torch::Tensor e, s;
    try {
      torch::serialize::InputArchive root, model, optim;
      root.load_from(checkpoint_path);
      root.read("model", model);
      root.read("optimizer", optim);
      net->load(model);
      opt.load(optim);
      root.read("epoch", e);
      root.read("step", s);
      torch::Tensor secs, imgs;
      if (root.try_read("seconds", secs)) seconds_before = secs.item<double>();
      if (root.try_read("images", imgs)) images_before = imgs.item<int64_t>();
    } catch (const c10::Error& err) {
      // LibTorch's messages run over many lines; the first one says what went wrong.
      throw Error(fmt::format("cannot resume from {}: it does not match architecture '{}' ({})",
                              checkpoint_path, arch_.name, first_line(err.what())));
    }
    start_epoch = static_cast<int>(e.item<int64_t>());
    step = s.item<int64_t>();
    truncate_metrics(metrics_path, start_epoch);
  } else if (fs::exists(metrics_path)) {
    fs::remove(metrics_path);
  }

  const int64_t n = d.train_x.size(0);
  const int64_t steps_per_epoch = (n + t.batch_size - 1) / t.batch_size;
  int64_t total_steps = steps_per_epoch * t.epochs;
  if (t.max_steps > 0) total_steps = std::min(total_steps, t.max_steps);
  const double warmup = std::min<double>(t.warmup_epochs * steps_per_epoch, total_steps);
  auto lr_at = [&](int64_t s) {
    if (s < warmup) return t.lr * (s + 1) / warmup;
    const double progress = (s - warmup) / std::max(1.0, total_steps - warmup);
    return t.lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
  };

  const auto started = std::chrono::steady_clock::now();
  std::int64_t images = 0;
  double seconds_total = seconds_before;  // as of the last checkpoint
  int epoch = start_epoch;
  int epochs_this_run = 0;
  std::optional<std::pair<double, double>> last_val;  // (loss, accuracy) after the latest epoch
  nn::set_kernels(t.kernels == "libtorch" ? nn::Kernels::kLibTorch : nn::Kernels::kConcnas);
  std::unique_ptr<nn::BatchSplit> split;
  const int ranks = nn::BatchSplit::ranks_for(t.batch_split);
  if (ranks > 1) split = std::make_unique<nn::BatchSplit>(ranks);
  net->train();
  while (epoch < t.epochs && step < total_steps) {
    Rng rng = Rng::derive(t.seed, 0x65706f6368ULL + static_cast<std::uint64_t>(epoch));
    std::vector<int64_t> order(n);
    for (int64_t i = 0; i < n; ++i) order[i] = i;
    for (int64_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(static_cast<std::uint64_t>(i))]);
    const auto order_t = torch::tensor(order, torch::kLong);
    double loss_sum = 0;
    int64_t correct = 0, seen = 0;
    const auto epoch_start = std::chrono::steady_clock::now();
    for (int64_t b = 0; b < steps_per_epoch && step < total_steps; ++b) {
      const int64_t at = b * t.batch_size;
      const int64_t count = std::min<int64_t>(t.batch_size, n - at);
      const auto idx = order_t.narrow(0, at, count);
      torch::Tensor x = d.train_x.index_select(0, idx);
      const torch::Tensor y = d.train_y.index_select(0, idx);
      if (config_.data.augment) x = augment(x, config_.data.crop_padding, d.flip, rng);
      for (auto& group : opt.param_groups())
        static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr_at(step));
      const StepResult r = forward_backward(net, x, y, t.label_smoothing, split.get());
      if (!std::isfinite(r.loss))
        throw Error(fmt::format("loss became {} at epoch {} step {}; the last good checkpoint "
                                "({}) is kept",
                                r.loss, epoch + 1, step, fs::exists(checkpoint_path) ? checkpoint_path : "none yet"));
      opt.step();
      ++step;
      loss_sum += r.loss * count;
      correct += r.correct;
      seen += count;
      images += count;
      if (progress_) progress_(epoch + 1, t.epochs, b + 1, steps_per_epoch, loss_sum / seen);
    }
    ++epoch;
    ++epochs_this_run;
    const double epoch_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    const auto [val_loss, val_acc] = evaluate(net, d.val_x, d.val_y, t.eval_batch_size);
    last_val = {val_loss, val_acc};
    nlohmann::ordered_json line{{"epoch", epoch}, {"step", step},
                                {"lr", lr_at(std::max<int64_t>(0, step - 1))},
                                {"train_loss", loss_sum / std::max<int64_t>(1, seen)},
                                {"train_accuracy", static_cast<double>(correct) / std::max<int64_t>(1, seen)},
                                {"val_loss", d.val_x.size(0) ? nlohmann::ordered_json(val_loss) : nlohmann::ordered_json()},
                                {"val_accuracy", d.val_x.size(0) ? nlohmann::ordered_json(val_acc) : nlohmann::ordered_json()},
                                {"seconds", epoch_s}, {"images_per_s", seen / std::max(1e-9, epoch_s)}};
    {
      std::ofstream out(metrics_path, std::ios::app);
      out << line.dump() << "\n";
      out.flush();
      if (!out) throw IoError("cannot append to " + metrics_path);
    }
    torch::serialize::OutputArchive root, model, optim;
    net->save(model);
    opt.save(optim);
    root.write("model", model);
    root.write("optimizer", optim);
    root.write("epoch", torch::tensor(static_cast<int64_t>(epoch)));
    root.write("step", torch::tensor(step));
    seconds_total =
        seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    root.write("seconds", torch::tensor(seconds_total, torch::kDouble));
    root.write("images", torch::tensor(images_before + images));
    root.save_to(checkpoint_path + ".tmp");
    fs::rename(checkpoint_path + ".tmp", checkpoint_path);
    if (stop_after_ > 0 && epochs_this_run >= stop_after_) {
      TrainResult partial;
      partial.epochs = epoch;
      partial.steps = step;
      return partial;
    }
  }

  TrainResult r;
  r.seconds = seconds_total;
  r.images_per_s = r.seconds > 0 ? (images_before + images) / r.seconds : 0;
  r.epochs = epoch;
  r.steps = step;
  std::tie(r.test_loss, r.test_accuracy) = evaluate(net, d.test_x, d.test_y, t.eval_batch_size);
  // The last epoch of this process evaluated these weights already; a run resumed after
  // its last epoch has not.
  if (d.val_x.size(0) > 0)
    std::tie(r.val_loss, r.val_accuracy) =
        last_val ? *last_val : evaluate(net, d.val_x, d.val_y, t.eval_batch_size);
  const auto cost = arch::compute_cost(arch_);
  r.params = nn::count_parameters(*net);
  r.flops = cost.total.flops;
  torch::save(net, dir_ + "/weights.pt.tmp");
  fs::rename(dir_ + "/weights.pt.tmp", dir_ + "/weights.pt");
  nlohmann::ordered_json eval{{"architecture", arch_.name}, {"test_accuracy", r.test_accuracy},
                              {"test_loss", r.test_loss},
                              {"val_accuracy", d.val_x.size(0) ? nlohmann::ordered_json(r.val_accuracy) : nlohmann::ordered_json()},
                              {"params", r.params}, {"flops", r.flops},
                              {"epochs", r.epochs}, {"steps", r.steps},
                              {"train_seconds", r.seconds}, {"images_per_s", r.images_per_s},
                              {"threads", torch::get_num_threads()},
                              {"input_mean", d.mean}, {"input_std", d.std}};
  write_file_atomic(dir_ + "/eval.json", eval.dump(2) + "\n");
  return r;
}

}  // namespace concnas::train
