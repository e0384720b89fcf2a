#include "concnas/train/trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <optional>
#include <thread>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <nlohmann/json.hpp>

#include "concnas/arch/baselines.h"
#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/nn/network.h"
#include "concnas/nn/ops.h"
#include "epoch.h"
#include "run_folder.h"
#include "schedule.h"

namespace concnas::train {
namespace fs = std::filesystem;
using detail::RunProgress;

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
  const auto shape = data::builtin_datasets()
                         .get(config.data.dataset)
                         .shape(config::dataset_options(config.data, config.train.seed));
  return {{shape.channels, shape.height, shape.width}, shape.classes};
}

data::Normalisation input_normalisation(const config::TrainConfig& config) {
  const auto& d = config.data;
  const auto parts = data::load_training_parts(data::builtin_datasets().get(d.dataset),
                                               config::dataset_options(d, config.train.seed),
                                               d.validation, d.train_subset, config.train.seed);
  return data::Normalisation::of(parts.train);
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

config::TrainConfig as_config(const TrainerOptions& o) {
  config::TrainConfig c;
  c.data = o.data;
  c.train = o.train;
  return c;
}

nlohmann::ordered_json optional_number(bool present, double value) {
  return present ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
}

nlohmann::ordered_json metrics_line(const RunProgress& at, const detail::Schedule& schedule,
                                    const detail::EpochStats& e, bool validated,
                                    std::pair<double, double> val) {
  const auto seen = std::max<std::int64_t>(1, e.seen);
  return {{"epoch", at.epoch},
          {"step", at.step},
          {"lr", schedule.lr_at(std::max<int64_t>(0, at.step - 1))},
          {"train_loss", e.loss_sum / seen},
          {"train_accuracy", static_cast<double>(e.correct) / seen},
          {"val_loss", optional_number(validated, val.first)},
          {"val_accuracy", optional_number(validated, val.second)},
          {"seconds", e.seconds},
          {"images_per_s", e.seen / std::max(1e-9, e.seconds)}};
}

nlohmann::ordered_json eval_json(const std::string& name, const TrainResult& r, bool validated,
                                 const data::Normalisation& n) {
  return {{"architecture", name}, {"test_accuracy", r.test_accuracy}, {"test_loss", r.test_loss},
          {"val_accuracy", optional_number(validated, r.val_accuracy)},
          {"params", r.params}, {"flops", r.flops}, {"epochs", r.epochs}, {"steps", r.steps},
          {"train_seconds", r.seconds}, {"images_per_s", r.images_per_s},
          {"threads", torch::get_num_threads()}, {"input_mean", n.mean}, {"input_std", n.std}};
}

torch::optim::SGD make_optimiser(nn::Network& net, const config::TrainSection& t) {
  return torch::optim::SGD(net->parameters(), torch::optim::SGDOptions(t.lr)
                                                  .momentum(t.momentum)
                                                  .nesterov(t.nesterov && t.momentum > 0)
                                                  .weight_decay(t.weight_decay));
}

}  // namespace

Trainer::Trainer(const data::Dataset& dataset, TrainerOptions options, arch::Architecture arch,
                 std::string run_dir)
    : dataset_(dataset), options_(std::move(options)), arch_(std::move(arch)), dir_(std::move(run_dir)) {
  as_config(options_).sanity_check();
}

Trainer::Trainer(const config::TrainConfig& config, arch::Architecture arch, std::string run_dir)
    : Trainer(data::builtin_datasets().get(config.data.dataset), {config.train, config.data},
              std::move(arch), std::move(run_dir)) {}

TrainResult Trainer::run(bool resume) {
  const auto& t = options_.train;
  const detail::RunFolder folder(dir_);
  configure_cpu_runtime(t.threads);
  // The data first: a missing or short data set leaves no run folder behind.
  const auto data = detail::load_training_tensors(dataset_, options_);
  const bool resuming = folder.open(resume, config::to_yaml(as_config(options_), {"data", "train"}), arch_);
  CONCNAS_CHECK(data.train_x.size(1) == arch_.network.input.channels &&
                    data.train_x.size(2) == arch_.network.input.height &&
                    data.train_x.size(3) == arch_.network.input.width,
                "architecture '{}' does not take this data set's images", arch_.name);
  torch::manual_seed(t.seed);
  nn::Network net(arch_);
  auto opt = make_optimiser(net, t);
  // A resumed run carries on the figures of the processes before it.
  RunProgress at;
  if (resuming)
    at = folder.resume(net, opt, arch_.name);
  else
    folder.clear_metrics();
  if (!resuming && initial_weights_) initial_weights_(*net);
  const RunProgress before = at;
  const auto schedule = detail::Schedule::of(t, data.train_x.size(0));
  const bool validated = data.val_x.size(0) > 0;
  const auto started = std::chrono::steady_clock::now();
  std::optional<std::pair<double, double>> last_val;  // (loss, accuracy) after the latest epoch
  nn::set_kernels(t.kernels == "libtorch" ? nn::Kernels::kLibTorch : nn::Kernels::kConcnas);
  net->train();
  for (int epochs_here = 1; at.epoch < t.epochs && at.step < schedule.total_steps; ++epochs_here) {
    const std::string kept = fs::exists(folder.checkpoint_path()) ? folder.checkpoint_path() : "none yet";
    const auto stats =
        detail::train_epoch(net, opt, data, options_, schedule, at.epoch, &at.step, kept, progress_, before_step_);
    if (before_step_) before_step_(*net, -1);
    ++at.epoch;
    at.images += stats.seen;
    last_val = detail::evaluate(net, data.val_x, data.val_y, t.eval_batch_size);
    folder.append_metrics(metrics_line(at, schedule, stats, validated, *last_val));
    at.seconds = before.seconds + std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    folder.save_checkpoint(net, opt, at);
    if (stop_after_ > 0 && epochs_here >= stop_after_) {
      TrainResult partial;
      partial.epochs = at.epoch;
      partial.steps = at.step;
      return partial;
    }
  }
  TrainResult r;
  r.seconds = at.seconds;
  r.images_per_s = r.seconds > 0 ? at.images / r.seconds : 0;
  r.epochs = at.epoch;
  r.steps = at.step;
  if (before_step_) before_step_(*net, -1);
  std::tie(r.test_loss, r.test_accuracy) = detail::evaluate(net, data.test_x, data.test_y, t.eval_batch_size);
  // The last epoch of this process evaluated these weights already; a run resumed after
  // its last epoch has not.
  if (validated)
    std::tie(r.val_loss, r.val_accuracy) =
        last_val ? *last_val : detail::evaluate(net, data.val_x, data.val_y, t.eval_batch_size);
  r.params = nn::count_parameters(*net);
  r.flops = arch::compute_cost(arch_).total.flops;
  folder.save_weights(net);
  folder.write_eval(eval_json(arch_.name, r, validated, data.normalisation));
  return r;
}

}  // namespace concnas::train
