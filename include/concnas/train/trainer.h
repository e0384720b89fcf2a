#pragma once
/// \file
/// Training an architecture on real data, resumably.
///
///     const auto& dataset = concnas::data::builtin_datasets().get("fashion-mnist");
///     concnas::train::Trainer trainer(dataset, {config.train, config.data}, arch, "runs/dp40");
///     auto result = trainer.run(/*resume=*/false);
///     result.test_accuracy;  // fraction in [0, 1]
///
/// The run folder holds `config.yaml` (the resolved data and train sections), `arch.yaml`,
/// `metrics.jsonl` (one line per epoch), `checkpoint.pt` (weights, optimiser state, epoch:
/// written to a temporary file and renamed after every epoch), `weights.pt` and
/// `eval.json`. Data order and augmentation draw from streams derived from (seed, epoch),
/// so a resumed run ends with the same weights as an uninterrupted one.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "concnas/arch/architecture.h"
#include "concnas/config/train_config.h"
#include "concnas/data/dataset.h"

namespace concnas::nn {
class NetworkImpl;
}

namespace concnas::train {

struct TrainResult {
  double test_accuracy = 0;  ///< fraction in [0, 1]
  double test_loss = 0;
  /// On the held-out validation split (data.validation images; 0 when there is none): what
  /// a search may select by without looking at the test set.
  double val_accuracy = 0;
  double val_loss = 0;
  std::int64_t params = 0;
  std::int64_t flops = 0;
  double seconds = 0;        ///< training wall time, summed over resumed runs
  int epochs = 0;            ///< epochs completed in all
  std::int64_t steps = 0;
  double images_per_s = 0;   ///< training images / seconds, over resumed runs
};

/// Called with the network before every optimiser step, with the run's step number (a
/// resumed run carries on the count, so a hook that draws from it is reproducible), and
/// with step -1 before every evaluation: e.g. a communication policy per step for one
/// network shared by many (nn/weight_sharing.h), and every edge on to evaluate.
using StepHook = std::function<void(nn::NetworkImpl& net, std::int64_t step)>;

/// Called once with a fresh run's network before its first step (not when a run resumes
/// from its checkpoint): e.g. weights inherited from a shared network to fine-tune.
using InitHook = std::function<void(nn::NetworkImpl& net)>;

/// One line of progress, called after every batch (`done` of `total` batches in the epoch).
using ProgressFn = std::function<void(int epoch, int epochs, std::int64_t done,
                                      std::int64_t total, double loss)>;

/// What a training run does: the schedule and optimiser (train) and which images it
/// reads and how it augments them (data).
struct TrainerOptions {
  config::TrainSection train;
  config::DataSection data;
};

class Trainer {
 public:
  /// Throws `InvalidArgument` naming the first bad option.
  Trainer(const data::Dataset& dataset, TrainerOptions options, arch::Architecture arch,
          std::string run_dir);
  /// The data set, options and architecture of a training config.
  Trainer(const config::TrainConfig& config, arch::Architecture arch, std::string run_dir);
  void set_progress(ProgressFn progress) { progress_ = std::move(progress); }
  void set_before_step(StepHook hook) { before_step_ = std::move(hook); }
  void set_initial_weights(InitHook hook) { initial_weights_ = std::move(hook); }
  /// For tests: stop (as if killed) after this many epochs of this process.
  void set_stop_after_epochs(int epochs) { stop_after_ = epochs; }
  /// Trains, or with `resume` continues from the run folder's checkpoint (a folder killed
  /// before its first checkpoint starts afresh, as a preempted job that always passes
  /// --resume needs). Throws `concnas::Error` on a NaN loss (the last good checkpoint is
  /// kept); a data set that cannot be read leaves no run folder.
  TrainResult run(bool resume);

 private:
  const data::Dataset& dataset_;
  TrainerOptions options_;
  arch::Architecture arch_;
  std::string dir_;
  ProgressFn progress_;
  StepHook before_step_;
  InitHook initial_weights_;
  int stop_after_ = 0;
};

/// Sets LibTorch's intra-op threads (0: all cores) and, with glibc, keeps freed tensor
/// memory in the heap: by default glibc hands large blocks back to the kernel and every
/// training step page-faults them in again, which cost this project 15-25% of its training
/// throughput (docs/benchmarks.md). Process-wide; `Trainer::run` calls it with train.threads.
void configure_cpu_runtime(int threads);

/// Image shape and class count of the config's data set (without reading the images).
std::pair<arch::Shape, int> dataset_shape(const config::TrainConfig& config);

/// The normalisation a config's training uses: that of its training part. Reads the data.
data::Normalisation input_normalisation(const config::TrainConfig& config);

/// The architecture a config asks for: its file, its generator settings, or the chain
/// baseline; `network` input shape and classes come from the data set.
arch::Architecture architecture_from_config(const config::TrainConfig& config,
                                            const arch::Shape& input, int classes);

}  // namespace concnas::train
