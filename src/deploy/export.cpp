#include "concnas/deploy/export.h"

#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "concnas/arch/dot.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/hash.h"
#include "concnas/config/architecture_yaml.h"

namespace concnas::deploy {
namespace fs = std::filesystem;
namespace {

// TorchScript source and attributes of one unit, written method by method.
class UnitWriter {
 public:
  UnitWriter(nn::NetworkImpl& net) {
    for (const auto& p : net.named_parameters()) tensors_[p.key()] = p.value().detach();
    for (const auto& b : net.named_buffers()) tensors_[b.key()] = b.value().detach();
  }

  // `self.<attr>` for a network tensor, registered on first use.
  std::string use(const std::string& name) {
    const auto it = tensors_.find(name);
    CONCNAS_CHECK(it != tensors_.end(), "the trained network has no tensor '{}'", name);
    std::string attr = name;
    for (auto& c : attr)
      if (c == '.') c = '_';
    used_[attr] = it->second;
    return "self." + attr;
  }

  std::string batch_norm(const std::string& x, const std::string& prefix) {
    return fmt::format("torch.batch_norm({}, {}, {}, {}, {}, False, 0.0, 1e-05, False)", x, use(prefix + ".weight"),
                       use(prefix + ".bias"), use(prefix + ".running_mean"), use(prefix + ".running_var"));
  }

  // A scaling block applied to `x`, as nn::Scaling does.
  std::string scale(const std::string& x, const arch::ScalingBlock& b, const arch::Shape& target,
                    const std::string& prefix) {
    std::string y = x;
    if (b.pool) {
      const auto kernel = nn::pool_kernel(b.from_shape, target);
      if (!kernel.empty())
        y = fmt::format("torch.max_pool2d({0}, [{1}, {2}], [{1}, {2}])", y, kernel[0], kernel[1]);
      else
        y = fmt::format("torch.adaptive_max_pool2d({}, [{}, {}])[0]", y, target.height, target.width);
    }
    if (b.project) y = fmt::format("torch.conv2d({}, {})", y, use(prefix + ".project.weight"));
    return y;
  }

  std::string source;
  std::map<std::string, torch::Tensor> used_;

 private:
  std::map<std::string, torch::Tensor> tensors_;
};

std::string vertex_method(UnitWriter& w, const arch::Architecture& arch, int v) {
  const auto& spec = arch.vertices[v];
  const std::string p = fmt::format("v{}", v);
  std::string s = fmt::format("  def v{}(self, xs: List[Tensor]) -> Tensor:\n", v);
  const std::size_t k = spec.inputs.size();
  for (std::size_t i = 0; i < k; ++i) {
    const auto* b = spec.scaling_from(spec.inputs[i]);
    std::string x = fmt::format("xs[{}]", i);
    if (b) x = w.scale(x, *b, spec.in, fmt::format("{}.aggregate.scale{}", p, spec.inputs[i]));
    if (k > 1 && arch.network.aggregation == arch::Aggregation::kSigmoidInputs) x = "torch.sigmoid(" + x + ")";
    s += fmt::format("    x{} = {}\n", i, x);
  }
  if (k == 1) {
    s += "    s = x0\n";
  } else {
    const std::string weight = w.use(p + ".aggregate.weight");
    s += arch.network.aggregation == arch::Aggregation::kRandWire
             ? fmt::format("    a = torch.sigmoid({})\n", weight)
             : fmt::format("    a = {}\n", weight);
    s += "    s = x0 * a[0]\n";
    for (std::size_t i = 1; i < k; ++i) s += fmt::format("    s = s + x{0} * a[{0}]\n", i);
  }
  const int stride = spec.staged ? 2 : 1;
  s += "    s = torch.relu(s)\n";
  s += fmt::format("    s = torch.conv2d(s, {}, None, [{}, {}], [1, 1], [1, 1], {})\n", w.use(p + ".depthwise.weight"),
                   stride, stride, spec.in.channels);
  s += fmt::format("    s = torch.conv2d(s, {})\n", w.use(p + ".pointwise.weight"));
  s += fmt::format("    return {}\n", w.batch_norm("s", p + ".norm"));
  return s;
}

}  // namespace

torch::jit::Module unit_module(const arch::Architecture& arch, nn::NetworkImpl& net, const Plan& plan, int unit) {
  CONCNAS_CHECK(unit >= 0 && unit < plan.num_units, "unit {} outside 0..{}", unit, plan.num_units - 1);
  UnitWriter w(net);
  std::string src;
  const auto& out = arch.output;
  if (unit == 0) {
    src += "  def stem(self, images: Tensor) -> Tensor:\n";
    src += fmt::format("    x = torch.conv2d(images, {}, None, [1, 1], [1, 1])\n", w.use("stem_conv.weight"));
    src += fmt::format("    return {}\n", w.batch_norm("x", "stem_norm"));
    // The partial sums of every unit holding sinks (unit 0's own first), averaged.
    src += "  def head(self, partials: List[Tensor]) -> Tensor:\n";
    src += "    s = partials[0]\n";
    src += "    for i in range(1, len(partials)):\n";
    src += "      s = s + partials[i]\n";
    if (out.inputs.size() > 1) src += fmt::format("    s = s / {}.0\n", out.inputs.size());
    src += "    s = torch.flatten(torch.adaptive_avg_pool2d(s, [1, 1]), 1)\n";
    src += fmt::format("    return torch.linear(s, {}, {})\n", w.use("head.weight"), w.use("head.bias"));
  }
  const auto& sinks = plan.units[unit].sinks;
  if (!sinks.empty()) {
    // This unit's sinks brought to the output's shape and added up, in plan order.
    src += "  def partial(self, sinks: List[Tensor]) -> Tensor:\n";
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      const auto* b = out.scaling_from(sinks[i]);
      std::string x = fmt::format("sinks[{}]", i);
      if (b) x = w.scale(x, *b, out.in, fmt::format("out_scale{}", sinks[i]));
      src += i == 0 ? fmt::format("    s = {}\n", x) : fmt::format("    s = s + {}\n", x);
    }
    src += "    return s\n";
  }
  for (int v : plan.units[unit].vertices) src += vertex_method(w, arch, v);
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
