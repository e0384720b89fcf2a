#pragma once
/// \file
/// Batch norm in training mode with concnas's own CPU loops.
///
/// LibTorch 1.13's CPU batch norm takes each channel's statistics with scalar
/// double-precision additions, one channel at a time: on the 64-channel 7x7 maps where a
/// DP-40 network spends most of its time it was a quarter of a training step. These loops
/// walk the tensor row by row in vector registers, summing in float within a plane and in
/// double across planes, in a fixed order: the result does not depend on the thread count.
/// The math is torch::nn::BatchNorm2d's: batch mean and biased variance for the output,
/// the unbiased variance into the running estimate.

#include <torch/torch.h>

namespace concnas::nn {

/// Which loops `nn::batch_norm` uses in training outside a batch split: concnas's own (the
/// default) or LibTorch's (torch::nn::BatchNorm2d's forward, bit for bit what a Python
/// network computes). Process-wide; `concnas train` sets it from train.batch_norm.
enum class BatchNormKernels { kConcnas, kLibTorch };
void set_batch_norm_kernels(BatchNormKernels kernels);
BatchNormKernels batch_norm_kernels();

/// Whether `batch_norm_train` takes `x`: a 4-D float tensor on the CPU.
bool batch_norm_train_supported(const torch::Tensor& x);

/// y = (x - mean) / sqrt(var + eps) * weight + bias with the batch's per-channel mean and
/// variance, differentiable in x, weight and bias. When `running_mean` is defined, it and
/// `running_var` move towards the batch's statistics by `momentum` (a negative momentum:
/// a cumulative average over `batches_tracked`, which is incremented either way).
torch::Tensor batch_norm_train(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::Tensor running_mean,
                               torch::Tensor running_var, torch::Tensor batches_tracked,
                               double momentum, double eps);

/// A batch norm's running estimates, handed to an autograd Function as one non-tensor
/// argument: LibTorch 1.13's Function::apply cannot take undefined tensors.
struct RunningStats {
  torch::Tensor mean, var, batches_tracked;
};

}  // namespace concnas::nn
