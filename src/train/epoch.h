#pragma once
// One epoch of training and an evaluation pass (private to src/train).

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "concnas/data/dataset.h"
#include "concnas/nn/network.h"
#include "concnas/train/trainer.h"
#include "schedule.h"

namespace concnas::train::detail {

/// A run's images as tensors, normalised with the training part's statistics.
struct TrainingTensors {
  torch::Tensor train_x, train_y, val_x, val_y, test_x, test_y;
  data::Normalisation normalisation;
  bool flip = false;  ///< horizontal flips in augmentation
};

/// Reads the data set's parts as `options` select them.
TrainingTensors load_training_tensors(const data::Dataset& dataset, const TrainerOptions& options);

/// What one epoch's batches gave.
struct EpochStats {
  double loss_sum = 0;  ///< mean batch loss x rows, summed
  std::int64_t correct = 0;
  std::int64_t seen = 0;
  double seconds = 0;
};

/// Trains epoch `epoch` (0-based) from optimiser step `*step` on, stopping early at the
/// schedule's last step; `*step` advances. Throws `Error` on a non-finite loss, naming
/// `kept_checkpoint` as what is kept.
EpochStats train_epoch(nn::Network& net, torch::optim::SGD& opt, const TrainingTensors& data,
                       const TrainerOptions& options, const Schedule& schedule, int epoch,
                       std::int64_t* step, const std::string& kept_checkpoint, const ProgressFn& progress,
                       const StepHook& before_step = {});

/// Mean loss and accuracy of `net` on (x, y), in batches of `batch`; (0, 0) on no rows.
std::pair<double, double> evaluate(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y,
                                   int batch);

}  // namespace concnas::train::detail
