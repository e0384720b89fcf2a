#include "concnas/arch/cost.h"

#include <algorithm>

namespace concnas::arch {
namespace {
constexpr std::int64_t kBytesPerElement = 4;  // fp32
std::int64_t plane(const Shape& s) { return static_cast<std::int64_t>(s.height) * s.width; }
}  // namespace

Cost stem_cost(const Shape& input, int channels) {
  const Shape out{channels, input.height, input.width};
  Cost c;
  c.params = 9LL * input.channels * channels + 2LL * channels;  // conv + BN scale/shift
  c.flops = 2 * 9LL * input.channels * out.elements() + 2 * out.elements();
  c.output_bytes = kBytesPerElement * out.elements();
  c.output_elements = out.elements();
  return c;
}

Cost scaling_cost(const ScalingBlock& block, const Shape& target) {
  Cost c;
  if (block.pool) c.flops += block.from_shape.elements();  // one comparison per input element
  if (block.project) {
    c.params += static_cast<std::int64_t>(block.from_shape.channels) * target.channels;
    c.flops += 2LL * block.from_shape.channels * target.channels * plane(target);
  }
  return c;
}

Cost aggregation_cost(int inputs, const Shape& shape) {
  Cost c;
  if (inputs > 1) {
    c.params = inputs;
    c.flops = (2LL * inputs - 1) * shape.elements();  // one multiply per input, inputs-1 adds
  }
  return c;
}

Cost separable_conv_cost(const Shape& in, const Shape& out) {
  Cost c;
  c.params = 9LL * in.channels + static_cast<std::int64_t>(in.channels) * out.channels +
             2LL * out.channels;
  c.flops = 2 * 9LL * in.channels * plane(out)                 // depthwise
            + 2LL * in.channels * out.channels * plane(out)    // pointwise
            + 2 * out.elements();                              // BatchNorm
  c.output_bytes = kBytesPerElement * out.elements();
  c.output_elements = out.elements();
  return c;
}

Cost average_cost(int inputs, const Shape& shape) {
  Cost c;
  if (inputs > 1) c.flops = static_cast<std::int64_t>(inputs) * shape.elements();  // adds + scale
  c.output_bytes = kBytesPerElement * shape.elements();
  c.output_elements = shape.elements();
  return c;
}

Cost head_cost(const Shape& in, int classes) {
  Cost c;
  c.params = static_cast<std::int64_t>(in.channels) * classes + classes;
  c.flops = in.elements() + 2LL * in.channels * classes + classes;
  c.output_bytes = kBytesPerElement * classes;
  c.output_elements = classes;
  return c;
}

namespace {

// What leaves each producer when a partition cuts its hyperedge: the part its edges carry.
void edge_bytes(const Architecture& arch, ArchitectureCost& cost) {
  for (int v = 0; v < arch.dag.num_vertices(); ++v) {
    if (v == arch.dag.output()) continue;
    Cost& c = v == arch.dag.input() ? cost.stem : cost.vertices[v];
    const SentPart part = sent_part(arch, v, [](int) { return true; });
    c.output_elements = part.elements();
    c.output_bytes = part.bytes();
  }
}

}  // namespace

ArchitectureCost compute_cost(const Architecture& arch) {
  ArchitectureCost cost;
  cost.stem = stem_cost(arch.network.input, arch.network.stem_channels);
  cost.vertices.resize(arch.vertices.size());
  auto scaled = [](const VertexSpec& v) {
    Cost c;
    for (const auto& block : v.scaling) c += scaling_cost(block, v.in);
    return c;
  };
  // A concatenation has no weights and adds nothing up.
  auto merged = [](const VertexSpec& v) { return v.merge == Merge::kSum ? static_cast<int>(v.inputs.size()) : 1; };
  for (const auto& v : arch.vertices) {
    Cost c = scaled(v);
    c += aggregation_cost(merged(v), v.in);
    c += separable_conv_cost(v.in, v.out);
    cost.vertices[v.id] = c;
  }
  edge_bytes(arch, cost);
  cost.total = cost.stem;
  for (const auto& c : cost.vertices) cost.total += c;
  cost.output = scaled(arch.output);
  cost.output += average_cost(merged(arch.output), arch.output.in);
  cost.total += cost.output;
  cost.head = head_cost(arch.output.out, arch.network.classes);
  cost.total.flops += cost.head.flops;
  cost.total.params += cost.head.params;
  return cost;
}

}  // namespace concnas::arch
