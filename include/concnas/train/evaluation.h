#pragma once
/// \file
/// Scoring one network on a config's images outside a training run: what a search over
/// weight-shared networks (seed 001's communication policies) does per candidate.
///
///     auto images = concnas::train::load_images(config);     // normalised as in training
///     concnas::nn::Network net(arch);
///     concnas::train::load_weights(*net, "runs/x/shared/weights.pt");
///     concnas::train::recalibrate_batch_norm(net, images.train_x, 128, 10);
///     auto [loss, accuracy] = concnas::train::evaluate(net, images.val_x, images.val_y, 256);

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>

#include "concnas/config/train_config.h"
#include "concnas/nn/network.h"

namespace concnas::train {

/// A config's training, validation and test images, split, subset and normalised exactly
/// as `Trainer::run` reads them (no augmentation).
struct LabelledImages {
  torch::Tensor train_x, train_y, val_x, val_y, test_x, test_y;
};

/// Throws `Error` when the data set cannot be read.
LabelledImages load_images(const config::TrainConfig& config);

/// Mean loss and accuracy (fraction) of `net` in evaluation mode on (x, y), in batches of
/// `batch`; (0, 0) on no rows. Leaves `net` in evaluation mode.
std::pair<double, double> evaluate(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y, int batch);

/// Re-estimates every batch norm's running mean and variance as the plain average over
/// the first `batches` whole batches of `x` (training-mode forwards, no gradient; all of
/// `x` as one batch when it holds less than one), as one-shot searches do for a network
/// whose weights were trained under many sub-networks. The momentum is restored and `net`
/// left in evaluation mode, also when a forward throws. No batches: nothing changes.
/// Throws `InvalidArgument` on a batch below 1 or negative batches.
void recalibrate_batch_norm(nn::Network& net, const torch::Tensor& x, int batch, int batches);

/// Loads a run's `weights.pt` (or any file `torch::save(net)` wrote) into `net`. Throws
/// `Error` naming the file when it is missing or does not fit the architecture.
void load_weights(nn::NetworkImpl& net, const std::string& file);

}  // namespace concnas::train
