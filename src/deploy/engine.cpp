#include "concnas/deploy/engine.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <fmt/format.h>

#include "concnas/arch/cost.h"
#include "concnas/common/error.h"
#include "concnas/sim/latency.h"
#include "infer_kernels.h"
#include "one_openmp_thread.h"
#include "ready_scheduler.h"
#include "steady_ns.h"

namespace concnas::deploy {
namespace {

namespace k = kernels;

using detail::now_ns;

k::Plane plane_of(const arch::Shape& s) { return {s.height, s.width}; }

// An input brought to the shape its consumer takes: pooled, then projected.
struct Scale {
  bool pool = false;
  arch::Shape from, to;
  torch::Tensor project_t;  // from.channels x to.channels (the projection, transposed), or undefined
};

// What an edge hands its consumer: the first `channels` of the producer's, through float16
// when `half` (nn::carried).
struct Edge {
  int channels = 0;
  bool half = false;
};

Edge edge_of(const arch::Architecture& arch, const arch::VertexSpec& spec, std::size_t i) {
  return {arch.carried_shape(spec, i).channels, spec.edges[i].dtype == arch::Dtype::kFp16};
}

// `x` (batch x C x H x W, or the first channels of it as another unit sent them) as edge
// `e` carries it, channel-last and contiguous so: an edge that carries all of a channel-last
// producer's channels in float32 hands over the producer's tensor itself.
torch::Tensor carry(const Edge& e, const torch::Tensor& x) {
  const torch::Tensor part = e.channels < x.size(1) ? x.narrow(1, 0, e.channels) : x;
  const torch::Tensor y = part.contiguous(at::MemoryFormat::ChannelsLast);
  return e.half ? y.to(torch::kHalf).to(torch::kFloat) : y;
}

struct Step {
  int vertex = 0;
  std::vector<int> inputs;
  std::vector<Edge> edges;     // per input
  bool concat = false;         // merge: concat (each input's channels run on their own)
  std::vector<Scale> scales;   // per input; `from == to` and no projection: none
  std::vector<float> mix;      // aggregation coefficients as applied (1 for a single input)
  bool sigmoid_inputs = false;
  arch::Shape in, out;
  int stride = 1;
  torch::Tensor depthwise, pointwise, bias;  // C x 9, Cout x C, Cout (batch norm folded in)
  torch::Tensor depthwise_t, pointwise_t;    // 9 x C, C x Cout: the channel-last kernels'
};

// Every vertex but a concatenation runs channel-last (infer_kernels.h): its inputs and its
// output hold each pixel's channels together, so that the nine taps run over channels in
// vector lanes and the pointwise convolution of many images is one GEMM, and no vertex
// changes the layout of what the one before it wrote. A concatenation runs plane by plane.
bool channel_last(const Step& s) { return !s.concat; }

// A channel-last vertex runs the pointwise convolution of this many of its depthwise
// outputs' floats (512 KiB, within L2) at once: at 4x4 x 96 channels, 85 images.
constexpr std::int64_t kBlockFloats = 1 << 17;

// The tensor `name` of a unit file, checked against the shape the architecture gives it.
torch::Tensor tensor_of(const torch::jit::Module& m, const std::string& name, std::vector<std::int64_t> shape) {
  CONCNAS_CHECK(m.hasattr(name), "the unit file has no tensor '{}' (exported by another concnas version?)", name);
  auto t = m.attr(name).toTensor().to(torch::kFloat).contiguous();
  std::int64_t numel = 1;
  for (auto s : shape) numel *= s;
  CONCNAS_CHECK(t.numel() == numel, "the unit file's tensor '{}' has {} values; the architecture needs {}", name,
                t.numel(), numel);
  return t.view(shape);
}

Scale scale_of(const torch::jit::Module& m, const arch::ScalingBlock* b, const arch::Shape& to,
               const std::string& project_name) {
  Scale s;
  s.to = to;
  s.from = b ? b->from_shape : to;
  if (!b) return s;
  s.pool = b->pool;
  if (b->project) s.project_t = tensor_of(m, project_name, {to.channels, b->from_shape.channels}).t().contiguous();
  return s;
}

// `x` (batch x from, channel-last) brought to `s.to`, channel-last: pooled, then projected
// as one GEMM over every pixel of the batch.
torch::Tensor apply(const Scale& s, const torch::Tensor& x) {
  if (!s.pool && !s.project_t.defined()) return x;
  const std::int64_t batch = x.size(0);
  torch::Tensor y = x;
  if (s.pool) {
    y = torch::empty({batch, s.to.height, s.to.width, s.from.channels}).permute({0, 3, 1, 2});
    const std::int64_t pooled = s.from.channels * s.to.height * s.to.width;
    for (std::int64_t n = 0; n < batch; ++n)
      k::adaptive_max_pool_channel_last(x.data_ptr<float>() + n * s.from.elements(), s.from.channels,
                                        plane_of(s.from), plane_of(s.to), y.data_ptr<float>() + n * pooled);
  }
  if (!s.project_t.defined()) return y;
  auto z = torch::empty({batch, s.to.height, s.to.width, s.to.channels}).permute({0, 3, 1, 2});
  k::matmul_rows_bias(y.data_ptr<float>(), s.project_t.data_ptr<float>(), nullptr, batch * s.to.height * s.to.width,
                      s.from.channels, s.to.channels, z.data_ptr<float>());
  return z;
}

// Input `i` of step `s`, carried and scaled: channel-last, as the kernels take it.
torch::Tensor scaled_input(const Step& s, std::size_t i, const torch::Tensor& x) {
  return apply(s.scales[i], carry(s.edges[i], x));
}

}  // namespace

struct Engine::Impl {
  arch::Architecture arch;
  int unit = 0, units = 1;
  EngineOptions options;
  std::vector<Step> steps;               // this unit's vertices, in the plan's order
  std::vector<int> step_of;              // DAG vertex -> its step here, or -1
  torch::Tensor stem_weight_t, stem_bias;  // units running the stem: Cin x 9 x Cs, Cs
  std::vector<Scale> sink_scales;        // this unit's sinks, in the plan's order
  std::vector<Edge> sink_edges;          // the same sinks' edges to the output vertex
  std::vector<std::int64_t> sink_offset; // concat: each sink's first channel in the output
  std::vector<int> sink_of;              // DAG vertex -> its index among this unit's sinks, or -1
  torch::Tensor head_weight, head_bias;  // unit 0
  std::unique_ptr<detail::ReadyScheduler> scheduler;

  void compile(const Plan& plan, const torch::jit::Module& m);
  void schedule();
  torch::Tensor stem(const torch::Tensor& images) const;
  torch::Tensor vertex(const Step& s, const std::vector<torch::Tensor>& inputs) const;
  torch::Tensor vertex_planes(const Step& s, const std::vector<torch::Tensor>& inputs) const;
  torch::Tensor vertex_channel_last(const Step& s, const std::vector<torch::Tensor>& inputs) const;
  void concat_relu_depthwise(const Step& s, const std::vector<torch::Tensor>& inputs, std::int64_t b,
                             float* scratch, float* mid) const;
  torch::Tensor partial(const std::vector<torch::Tensor>& scaled) const;
};

void Engine::Impl::compile(const Plan& plan, const torch::jit::Module& m) {
  const auto& n = arch.network;
  CONCNAS_CHECK(arch.output.in.channels == arch.output.out.channels, "the output vertex of '{}' changes the channels",
                arch.name);
  const auto& receives = plan.units[unit].receives;
  if (unit == 0 || std::find(receives.begin(), receives.end(), arch.dag.input()) != receives.end()) {
    stem_weight_t = tensor_of(m, "stem_weight", {n.stem_channels, n.input.channels, 9})
                        .permute({1, 2, 0})
                        .contiguous();
    stem_bias = tensor_of(m, "stem_bias", {n.stem_channels});
  }
  if (unit == 0) {
    head_weight = tensor_of(m, "head_weight", {n.classes, arch.output.out.channels});
    head_bias = tensor_of(m, "head_bias", {n.classes});
  }
  step_of.assign(arch.dag.num_vertices(), -1);
  for (int v : plan.units[unit].vertices) {
    const auto& spec = arch.vertices[v];
    Step s;
    s.vertex = v;
    s.inputs = spec.inputs;
    s.in = spec.in;
    s.out = spec.out;
    s.stride = spec.staged ? 2 : 1;
    s.concat = spec.merge == arch::Merge::kConcat;
    for (std::size_t i = 0; i < spec.inputs.size(); ++i) s.edges.push_back(edge_of(arch, spec, i));
    const std::string p = fmt::format("v{}_", v);
    for (int from : spec.inputs)
      s.scales.push_back(scale_of(m, spec.scaling_from(from), spec.in, fmt::format("{}project{}", p, from)));
    const auto k = static_cast<std::int64_t>(spec.inputs.size());
    if (k == 1 || s.concat) {
      s.mix.assign(static_cast<std::size_t>(k), 1.0F);
    } else {
      auto mix = tensor_of(m, p + "mix", {k});
      s.mix.assign(mix.data_ptr<float>(), mix.data_ptr<float>() + k);
      s.sigmoid_inputs = n.aggregation == arch::Aggregation::kSigmoidInputs;
    }
    s.depthwise = tensor_of(m, p + "depthwise", {spec.in.channels, 9});
    s.pointwise = tensor_of(m, p + "pointwise", {spec.out.channels, spec.in.channels});
    s.bias = tensor_of(m, p + "bias", {spec.out.channels});
    s.depthwise_t = s.depthwise.t().contiguous();
    s.pointwise_t = s.pointwise.t().contiguous();
    step_of[v] = static_cast<int>(steps.size());
    steps.push_back(std::move(s));
  }
  sink_of.assign(arch.dag.num_vertices(), -1);
  const auto& out = arch.output;
  for (int sink : plan.units[unit].sinks) {
    sink_of[sink] = static_cast<int>(sink_scales.size());
    sink_scales.push_back(scale_of(m, out.scaling_from(sink), out.in, fmt::format("out_project{}", sink)));
    const std::size_t i = std::find(out.inputs.begin(), out.inputs.end(), sink) - out.inputs.begin();
    sink_edges.push_back(edge_of(arch, out, i));
    sink_offset.push_back(arch.first_channel(out, i));
  }
}

// Priorities: the simulator's (sim/latency.h), a vertex's FLOPs plus the costliest chain
// after it in the whole network (the other units' vertices too: what this unit sends early
// lets them start early).
void Engine::Impl::schedule() {
  const auto rank = sim::remaining_path_flops(arch, arch::compute_cost(arch));
  std::vector<std::vector<int>> successors(steps.size());
  std::vector<double> priority(steps.size());
  for (std::size_t i = 0; i < steps.size(); ++i) {
    priority[i] = rank[steps[i].vertex];
    for (int s : arch.dag.successors(steps[i].vertex))
      if (step_of[s] >= 0) successors[i].push_back(step_of[s]);
  }
  scheduler = std::make_unique<detail::ReadyScheduler>(std::move(successors), std::move(priority), options.cores);
}

// The stem's output is channel-last, as the vertices after it take it.
torch::Tensor Engine::Impl::stem(const torch::Tensor& images) const {
  const auto& n = arch.network;
  const auto x = images.to(torch::kFloat).contiguous();
  const std::int64_t batch = x.size(0), size = n.input.height * n.input.width;
  auto out = torch::empty({batch, n.input.height, n.input.width, n.stem_channels}).permute({0, 3, 1, 2});
  for (std::int64_t b = 0; b < batch; ++b)
    k::conv3x3_channel_last(x.data_ptr<float>() + b * n.input.channels * size, n.input.channels, plane_of(n.input),
                            stem_weight_t.data_ptr<float>(), stem_bias.data_ptr<float>(), n.stem_channels,
                            out.data_ptr<float>() + b * n.stem_channels * size);
  return out;
}

torch::Tensor Engine::Impl::vertex(const Step& s, const std::vector<torch::Tensor>& inputs) const {
  return channel_last(s) ? vertex_channel_last(s, inputs) : vertex_planes(s, inputs);
}

torch::Tensor Engine::Impl::vertex_planes(const Step& s, const std::vector<torch::Tensor>& inputs) const {
  std::vector<torch::Tensor> scaled;
  // Planes, as a concatenation runs (its inputs come channel-last).
  for (std::size_t i = 0; i < inputs.size(); ++i) scaled.push_back(scaled_input(s, i, inputs[i]).contiguous());
  const std::int64_t batch = scaled[0].size(0);
  const k::Plane out_plane = plane_of(s.out);
  auto out = torch::empty({batch, s.out.channels, s.out.height, s.out.width});
  thread_local std::vector<float> scratch, mid;
  scratch.resize(static_cast<std::size_t>(k::depthwise_scratch_size(plane_of(s.in))));
  mid.resize(static_cast<std::size_t>(s.in.channels * out_plane.size()));
  std::vector<const float*> xs(scaled.size());
  for (std::int64_t b = 0; b < batch; ++b) {
    float* o = out.data_ptr<float>() + b * s.out.elements();
    if (s.concat) {
      concat_relu_depthwise(s, scaled, b, scratch.data(), mid.data());
    } else {
      for (std::size_t i = 0; i < scaled.size(); ++i) xs[i] = scaled[i].data_ptr<float>() + b * s.in.elements();
      k::aggregate_relu_depthwise(xs.data(), s.mix.data(), static_cast<int>(xs.size()), s.sigmoid_inputs,
                                  s.in.channels, plane_of(s.in), s.depthwise.data_ptr<float>(), s.stride,
                                  scratch.data(), mid.data());
    }
    k::matmul_bias(s.pointwise.data_ptr<float>(), s.bias.data_ptr<float>(), mid.data(), s.out.channels,
                   s.in.channels, out_plane.size(), o);
  }
  return out;
}

// A vertex other than a concatenation: the aggregation, ReLU and depthwise convolution
// image by image, then the pointwise convolution of a block of images in one GEMM (a 4x4
// plane is 16 columns, too few for a GEMM of its own). Inputs and output are channel-last.
torch::Tensor Engine::Impl::vertex_channel_last(const Step& s, const std::vector<torch::Tensor>& inputs) const {
  std::vector<torch::Tensor> ins;
  for (std::size_t i = 0; i < inputs.size(); ++i) ins.push_back(scaled_input(s, i, inputs[i]));
  const std::int64_t batch = ins[0].size(0), mid_image = s.in.channels * plane_of(s.out).size();
  const std::int64_t block = std::clamp<std::int64_t>(kBlockFloats / mid_image, 1, batch);
  auto out = torch::empty({batch, s.out.height, s.out.width, s.out.channels}).permute({0, 3, 1, 2});
  thread_local std::vector<float> scratch, mid;
  scratch.resize(static_cast<std::size_t>(k::channel_last_scratch_size(s.in.channels, plane_of(s.in))));
  mid.resize(static_cast<std::size_t>(block * mid_image));
  std::vector<const float*> xs(ins.size());
  for (std::int64_t first = 0; first < batch; first += block) {
    const std::int64_t n = std::min(block, batch - first);
    for (std::int64_t b = 0; b < n; ++b) {
      for (std::size_t i = 0; i < ins.size(); ++i) xs[i] = ins[i].data_ptr<float>() + (first + b) * s.in.elements();
      k::aggregate_relu_depthwise_channel_last(xs.data(), s.mix.data(), static_cast<int>(xs.size()), s.sigmoid_inputs,
                                               s.in.channels, plane_of(s.in), s.depthwise_t.data_ptr<float>(),
                                               s.stride, scratch.data(), mid.data() + b * mid_image);
    }
    k::matmul_rows_bias(mid.data(), s.pointwise_t.data_ptr<float>(), s.bias.data_ptr<float>(),
                        n * plane_of(s.out).size(), s.in.channels, s.out.channels,
                        out.data_ptr<float>() + first * s.out.elements());
  }
  return out;
}

// Image `b` of a concatenation: ReLU and the depthwise convolution run over each input's
// channels where the concatenation would put them.
void Engine::Impl::concat_relu_depthwise(const Step& s, const std::vector<torch::Tensor>& inputs, std::int64_t b,
                                         float* scratch, float* mid) const {
  const k::Plane in = plane_of(s.in), out = plane_of(s.out);
  const float one = 1.0F;
  std::int64_t first = 0;
  for (const auto& x : inputs) {
    const std::int64_t channels = x.size(1);
    const float* xp = x.data_ptr<float>() + b * channels * in.size();
    k::aggregate_relu_depthwise(&xp, &one, 1, false, channels, in, s.depthwise.data_ptr<float>() + 9 * first,
                                s.stride, scratch, mid + first * out.size());
    first += channels;
  }
}

// The unit's partial sum: its sinks, each already brought to the output's shape
// (channel-last), pooled over the plane and added up in the plan's order (the same bits
// whichever core scaled which); for a concatenation, each at its channels. Pooling is linear,
// so the units' pooled partial sums add up to the pooled output: a unit sends the head
// C values per image instead of H x W x C. Returns batch x C x 1 x 1.
torch::Tensor Engine::Impl::partial(const std::vector<torch::Tensor>& scaled) const {
  const auto& o = arch.output.in;
  const bool concat = arch.output.merge == arch::Merge::kConcat;
  const std::int64_t batch = scaled[0].size(0), plane = o.height * o.width;
  std::vector<torch::Tensor> pixels;  // channel-last (no copy: the scalings write them so)
  for (const auto& x : scaled) pixels.push_back(x.permute({0, 2, 3, 1}).contiguous());
  auto pooled = torch::empty({batch, o.channels, 1, 1});
  std::vector<double> sums(static_cast<std::size_t>(o.channels));
  for (std::int64_t b = 0; b < batch; ++b) {
    std::fill(sums.begin(), sums.end(), 0.0);
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      const std::int64_t channels = pixels[i].size(3);
      k::add_plane_sums(pixels[i].data_ptr<float>() + b * channels * plane, channels, plane_of(o),
                        sums.data() + (concat ? sink_offset[i] : 0));
    }
    float* out = pooled.data_ptr<float>() + b * o.channels;
    for (std::int64_t c = 0; c < o.channels; ++c) out[c] = static_cast<float>(sums[c] / static_cast<double>(plane));
  }
  return pooled;
}

Engine::Engine(const arch::Architecture& arch, const Plan& plan, int unit, const torch::jit::Module& weights,
               EngineOptions options)
    : impl_(std::make_unique<Impl>()) {
  CONCNAS_CHECK(unit >= 0 && unit < plan.num_units, "unit {} outside 0..{}", unit, plan.num_units - 1);
  CONCNAS_CHECK(options.cores >= 1, "an engine needs at least one core, not {}", options.cores);
  impl_->arch = arch;
  impl_->unit = unit;
  impl_->units = plan.num_units;
  impl_->options = options;
  impl_->compile(plan, weights);
  impl_->schedule();
}

Engine::~Engine() = default;

int Engine::cores() const { return impl_->options.cores; }

torch::Tensor Engine::run(std::int64_t batch, const torch::Tensor* images, const EngineHooks& hooks) {
  auto& m = *impl_;
  const auto& dag = m.arch.dag;
  c10::InferenceMode inference;
  const detail::OneOpenMpThread one_thread;
  std::vector<torch::Tensor> out(dag.num_vertices());
  if (m.unit == 0) {
    CONCNAS_CHECK(images != nullptr && images->size(0) == batch, "unit 0 needs the batch's {} images", batch);
    const auto t0 = now_ns();
    out[dag.input()] = m.stem(*images);
    if (hooks.ran) hooks.ran(dag.input(), 0, t0);
    if (hooks.computed) hooks.computed(dag.input(), out[dag.input()]);
  }
  std::vector<torch::Tensor> scaled(m.sink_scales.size());
  // Inputs from other units: fetched once, by whichever thread needs them first.
  std::vector<std::once_flag> fetched(dag.num_vertices());
  // Another unit's images: this unit runs the stem on them.
  auto fetch = [&](int p, int thread) {
    if (p != dag.input()) {
      out[p] = hooks.receive(p);
      return;
    }
    const auto images = hooks.receive(p);
    const auto t0 = now_ns();
    out[p] = m.stem(images);
    if (hooks.ran) hooks.ran(p, thread, t0);
  };
  auto input = [&](int p, int thread) -> const torch::Tensor& {
    if (m.step_of[p] < 0 && !(m.unit == 0 && p == dag.input())) std::call_once(fetched[p], fetch, p, thread);
    return out[p];
  };
  auto work = [&](int task, int thread) {
    if (thread > 0) omp_set_num_threads(1);
    const Step& s = m.steps[task];
    std::vector<torch::Tensor> xs;
    for (int p : s.inputs) xs.push_back(input(p, thread));
    const auto t0 = now_ns();
    out[s.vertex] = m.vertex(s, xs);
    if (hooks.ran) hooks.ran(s.vertex, thread, t0);
    if (hooks.computed) hooks.computed(s.vertex, out[s.vertex]);
    // A sink's share of the output, scaled on this core now rather than on one at the end.
    if (const int i = m.sink_of[s.vertex]; i >= 0) {
      const auto t1 = now_ns();
      scaled[i] = apply(m.sink_scales[i], carry(m.sink_edges[i], out[s.vertex]));
      if (hooks.ran) hooks.ran(dag.output(), thread, t1);
    }
  };
  m.scheduler->run(work);
  torch::Tensor sum;
  if (!scaled.empty()) {
    const auto t0 = now_ns();
    sum = m.partial(scaled);
    if (hooks.ran) hooks.ran(dag.output(), 0, t0);
  }
  return sum;
}

torch::Tensor Engine::head(const std::vector<torch::Tensor>& partials) const {
  const auto& m = *impl_;
  CONCNAS_CHECK(m.unit == 0 && !partials.empty(), "the head runs on unit 0, over at least one partial sum");
  const auto& o = m.arch.output;
  const std::int64_t batch = partials[0].size(0), channels = o.in.channels, classes = m.arch.network.classes;
  // Pooled partial sums, batch x C values each (computed batch x C x 1 x 1, or received
  // batch x 1 x 1 x C: the same values in the same order). Plain loops: at these sizes a
  // LibTorch call costs more than the arithmetic.
  std::vector<torch::Tensor> floats;
  for (const auto& p : partials) {
    CONCNAS_CHECK(p.numel() == batch * channels, "a partial sum of {} values; the head takes {} x {}", p.numel(),
                  batch, channels);
    floats.push_back(p.scalar_type() == torch::kFloat && p.is_contiguous() ? p : p.to(torch::kFloat).contiguous());
  }
  auto logits = torch::empty({batch, classes});
  const double scale = o.merge == arch::Merge::kConcat ? 1.0 : 1.0 / static_cast<double>(o.inputs.size());
  std::vector<float> sum(static_cast<std::size_t>(channels));
  for (std::int64_t b = 0; b < batch; ++b) {
    std::fill(sum.begin(), sum.end(), 0.0F);
    for (const auto& p : floats) k::add(p.data_ptr<float>() + b * channels, channels, sum.data());
    k::linear(sum.data(), channels, scale, m.head_weight.data_ptr<float>(), m.head_bias.data_ptr<float>(), classes,
              logits.data_ptr<float>() + b * classes);
  }
  return logits;
}

torch::Tensor Engine::forward(const torch::Tensor& images) {
  CONCNAS_CHECK(impl_->units == 1, "forward runs a one-unit deployment; this plan has {} units", impl_->units);
  EngineHooks hooks;
  hooks.receive = [](int v) -> torch::Tensor {
    throw Error(fmt::format("vertex {} is computed on another unit: forward runs a one-unit deployment", v));
  };
  const auto sum = run(images.size(0), &images, hooks);
  return head({sum});
}

}  // namespace concnas::deploy
