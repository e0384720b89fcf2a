#include "concnas/sim/op_costs.h"

#include <algorithm>

namespace concnas::sim {
namespace {

double elements(const arch::Shape& s) { return static_cast<double>(s.elements()); }

// A scaling block from `from` to `to`: pooling reads the source, a projection multiplies.
StepWork scaling_work(const arch::ScalingBlock& b, const arch::Shape& to) {
  StepWork w;
  w.scalings = 1;
  if (b.pool) w.pooled = elements(b.from_shape);
  const arch::Shape pooled{b.from_shape.channels, to.height, to.width};
  if (b.project) w.gemm_flops = 2.0 * pooled.elements() * to.channels;
  return w;
}

}  // namespace

StepWork& StepWork::operator+=(const StepWork& o) {
  steps += o.steps;
  summed += o.summed;
  taps += o.taps;
  gemm_flops += o.gemm_flops;
  pooled += o.pooled;
  scalings += o.scalings;
  stem_flops += o.stem_flops;
  return *this;
}

bool OpCosts::set() const {
  return step_s > 0 || summed_s > 0 || tap_s > 0 || gemm_flop_s > 0 || pooled_s > 0 || scaling_s > 0 ||
         stem_flop_s > 0 || inference_s > 0;
}

StepWork vertex_work(const arch::Architecture& arch, int v) {
  const auto& spec = arch.vertices.at(v);
  StepWork w;
  w.steps = 1;
  // A sum reads every input over the whole common shape; a concatenation each once.
  w.summed = spec.merge == arch::Merge::kSum ? static_cast<double>(spec.inputs.size()) * elements(spec.in)
                                              : elements(spec.in);
  w.taps = static_cast<double>(spec.in.channels) * spec.out.height * spec.out.width;
  w.gemm_flops = 2.0 * spec.in.channels * spec.out.channels * spec.out.height * spec.out.width;
  for (const auto& b : spec.scaling) w += scaling_work(b, spec.in);
  return w;
}

StepWork stem_work(const arch::Architecture& arch) {
  const auto& n = arch.network;
  StepWork w;
  w.steps = 1;
  w.stem_flops = 2.0 * 9 * n.input.channels * n.stem_channels * n.input.height * n.input.width;
  return w;
}

StepWork sink_work(const arch::Architecture& arch, int s) {
  const auto* b = arch.output.scaling_from(s);
  return b ? scaling_work(*b, arch.output.in) : StepWork{};
}

StepWork partial_work(const arch::Architecture& arch, const std::vector<int>& parts, int unit) {
  const auto& out = arch.output;
  StepWork w;
  for (std::size_t at = 0; at < out.inputs.size(); ++at) {
    if (parts[out.inputs[at]] != unit) continue;
    // A sum pools every sink whole; a concatenation each sink's channels of the output.
    const int channels = out.merge == arch::Merge::kSum ? out.in.channels : arch.carried_shape(out, at).channels;
    w.summed += elements(arch::Shape{channels, out.in.height, out.in.width});
  }
  return w;
}

StepWork head_work(const arch::Architecture& arch, int partials) {
  StepWork w;
  w.steps = 1;
  w.summed = std::max(0, partials - 1) * static_cast<double>(arch.output.in.channels);
  return w;
}

OpCosts scaled_prices(OpCosts ops, double factor) {
  for (double* p : {&ops.step_s, &ops.summed_s, &ops.tap_s, &ops.gemm_flop_s, &ops.pooled_s, &ops.scaling_s,
                    &ops.stem_flop_s})
    *p *= factor;
  return ops;
}

double seconds_of(const OpCosts& ops, const StepWork& w) {
  return ops.step_s * w.steps + ops.summed_s * w.summed + ops.tap_s * w.taps + ops.gemm_flop_s * w.gemm_flops +
         ops.pooled_s * w.pooled + ops.scaling_s * w.scalings + ops.stem_flop_s * w.stem_flops;
}

}  // namespace concnas::sim
