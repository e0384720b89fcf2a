#include "concnas/deploy/export.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "concnas/arch/dot.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/hash.h"
#include "concnas/config/architecture_yaml.h"

namespace concnas::deploy {
namespace fs = std::filesystem;
namespace {

constexpr double kBatchNormEps = 1e-5;  // torch::nn::BatchNorm2d's default, which nn::Network uses

// A convolution's weight with the batch norm after it folded in (inference statistics):
// w' = w * s and b = beta - mean * s per output channel, s = gamma / sqrt(var + eps),
// computed in double.
std::pair<torch::Tensor, torch::Tensor> fold_batch_norm(const torch::Tensor& weight, const torch::Tensor& gamma,
                                                        const torch::Tensor& beta, const torch::Tensor& mean,
                                                        const torch::Tensor& var) {
  const auto s = gamma.to(torch::kDouble) / (var.to(torch::kDouble) + kBatchNormEps).sqrt();
  const auto w = weight.to(torch::kDouble) * s.view({-1, 1, 1, 1});
  const auto b = beta.to(torch::kDouble) - mean.to(torch::kDouble) * s;
  return {w.to(torch::kFloat).contiguous(), b.to(torch::kFloat).contiguous()};
}

// TorchScript source and attributes of one unit, written method by method.
class UnitWriter {
 public:
  explicit UnitWriter(std::map<std::string, torch::Tensor> tensors) : tensors_(std::move(tensors)) {}

  // `self.<name>` for an inference tensor, registered on first use.
  std::string use(const std::string& name) {
    const auto it = tensors_.find(name);
    CONCNAS_CHECK(it != tensors_.end(), "the trained network has no tensor for '{}'", name);
    used_[name] = it->second;
    return "self." + name;
  }

  // A scaling block applied to `x`, as nn::Scaling does.
  std::string scale(const std::string& x, const arch::ScalingBlock& b, const arch::Shape& target,
                    const std::string& project) {
    std::string y = x;
    if (b.pool) {
      const auto kernel = nn::pool_kernel(b.from_shape, target);
      if (!kernel.empty())
        y = fmt::format("torch.max_pool2d({0}, [{1}, {2}], [{1}, {2}])", y, kernel[0], kernel[1]);
      else
        y = fmt::format("torch.adaptive_max_pool2d({}, [{}, {}])[0]", y, target.height, target.width);
    }
    if (b.project) y = fmt::format("torch.conv2d({}, {})", y, use(project));
    return y;
  }

  std::map<std::string, torch::Tensor> used_;

 private:
  std::map<std::string, torch::Tensor> tensors_;
};

// Input `i` of `spec` as its edge carries it (nn::carried): its first channels, through
// float16 on an fp16 edge.
std::string carried(const arch::Architecture& arch, const arch::VertexSpec& spec, std::size_t i,
                    const std::string& x) {
  std::string y = x;
  const int channels = arch.carried_shape(spec, i).channels;
  if (channels < arch.shape_of(spec.inputs[i]).channels) y = fmt::format("{}[:, :{}]", y, channels);
  if (spec.edges[i].dtype == arch::Dtype::kFp16) y += ".half().float()";
  return y;
}

std::string vertex_method(UnitWriter& w, const arch::Architecture& arch, int v) {
  const auto& spec = arch.vertices[v];
  const std::string p = fmt::format("v{}_", v);
  std::string s = fmt::format("  def v{}(self, xs: List[Tensor]) -> Tensor:\n", v);
  const std::size_t k = spec.inputs.size();
  const bool concat = spec.merge == arch::Merge::kConcat;
  for (std::size_t i = 0; i < k; ++i) {
    const auto* b = spec.scaling_from(spec.inputs[i]);
    std::string x = carried(arch, spec, i, fmt::format("xs[{}]", i));
    if (b) x = w.scale(x, *b, spec.in, fmt::format("{}project{}", p, spec.inputs[i]));
    if (k > 1 && !concat && arch.network.aggregation == arch::Aggregation::kSigmoidInputs)
      x = "torch.sigmoid(" + x + ")";
    s += fmt::format("    x{} = {}\n", i, x);
  }
  if (k == 1) {
    s += "    s = x0\n";
  } else if (concat) {
    std::string xs;
    for (std::size_t i = 0; i < k; ++i) xs += fmt::format("{}x{}", i ? ", " : "", i);
    s += fmt::format("    s = torch.cat([{}], 1)\n", xs);
  } else {
    const std::string mix = w.use(p + "mix");
    s += fmt::format("    s = x0 * {}[0]\n", mix);
    for (std::size_t i = 1; i < k; ++i) s += fmt::format("    s = s + x{0} * {1}[{0}]\n", i, mix);
  }
  const int stride = spec.staged ? 2 : 1;
  s += "    s = torch.relu(s)\n";
  s += fmt::format("    s = torch.conv2d(s, {}, None, [{}, {}], [1, 1], [1, 1], {})\n", w.use(p + "depthwise"),
                   stride, stride, spec.in.channels);
  s += fmt::format("    return torch.conv2d(s, {}, {})\n", w.use(p + "pointwise"), w.use(p + "bias"));
  return s;
}

// Sink `at` of a concatenating output vertex at its channels of the output, zero elsewhere:
// the units' partial sums add up to the concatenation (the engine's partial sum).
std::string concat_placed(const arch::Architecture& arch, std::size_t at, const std::string& x) {
  const auto& out = arch.output;
  const int before = arch.first_channel(out, at);
  const int after = out.in.channels - before - arch.carried_shape(out, at).channels;
  return fmt::format("torch.constant_pad_nd({}, [0, 0, 0, 0, {}, {}])", x, before, after);
}

// A one-unit deployment's whole network as `forward(images)`, for `torch.jit.load`.
std::string forward_method(const arch::Architecture& arch) {
  const auto& dag = arch.dag;
  std::string s = "  def forward(self, images: Tensor) -> Tensor:\n";
  s += fmt::format("    t{} = self.stem(images)\n", dag.input());
  for (int v : dag.topological_order()) {
    if (!dag.is_compute(v)) continue;
    std::string xs;
    for (int p : arch.vertices[v].inputs) xs += (xs.empty() ? "t" : ", t") + std::to_string(p);
    s += fmt::format("    t{} = self.v{}([{}])\n", v, v, xs);
  }
  std::string sinks;
  for (int p : arch.output.inputs) sinks += (sinks.empty() ? "t" : ", t") + std::to_string(p);
  s += fmt::format("    return self.head([self.partial([{}])])\n", sinks);
  return s;
}

}  // namespace

std::map<std::string, torch::Tensor> inference_tensors(const arch::Architecture& arch, nn::NetworkImpl& net) {
  std::map<std::string, torch::Tensor> t;
  for (const auto& p : net.named_parameters()) t[p.key()] = p.value().detach();
  for (const auto& b : net.named_buffers()) t[b.key()] = b.value().detach();
  auto need = [&](const std::string& name) {
    const auto it = t.find(name);
    CONCNAS_CHECK(it != t.end(), "the trained network has no tensor '{}'", name);
    return it->second;
  };
  auto fold = [&](const std::string& conv, const std::string& norm) {
    return fold_batch_norm(need(conv), need(norm + ".weight"), need(norm + ".bias"), need(norm + ".running_mean"),
                           need(norm + ".running_var"));
  };
  std::map<std::string, torch::Tensor> out;
  std::tie(out["stem_weight"], out["stem_bias"]) = fold("stem_conv.weight", "stem_norm");
  out["head_weight"] = need("head.weight").contiguous();
  out["head_bias"] = need("head.bias").contiguous();
  for (int v = 0; v < arch.dag.num_vertices(); ++v) {
    if (!arch.dag.is_compute(v)) continue;
    const auto& spec = arch.vertices[v];
    const std::string from = fmt::format("v{}.", v), to = fmt::format("v{}_", v);
    std::tie(out[to + "pointwise"], out[to + "bias"]) = fold(from + "pointwise.weight", from + "norm");
    out[to + "depthwise"] = need(from + "depthwise.weight").contiguous();
    if (spec.inputs.size() > 1 && spec.merge == arch::Merge::kSum) {
      const auto weight = need(from + "aggregate.weight");
      // RandWire's coefficients are the sigmoids of the trained weights.
      out[to + "mix"] =
          (arch.network.aggregation == arch::Aggregation::kRandWire ? torch::sigmoid(weight) : weight).contiguous();
    }
    for (const auto& b : spec.scaling)
      if (b.project)
        out[fmt::format("{}project{}", to, b.from)] =
            need(fmt::format("{}aggregate.scale{}.project.weight", from, b.from)).contiguous();
  }
  for (const auto& b : arch.output.scaling)
    if (b.project)
      out[fmt::format("out_project{}", b.from)] = need(fmt::format("out_scale{}.project.weight", b.from)).contiguous();
  return out;
}

torch::jit::Module unit_module(const arch::Architecture& arch, nn::NetworkImpl& net, const Plan& plan, int unit) {
  CONCNAS_CHECK(unit >= 0 && unit < plan.num_units, "unit {} outside 0..{}", unit, plan.num_units - 1);
  UnitWriter w(inference_tensors(arch, net));
  std::string src;
  const auto& out = arch.output;
  // Unit 0 and every unit the images are sent to run the stem.
  const auto& receives = plan.units[unit].receives;
  if (unit == 0 || std::find(receives.begin(), receives.end(), arch.dag.input()) != receives.end()) {
    src += "  def stem(self, images: Tensor) -> Tensor:\n";
    src += fmt::format("    return torch.conv2d(images, {}, {}, [1, 1], [1, 1])\n", w.use("stem_weight"),
                       w.use("stem_bias"));
  }
  if (unit == 0) {
    // The partial sums of every unit holding sinks (unit 0's own first), averaged.
    src += "  def head(self, partials: List[Tensor]) -> Tensor:\n";
    src += "    s = partials[0]\n";
    src += "    for i in range(1, len(partials)):\n";
    src += "      s = s + partials[i]\n";
    if (out.inputs.size() > 1 && out.merge == arch::Merge::kSum)
      src += fmt::format("    s = s / {}.0\n", out.inputs.size());
    src += "    s = torch.flatten(torch.adaptive_avg_pool2d(s, [1, 1]), 1)\n";
    src += fmt::format("    return torch.linear(s, {}, {})\n", w.use("head_weight"), w.use("head_bias"));
  }
  const auto& sinks = plan.units[unit].sinks;
  if (!sinks.empty()) {
    // This unit's sinks brought to the output's shape and added up, in plan order.
    src += "  def partial(self, sinks: List[Tensor]) -> Tensor:\n";
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      const auto* b = out.scaling_from(sinks[i]);
      const std::size_t at = std::find(out.inputs.begin(), out.inputs.end(), sinks[i]) - out.inputs.begin();
      std::string x = carried(arch, out, at, fmt::format("sinks[{}]", i));
      if (b) x = w.scale(x, *b, out.in, fmt::format("out_project{}", sinks[i]));
      if (out.merge == arch::Merge::kConcat) x = concat_placed(arch, at, x);
      src += i == 0 ? fmt::format("    s = {}\n", x) : fmt::format("    s = s + {}\n", x);
    }
    src += "    return s\n";
  }
  for (int v : plan.units[unit].vertices) src += vertex_method(w, arch, v);
  if (plan.num_units == 1) src += forward_method(arch);
  torch::jit::Module m(fmt::format("concnas_unit_{}", unit));
  for (const auto& [name, t] : w.used_) m.register_buffer(name, t.clone().contiguous());
  // An idle unit still needs one method to be a loadable module.
  src += "  def vertices(self) -> List[int]:\n";
  std::string ids;
  for (int v : plan.units[unit].vertices) ids += (ids.empty() ? "" : ", ") + std::to_string(v);
  src += fmt::format("    return [{}]\n", ids.empty() ? "" : ids);
  // define() takes class-level source: methods indented under nothing.
  std::string dedented;
  std::size_t start = 0;
  while (start < src.size()) {
    const auto end = src.find('\n', start);
    dedented += src.substr(start + 2, end - start - 2) + "\n";
    start = end + 1;
  }
  try {
    m.define(dedented);
  } catch (const c10::Error& e) {
    throw Error(fmt::format("cannot compile unit {}'s TorchScript: {}", unit, first_line(e.what())));
  }
  m.eval();
  return m;
}

std::uint64_t deployment_hash(const std::string& plan_text, nn::NetworkImpl& net) {
  Fnv1a h;
  h.feed(plan_text);
  for (const auto& p : net.named_parameters()) {
    const auto t = p.value().detach().contiguous().to(torch::kFloat);
    h.feed(p.key()).feed(t.data_ptr(), static_cast<std::size_t>(t.numel()) * sizeof(float));
  }
  for (const auto& b : net.named_buffers()) {
    const auto t = b.value().detach().contiguous();
    h.feed(b.key()).feed(t.data_ptr(), static_cast<std::size_t>(t.numel()) * t.element_size());
  }
  return h.value();
}

std::uint64_t export_deployment(const arch::Architecture& arch, nn::NetworkImpl& net, const Plan& plan,
                                const std::string& dir, const InputSpec& input) {
  std::string text = plan_yaml(arch, plan, input);  // checks the input spec before any file is written
  fs::create_directories(dir);
  config::save_architecture(arch, dir + "/arch.yaml");
  text += "unit_files:\n";
  for (int u = 0; u < plan.num_units; ++u) {
    auto m = unit_module(arch, net, plan, u);
    const std::string path = fmt::format("{}/unit_{}.pt", dir, u);
    m.save(path + ".tmp");
    fs::rename(path + ".tmp", path);
    text += fmt::format("  - {{file: unit_{}.pt, fnv1a: \"{:016x}\"}}\n", u, file_fnv1a(path));
  }
  const std::uint64_t hash = deployment_hash(text, net);
  write_file_atomic(dir + "/plan.yaml", text + fmt::format("hash: \"{:016x}\"\n", hash));
  arch::DotOptions dot;
  dot.unit_of.assign(plan.parts.begin(), plan.parts.begin() + arch.dag.num_compute());
  write_file_atomic(dir + "/parts.dot", arch::to_dot(arch, dot));
  return hash;
}

LocalExecutor::LocalExecutor(const arch::Architecture& arch, Plan plan, const std::string& dir)
    : arch_(arch), plan_(std::move(plan)) {
  for (int u = 0; u < plan_.num_units; ++u) {
    const std::string path = fmt::format("{}/unit_{}.pt", dir, u);
    try {
      units_.push_back(torch::jit::load(path));
    } catch (const c10::Error& e) {
      throw IoError(fmt::format("cannot load {}: {}", path, first_line(e.what())));
    }
  }
}

torch::Tensor LocalExecutor::forward(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const auto& dag = arch_.dag;
  std::vector<torch::Tensor> out(dag.num_vertices());
  out[dag.input()] = units_[0].get_method("stem")({images}).toTensor();
  for (int v : dag.topological_order()) {
    if (!dag.is_compute(v)) continue;
    std::vector<torch::Tensor> xs;
    for (int p : arch_.vertices[v].inputs) xs.push_back(out[p]);
    out[v] = units_[plan_.parts[v]].get_method(fmt::format("v{}", v))({c10::List<torch::Tensor>(xs)}).toTensor();
  }
  std::vector<torch::Tensor> partials;
  for (int u = 0; u < plan_.num_units; ++u) {
    if (plan_.units[u].sinks.empty()) continue;
    std::vector<torch::Tensor> sinks;
    for (int s : plan_.units[u].sinks) sinks.push_back(out[s]);
    partials.push_back(units_[u].get_method("partial")({c10::List<torch::Tensor>(sinks)}).toTensor());
  }
  return units_[0].get_method("head")({c10::List<torch::Tensor>(partials)}).toTensor();
}

}  // namespace concnas::deploy
