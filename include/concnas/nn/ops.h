#pragma once
/// \file
/// Operators concnas runs with its own CPU loops in training, where LibTorch 1.13's are slow
/// on the small maps of concnas networks (docs/results.md, training speed).
///
/// - Batch norm: LibTorch takes each channel's statistics with scalar double-precision
///   additions, one channel at a time; on the 64-channel 7x7 maps where a DP-40 network
///   spends most of its time that was a quarter of a training step. `batch_norm_train`
///   walks the tensor row by row in vector lanes.
/// - A vertex's aggregation and ReLU, max(0, Σ sigmoid(w_i) x_i): LibTorch runs it as a
///   product, k - 1 fused multiply-adds and a ReLU, each a pass over memory, and as many
///   again backward; `weighted_sum_relu` makes one pass each way.
///
/// Both compute what the LibTorch operators compute, up to floating-point summation order,
/// and sum in a fixed order: the same bits for any thread count.

#include <torch/torch.h>

namespace concnas::nn {

/// Whose loops the network uses in training (`nn::batch_norm`, `Vertex`): concnas's own (the
/// default) or LibTorch's operators alone, bit for bit what a Python network computes.
/// Process-wide; `concnas train` sets it from train.kernels.
enum class Kernels { kConcnas, kLibTorch };
void set_kernels(Kernels kernels);
Kernels kernels_in_use();

/// Whether the own loops take `x`: a 4-D float tensor on the CPU.
bool own_kernels_take(const torch::Tensor& x);

/// y = (x - mean) / sqrt(var + eps) * weight + bias with the batch's per-channel mean and
/// biased variance, differentiable in x, weight and bias. When `running_mean` is defined,
/// it and `running_var` (unbiased) move towards the batch's statistics by `momentum`; a
/// negative momentum makes them a cumulative average over `batches_tracked`, which is
/// incremented whenever defined (torch::nn::BatchNorm2d's rules).
torch::Tensor batch_norm_train(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::Tensor running_mean,
                               torch::Tensor running_var, torch::Tensor batches_tracked,
                               double momentum, double eps);

/// max(0, Σ_i scale[i] * inputs[i]) over same-shaped float CPU tensors, differentiable in
/// the inputs and in the 1-D `scale` (for RandWire, sigmoid of the vertex's weights).
torch::Tensor weighted_sum_relu(const std::vector<torch::Tensor>& inputs,
                                const torch::Tensor& scale);

/// A batch norm's running estimates, handed to an autograd Function as one non-tensor
/// argument: LibTorch 1.13's Function::apply cannot take undefined tensors.
struct RunningStats {
  torch::Tensor mean, var, batches_tracked;
};

/// torch::nn::BatchNorm2d's update after a training batch of `count` values per channel
/// with per-channel `mean` and biased `var`: increments `batches_tracked` where defined;
/// where `mean` is defined, moves both estimates by `momentum` (negative: a cumulative
/// average over the batches tracked), the variance unbiased.
/// A BatchNorm2d module applied to `x`: as `bn.forward(x)`, except that while training
/// concnas's own loops run it (batch_norm_train) unless set_kernels chose LibTorch's.
torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

void update_running_stats(const RunningStats& running, const float* mean, const double* var,
                          double count, double momentum);

}  // namespace concnas::nn
