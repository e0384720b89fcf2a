#pragma once
/// \file
/// The LibTorch network of an architecture (docs/generators.md, "From DAG to network").
///
///     auto arch = concnas::config::load_architecture("arch.yaml");
///     concnas::nn::Network net(arch);
///     torch::Tensor logits = net->forward(images);  // [B, C, H, W] -> [B, classes]
///
/// Stem (3x3 conv + BatchNorm) -> one `Vertex` per compute vertex in topological order ->
/// the output vertex averages the sinks -> global average pooling -> linear classifier.
/// Its trainable parameter count equals `arch::compute_cost(arch).total.params`.

#include <torch/torch.h>

#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::nn {

/// The max_pool2d kernel (= stride, {height, width}) that takes `from` to `to`, or empty
/// when the sizes do not divide evenly and adaptive max pooling is needed. max_pool2d has
/// the faster kernel; both give the same result where the sizes divide.
std::vector<int64_t> pool_kernel(const arch::Shape& from, const arch::Shape& to);

/// Max-pools an input to the target resolution and/or projects it with a 1x1 conv to the
/// target channel count (arch::ScalingBlock).
class ScalingImpl : public torch::nn::Module {
 public:
  ScalingImpl(const arch::ScalingBlock& block, const arch::Shape& target);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool pool_;
  std::vector<int64_t> size_;
  std::vector<int64_t> kernel_;  ///< max_pool2d kernel = stride where sizes divide evenly
  torch::nn::Conv2d project_{nullptr};
};
TORCH_MODULE(Scaling);

/// What edge `i` of `spec` hands its consumer of the producer's output `x`: the first
/// channels the edge carries, rounded to float16 and back on an fp16 edge.
torch::Tensor carried(const arch::VertexSpec& spec, std::size_t i, const torch::Tensor& x);

/// Brings a vertex's inputs to its common shape and combines them: RandWire's
/// Σ sigmoid(w_i)·x_i or the EDGE'23 paper's Σ w_i·sigmoid(x_i) (docs/generators.md), or
/// (merge: concat) their concatenation. One input passes through. Each input is first what
/// its edge carries (`carried`).
class AggregateImpl : public torch::nn::Module {
 public:
  AggregateImpl(const arch::VertexSpec& spec, arch::Aggregation kind);
  /// `inputs` in the order of `spec.inputs`.
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs);
  /// ReLU(forward(inputs)); in training with RandWire weights one operator of concnas's own
  /// (nn::weighted_sum_relu) unless nn::set_kernels chose LibTorch's.
  torch::Tensor forward_relu(const std::vector<torch::Tensor>& inputs);
  /// ReLU of the inputs `active` (indices into `inputs`, ascending) combined as if the
  /// others were not there: one passes through, several are weighted by their own weights.
  torch::Tensor forward_relu(const std::vector<torch::Tensor>& inputs, const std::vector<std::size_t>& active);

 private:
  torch::Tensor scaled(const std::vector<torch::Tensor>& inputs, std::size_t i);
  /// The inputs `which` (indices into `inputs`, ascending) scaled and combined: one passes
  /// through; several are concatenated, or summed with their own weights.
  torch::Tensor combine(const std::vector<torch::Tensor>& inputs, const std::vector<std::size_t>& which);

  arch::VertexSpec spec_;
  std::vector<std::size_t> every_input_;  ///< 0 .. inputs - 1
  arch::Aggregation kind_;
  std::vector<Scaling> scaling_;  ///< per input; empty module where none is needed
  std::vector<bool> scaled_;
  torch::Tensor weight_;          ///< one per input when there are several
};
TORCH_MODULE(Aggregate);

/// A compute vertex: aggregate -> ReLU -> 3x3 depthwise conv (stride 2 when staged) ->
/// 1x1 pointwise conv -> BatchNorm.
class VertexImpl : public torch::nn::Module {
 public:
  VertexImpl(const arch::VertexSpec& spec, const arch::Architecture& arch);
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs);
  /// With only the inputs `active` (AggregateImpl::forward_relu); empty: all of them.
  torch::Tensor forward(const std::vector<torch::Tensor>& inputs, const std::vector<std::size_t>& active);

 private:
  Aggregate aggregate_{nullptr};
  torch::nn::Conv2d depthwise_{nullptr};
  torch::nn::Conv2d pointwise_{nullptr};
  torch::nn::BatchNorm2d norm_{nullptr};
};
TORCH_MODULE(Vertex);

class NetworkImpl : public torch::nn::Module {
 public:
  explicit NetworkImpl(const arch::Architecture& arch);
  torch::Tensor forward(const torch::Tensor& images);
  const arch::Architecture& architecture() const { return arch_; }
  /// Weight sharing across communication policies (seed 001; nn/weight_sharing.h): the
  /// edges (producer, consumer) given are left out of their consumer's aggregation, as if
  /// the architecture did not have them; the others keep their weights. Empty: every edge
  /// counts again. Throws `InvalidArgument` on a pair that is not an edge into a compute
  /// vertex, or that would leave a vertex no input.
  void set_inactive_edges(const std::vector<std::pair<int, int>>& edges);

 private:
  arch::Architecture arch_;
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_norm_{nullptr};
  std::vector<Vertex> vertices_;            ///< by compute vertex id
  std::vector<Scaling> output_scaling_;     ///< per sink; empty where none is needed
  torch::Tensor output(const std::vector<torch::Tensor>& sinks);
  torch::nn::Linear head_{nullptr};
  std::vector<int> remaining_uses_;         ///< consumers per vertex, to free tensors early
  std::vector<std::vector<std::size_t>> active_;  ///< per compute vertex, its inputs counted; empty: all
};
TORCH_MODULE(Network);

/// Number of trainable parameters of a module.
int64_t count_parameters(torch::nn::Module& module);

}  // namespace concnas::nn
