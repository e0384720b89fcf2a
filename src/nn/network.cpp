#include "concnas/nn/network.h"

#include <algorithm>

#include "concnas/common/error.h"
#include "concnas/nn/ops.h"

namespace concnas::nn {
std::vector<int64_t> pool_kernel(const arch::Shape& from, const arch::Shape& to) {
  if (from.height % to.height != 0 || from.width % to.width != 0) return {};
  return {from.height / to.height, from.width / to.width};
}

ScalingImpl::ScalingImpl(const arch::ScalingBlock& block, const arch::Shape& target)
    : pool_(block.pool), size_{target.height, target.width}, kernel_(pool_kernel(block.from_shape, target)) {
  if (block.project)
    project_ = register_module(
        "project", torch::nn::Conv2d(torch::nn::Conv2dOptions(block.from_shape.channels,
                                                              target.channels, 1)
                                         .bias(false)));
}

torch::Tensor ScalingImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = x;
  if (pool_)
    y = kernel_.empty() ? std::get<0>(torch::adaptive_max_pool2d(x, size_))
                        : torch::max_pool2d(x, kernel_, kernel_);
  return project_ ? project_->forward(y) : y;
}

torch::Tensor carried(const arch::VertexSpec& spec, std::size_t i, const torch::Tensor& x) {
  const int64_t channels = spec.carried(i, static_cast<int>(x.size(1)));
  torch::Tensor y = channels < x.size(1) ? x.narrow(1, 0, channels) : x;
  return spec.edges[i].dtype == arch::Dtype::kFp16 ? y.to(torch::kHalf).to(x.scalar_type()) : y;
}

AggregateImpl::AggregateImpl(const arch::VertexSpec& spec, arch::Aggregation kind)
    : spec_(spec), kind_(kind) {
  for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
    every_input_.push_back(i);
    const arch::ScalingBlock* block = spec.scaling_from(spec.inputs[i]);
    scaled_.push_back(block != nullptr);
    scaling_.push_back(block ? register_module("scale" + std::to_string(spec.inputs[i]),
                                               Scaling(*block, spec.in))
                             : Scaling(nullptr));
  }
  if (spec.inputs.size() > 1 && spec.merge == arch::Merge::kSum) {
    // RandWire: sigmoid(0) = 1/2 per input; the EDGE'23 paper's form (docs/generators.md): w_i = 1/k.
    const double init = kind == arch::Aggregation::kRandWire ? 0.0 : 1.0 / spec.inputs.size();
    weight_ = register_parameter(
        "weight", torch::full({static_cast<int64_t>(spec.inputs.size())}, init));
  }
}

torch::Tensor AggregateImpl::scaled(const std::vector<torch::Tensor>& inputs, std::size_t i) {
  const torch::Tensor x = carried(spec_, i, inputs[i]);
  return scaled_[i] ? scaling_[i]->forward(x) : x;
}

torch::Tensor AggregateImpl::forward_relu(const std::vector<torch::Tensor>& inputs) {
  if (inputs.size() > 1 && weight_.defined() && kind_ == arch::Aggregation::kRandWire && is_training() &&
      kernels_in_use() == Kernels::kConcnas && own_kernels_take(inputs[0])) {
    std::vector<torch::Tensor> xs;
    for (std::size_t i = 0; i < inputs.size(); ++i) xs.push_back(scaled(inputs, i));
    return weighted_sum_relu(xs, torch::sigmoid(weight_));
  }
  torch::Tensor x = forward(inputs);
  // A single input is another vertex's output, still needed elsewhere: no in-place ReLU then.
  return inputs.size() > 1 ? x.relu_() : torch::relu(x);
}

torch::Tensor AggregateImpl::forward_relu(const std::vector<torch::Tensor>& inputs,
                                          const std::vector<std::size_t>& active) {
  if (active.size() == inputs.size()) return forward_relu(inputs);
  CONCNAS_CHECK(!active.empty(), "a vertex needs at least one active input");
  torch::Tensor x = combine(inputs, active);
  // A single input is another vertex's output, still needed elsewhere: no in-place ReLU then.
  return active.size() > 1 ? x.relu_() : torch::relu(x);
}

torch::Tensor AggregateImpl::forward(const std::vector<torch::Tensor>& inputs) {
  return combine(inputs, every_input_);
}

torch::Tensor AggregateImpl::combine(const std::vector<torch::Tensor>& inputs,
                                     const std::vector<std::size_t>& which) {
  auto at = [&](std::size_t k) { return scaled(inputs, which[k]); };
  if (which.size() == 1) return at(0);
  if (spec_.merge == arch::Merge::kConcat) {
    std::vector<torch::Tensor> xs;
    for (std::size_t k = 0; k < which.size(); ++k) xs.push_back(at(k));
    return torch::cat(xs, 1);
  }
  const torch::Tensor w = kind_ == arch::Aggregation::kRandWire ? torch::sigmoid(weight_) : weight_;
  auto term = [&](std::size_t k) {
    return kind_ == arch::Aggregation::kSigmoidInputs ? torch::sigmoid(at(k)) : at(k);
  };
  // One buffer accumulated in place: k - 1 fewer temporaries than a sum of products.
  torch::Tensor sum = term(0) * w[static_cast<int64_t>(which[0])];
  for (std::size_t k = 1; k < which.size(); ++k)
    sum.addcmul_(term(k), w[static_cast<int64_t>(which[k])]);
  return sum;
}

VertexImpl::VertexImpl(const arch::VertexSpec& spec, const arch::Architecture& arch) {
  aggregate_ = register_module("aggregate", Aggregate(spec, arch.network.aggregation));
  const int64_t c = spec.in.channels;
  depthwise_ = register_module(
      "depthwise", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, c, 3)
                                         .stride(spec.staged ? 2 : 1)
                                         .padding(1)
                                         .groups(c)
                                         .bias(false)));
  pointwise_ = register_module(
      "pointwise",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c, spec.out.channels, 1).bias(false)));
  norm_ = register_module("norm", torch::nn::BatchNorm2d(spec.out.channels));
}

torch::Tensor VertexImpl::forward(const std::vector<torch::Tensor>& inputs) {
  const torch::Tensor x = aggregate_->forward_relu(inputs);
  return batch_norm(*norm_, pointwise_->forward(depthwise_->forward(x)));
}

torch::Tensor VertexImpl::forward(const std::vector<torch::Tensor>& inputs, const std::vector<std::size_t>& active) {
  if (active.empty()) return forward(inputs);
  const torch::Tensor x = aggregate_->forward_relu(inputs, active);
  return batch_norm(*norm_, pointwise_->forward(depthwise_->forward(x)));
}

NetworkImpl::NetworkImpl(const arch::Architecture& arch) : arch_(arch) {
  const auto& n = arch.network;
  stem_conv_ = register_module(
      "stem_conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(n.input.channels, n.stem_channels, 3)
                                         .padding(1)
                                         .bias(false)));
  stem_norm_ = register_module("stem_norm", torch::nn::BatchNorm2d(n.stem_channels));
  vertices_.resize(arch.vertices.size(), Vertex(nullptr));
  for (int v : arch.dag.topological_order())
    if (arch.dag.is_compute(v))
      vertices_[v] = register_module("v" + std::to_string(v), Vertex(arch.vertices[v], arch));
  for (int s : arch.output.inputs) {
    const arch::ScalingBlock* block = arch.output.scaling_from(s);
    output_scaling_.push_back(block ? register_module("out_scale" + std::to_string(s),
                                                      Scaling(*block, arch.output.in))
                                    : Scaling(nullptr));
  }
  head_ = register_module("head", torch::nn::Linear(arch.output.out.channels, n.classes));
  remaining_uses_.assign(arch.dag.num_vertices(), 0);
  for (int v = 0; v < arch.dag.num_vertices(); ++v)
    remaining_uses_[v] = static_cast<int>(arch.dag.successors(v).size());
}

torch::Tensor NetworkImpl::forward(const torch::Tensor& images) {
  const auto& dag = arch_.dag;
  CONCNAS_CHECK(images.dim() == 4 && images.size(1) == arch_.network.input.channels &&
                    images.size(2) == arch_.network.input.height &&
                    images.size(3) == arch_.network.input.width,
                "network '{}' expects images [B, {}, {}, {}]", arch_.name,
                arch_.network.input.channels, arch_.network.input.height,
                arch_.network.input.width);
  std::vector<torch::Tensor> out(dag.num_vertices());
  std::vector<int> uses = remaining_uses_;
  out[dag.input()] = batch_norm(*stem_norm_, stem_conv_->forward(images));
  // Hand an input over, dropping our reference once its last consumer has it.
  auto take = [&](int p) {
    torch::Tensor t = out[p];
    if (--uses[p] == 0) out[p] = torch::Tensor();
    return t;
  };
  for (int v : dag.topological_order()) {
    if (!dag.is_compute(v)) continue;
    std::vector<torch::Tensor> inputs;
    for (int p : dag.predecessors(v)) inputs.push_back(take(p));
    out[v] = active_.empty() ? vertices_[v]->forward(inputs) : vertices_[v]->forward(inputs, active_[v]);
  }
  std::vector<torch::Tensor> sinks;
  for (int s : arch_.output.inputs) sinks.push_back(take(s));
  return head_->forward(torch::adaptive_avg_pool2d(output(sinks), {1, 1}).flatten(1));
}

void NetworkImpl::set_inactive_edges(const std::vector<std::pair<int, int>>& edges) {
  const auto& dag = arch_.dag;
  std::vector<std::vector<bool>> off(dag.num_compute());
  for (int v = 0; v < dag.num_compute(); ++v) off[v].assign(arch_.vertices[v].inputs.size(), false);
  for (const auto& [from, to] : edges) {
    CONCNAS_CHECK(to >= 0 && to < dag.num_compute(), "edge ({}, {}): {} is not a compute vertex", from, to, to);
    const auto& inputs = arch_.vertices[to].inputs;
    const auto at = std::find(inputs.begin(), inputs.end(), from);
    CONCNAS_CHECK(at != inputs.end(), "edge ({}, {}) is not in '{}'", from, to, arch_.name);
    off[to][static_cast<std::size_t>(at - inputs.begin())] = true;
  }
  active_.clear();
  if (edges.empty()) return;
  active_.resize(dag.num_compute());
  for (int v = 0; v < dag.num_compute(); ++v) {
    for (std::size_t i = 0; i < off[v].size(); ++i)
      if (!off[v][i]) active_[v].push_back(i);
    CONCNAS_CHECK(!active_[v].empty(), "the inactive edges leave vertex {} no input", v);
  }
}

// The output vertex: the sinks as their edges carry them, scaled and averaged, or
// concatenated.
torch::Tensor NetworkImpl::output(const std::vector<torch::Tensor>& sinks) {
  const auto& spec = arch_.output;
  std::vector<torch::Tensor> xs;
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    xs.push_back(carried(spec, i, sinks[i]));
    if (output_scaling_[i]) xs.back() = output_scaling_[i]->forward(xs.back());
  }
  if (spec.merge == arch::Merge::kConcat) return xs.size() == 1 ? xs[0] : torch::cat(xs, 1);
  torch::Tensor sum = xs[0];
  for (std::size_t i = 1; i < xs.size(); ++i) sum = sum + xs[i];
  if (xs.size() > 1) sum = sum / static_cast<double>(xs.size());
  return sum;
}

int64_t count_parameters(torch::nn::Module& module) {
  int64_t total = 0;
  for (const auto& p : module.parameters()) total += p.numel();
  return total;
}

}  // namespace concnas::nn
