#pragma once
/// \file
/// One training step's forward and backward, as `concnas train` runs it.
///
///     auto r = concnas::train::forward_backward(net, x, y, /*label_smoothing=*/0.1);
///     opt.step();

#include <torch/torch.h>

#include <cstdint>

#include "concnas/nn/network.h"

namespace concnas::train {

/// What one training batch gave: its mean loss and how many rows were classified right.
struct StepResult {
  double loss = 0;
  std::int64_t correct = 0;
};

/// Forward, label-smoothed cross entropy and backward of one batch: the parameters' `grad`
/// is set to this batch's gradient (zero for a parameter the loss does not reach).
StepResult forward_backward(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y,
                            double label_smoothing);

}  // namespace concnas::train
