#pragma once
/// \file
/// The cost model: FLOPs, parameters and output bytes of every block, without building
/// the network (no LibTorch).
///
///     auto cost = concnas::arch::compute_cost(arch);
///     cost.total.flops;        // whole network, batch 1
///     cost.vertices[3].params; // compute vertex 3, its scaling blocks included
///
/// Conventions (docs/cost_model.md): batch size 1; a multiply-add counts as 2 FLOPs;
/// additions, max-pool comparisons and BatchNorm's scale-and-shift count 1 FLOP per
/// element each; element-wise activations (ReLU, sigmoid) are not counted, nor are a
/// concatenation, an edge's slice or its rounding to fp16. Parameters are trainable ones
/// only (BatchNorm's running statistics are buffers). A vertex's output bytes are what
/// leaves it towards another device: the most any of its edges carries (share of the
/// channels, 4 bytes per element, 2 on an fp16 edge).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::arch {

struct Cost {
  std::int64_t flops = 0;
  std::int64_t params = 0;
  /// Bytes of the block's output as its edges carry it (the most any one carries; fp32
  /// unless the edge is fp16); 0 for blocks inside a vertex.
  std::int64_t output_bytes = 0;
  /// Elements of that largest carried part (what a float16 link would send at 2 bytes each).
  std::int64_t output_elements = 0;
  Cost& operator+=(const Cost& o) {
    flops += o.flops;
    params += o.params;
    output_bytes += o.output_bytes;
    output_elements += o.output_elements;
    return *this;
  }
  bool operator==(const Cost& o) const {
    return flops == o.flops && params == o.params && output_bytes == o.output_bytes &&
           output_elements == o.output_elements;
  }
};

// Costs of single blocks, beside which the nn modules will be tested.

/// 3x3 conv (stride 1, padding 1, no bias) from the image to `channels`, then BatchNorm.
Cost stem_cost(const Shape& input, int channels);
/// Max-pool to `target`'s resolution (if `block.pool`) then 1x1 conv without bias to
/// `target`'s channels (if `block.project`).
Cost scaling_cost(const ScalingBlock& block, const Shape& target);
/// Weighted sum of `inputs` tensors of `shape`: one weight per input when inputs > 1,
/// nothing when there is one input.
Cost aggregation_cost(int inputs, const Shape& shape);
/// 3x3 depthwise conv (stride 1 or 2, padding 1, no bias) + 1x1 pointwise conv (no bias)
/// + BatchNorm, from `in` to `out`.
Cost separable_conv_cost(const Shape& in, const Shape& out);
/// Mean of `inputs` tensors of `shape` (the output vertex).
Cost average_cost(int inputs, const Shape& shape);
/// Global average pooling + linear layer with bias to `classes`.
Cost head_cost(const Shape& in, int classes);

struct ArchitectureCost {
  Cost stem;                   ///< output_bytes = the input vertex's tensor
  std::vector<Cost> vertices;  ///< per compute vertex, scaling blocks included
  Cost output;                 ///< the output vertex: scaling blocks + average
  Cost head;
  Cost total;                  ///< sum of all FLOPs and params; output_bytes = sum of what
                               ///< the input, compute and output vertices send at most
                               ///< (in version 1 networks: their whole tensors)
};

ArchitectureCost compute_cost(const Architecture& arch);

/// What vertex `v` (a compute vertex or the input vertex) sends to the consumers for which
/// `to(consumer)` holds: the most channels any of their edges carries, as float16 when
/// every one of those edges is fp16. The cost model takes every consumer (a partition's
/// hyperedge); the plan and the simulator take the consumers on other units.
struct SentPart {
  Shape shape;  ///< per image: the producer's resolution, the most channels taken (0 when none)
  bool half = false;
  std::int64_t elements() const { return shape.elements(); }
  std::int64_t bytes() const { return elements() * (half ? 2 : 4); }
};
template <typename To>
SentPart sent_part(const Architecture& arch, int v, To to) {
  SentPart part;
  part.shape = arch.shape_of(v);
  const int channels = part.shape.channels;
  part.shape.channels = 0;
  part.half = true;
  for (int s : arch.dag.successors(v)) {
    if (!to(s)) continue;
    const VertexSpec& spec = s == arch.dag.output() ? arch.output : arch.vertices[s];
    for (std::size_t i = 0; i < spec.inputs.size(); ++i) {
      if (spec.inputs[i] != v) continue;
      part.shape.channels = std::max(part.shape.channels, spec.carried(i, channels));
      part.half = part.half && spec.edges[i].dtype == Dtype::kFp16;
    }
  }
  if (part.shape.channels == 0) part.half = false;
  return part;
}

/// What the input vertex sends another unit at run time: the images themselves, float32,
/// from which that unit runs the stem (a few channels where the stem's output has
/// stem_channels). The cost model's hypergraph still prices the stem's tensor.
inline SentPart images_part(const Architecture& arch) { return {arch.network.input, false}; }

}  // namespace concnas::arch
