#pragma once
/// \file
/// One training step's forward and backward, as `concnas train` runs it.
///
///     concnas::nn::BatchSplit split(2);  // optional: two threads, half the rows each
///     auto r = concnas::train::forward_backward(net, x, y, 0.1, &split);
///     opt.step();

#include <torch/torch.h>

#include <cstdint>

#include "concnas/nn/batch_split.h"
#include "concnas/nn/network.h"

namespace concnas::train {

/// What one training batch gave: its mean loss and how many rows were classified right.
struct StepResult {
  double loss = 0;
  std::int64_t correct = 0;
};

/// Forward, label-smoothed cross entropy and backward of one batch: the parameters' `grad`
/// is set to this batch's gradient. With a `split` of more than one rank (and at
/// least as many rows), each rank takes a slice of the rows on its own thread
/// (nn::BatchSplit) and the gradients are summed in rank order.
StepResult forward_backward(nn::Network& net, const torch::Tensor& x, const torch::Tensor& y,
                            double label_smoothing, nn::BatchSplit* split);

}  // namespace concnas::train
