#include "concnas/deploy/plan.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "../config/yaml_reader.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/hash.h"
#include "concnas/config/architecture_yaml.h"

namespace concnas::deploy {

std::int64_t Plan::bytes_per_image() const {
  std::int64_t total = 0;
  for (const auto& t : transfers) total += t.bytes * static_cast<std::int64_t>(t.to.size());
  return total;
}

Plan make_plan(const arch::Architecture& arch, const std::vector<int>& parts, int units) {
  const auto& dag = arch.dag;
  CONCNAS_CHECK(units >= 1, "a plan needs at least one unit, not {}", units);
  CONCNAS_CHECK(static_cast<int>(parts.size()) == dag.num_vertices(),
                "partition has {} entries; architecture '{}' has {} vertices (compute, input, output)",
                parts.size(), arch.name, dag.num_vertices());
  for (int v = 0; v < dag.num_vertices(); ++v)
    CONCNAS_CHECK(parts[v] >= 0 && parts[v] < units, "vertex {} is on unit {}, outside 0..{}", v, parts[v],
                  units - 1);
  CONCNAS_CHECK(parts[dag.input()] == 0 && parts[dag.output()] == 0,
                "the input and output vertices must be on unit 0");
  Plan plan;
  plan.architecture = arch.name;
  plan.num_units = units;
  plan.parts = parts;
  plan.units.resize(units);
  for (int v : dag.topological_order())
    if (dag.is_compute(v)) plan.units[parts[v]].vertices.push_back(v);
  for (int s : arch.output.inputs) plan.units[parts[s]].sinks.push_back(s);
  for (int v = 0; v < dag.num_vertices(); ++v) {
    if (v == dag.output()) continue;
    std::vector<int> to;
    for (int s : dag.successors(v))
      if (parts[s] != parts[v] && s != dag.output()) to.push_back(parts[s]);
    std::sort(to.begin(), to.end());
    to.erase(std::unique(to.begin(), to.end()), to.end());
    if (to.empty()) continue;
    Transfer t;
    t.vertex = v;
    t.from = parts[v];
    t.to = to;
    t.shape = arch.shape_of(v);
    t.bytes = t.shape.elements() * 4;
    for (int u : to) plan.units[u].receives.push_back(v);
    plan.transfers.push_back(t);
  }
  for (int u = 1; u < units; ++u) {
    if (plan.units[u].sinks.empty()) continue;
    Transfer t;
    t.vertex = dag.output();
    t.from = u;
    t.to = {0};
    t.shape = arch.output.in;
    t.bytes = t.shape.elements() * 4;
    plan.units[0].receives.push_back(t.vertex);
    plan.transfers.push_back(t);
  }
  for (auto& u : plan.units) std::sort(u.receives.begin(), u.receives.end());
  return plan;
}

namespace {

std::string shape_list(const arch::Shape& s) { return fmt::format("[{}, {}, {}]", s.channels, s.height, s.width); }

std::vector<double> per_channel(const std::vector<double>& given, int channels, double fill) {
  return given.empty() ? std::vector<double>(channels, fill) : given;
}

}  // namespace

std::string plan_yaml(const arch::Architecture& arch, const Plan& plan, const InputSpec& input) {
  const int channels = arch.network.input.channels;
  const auto mean = per_channel(input.mean, channels, 0.0);
  const auto std = per_channel(input.std, channels, 1.0);
  CONCNAS_CHECK(static_cast<int>(mean.size()) == channels && static_cast<int>(std.size()) == channels,
                "the input normalisation needs {} mean and std values (one per channel), got {} and {}", channels,
                mean.size(), std.size());
  for (double v : std) CONCNAS_CHECK(v > 0, "input std values must be positive, got {}", v);
  std::string s = fmt::format("format: concnas-plan\nversion: {}\n", kPlanVersion);
  s += fmt::format("architecture: \"{}\"\narch_file: arch.yaml\narch_checksum: \"{:016x}\"\n", plan.architecture,
                   Fnv1a().feed(config::architecture_to_yaml(arch)).value());
  s += fmt::format("units: {}\nbytes_per_image: {}\n", plan.num_units, plan.bytes_per_image());
  s += fmt::format("input: {{shape: {}, mean: [{:.9g}], std: [{:.9g}]}}\n", shape_list(arch.network.input),
                   fmt::join(mean, ", "), fmt::join(std, ", "));
  s += fmt::format("parts: [{}]\nunit_plans:\n", fmt::join(plan.parts, ", "));
  auto name = [&](const Transfer& t) {
    return t.vertex == arch.dag.output() ? fmt::format("partial{}", t.from) : fmt::format("v{}", t.vertex);
  };
  for (int u = 0; u < plan.num_units; ++u) {
    s += fmt::format("  - unit: {}\n    file: unit_{}.pt\n    vertices: [{}]\n    sinks: [{}]\n    receives:\n", u,
                     u, fmt::join(plan.units[u].vertices, ", "), fmt::join(plan.units[u].sinks, ", "));
    for (const auto& t : plan.transfers)
      if (std::find(t.to.begin(), t.to.end(), u) != t.to.end())
        s += fmt::format("      - {{vertex: {}, from: {}, name: {}, shape: {}, dtype: float32}}\n", t.vertex, t.from,
                         name(t), shape_list(t.shape));
    s += "    sends:\n";
    for (const auto& t : plan.transfers)
      if (t.from == u)
        s += fmt::format("      - {{vertex: {}, to: [{}], name: {}, shape: {}, dtype: float32}}\n", t.vertex,
                         fmt::join(t.to, ", "), name(t), shape_list(t.shape));
  }
  return s;
}

namespace {

std::uint64_t hex64(const config::detail::Reader& r, const YAML::Node& n, const std::string& key) {
  const std::string text = r.string(n, key);
  std::size_t used = 0;
  std::uint64_t v = 0;
  try {
    v = std::stoull(text, &used, 16);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.size() != 16 || used != text.size()) r.fail(n, fmt::format("'{}' must be 16 hex digits, got '{}'", key, text));
  return v;
}

}  // namespace

Deployment read_deployment(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string path = (fs::path(dir) / "plan.yaml").string();
  if (!fs::exists(path))
    throw IoError(fmt::format("{} does not exist: is {} a folder written by concnas export?", path, dir));
  const std::string text = read_file(path);
  const config::detail::Reader r(path);
  const YAML::Node root = config::detail::load_yaml(text, path);
  r.check_map(root, "", {"format", "version", "architecture", "arch_file", "arch_checksum", "units",
                         "bytes_per_image", "input", "parts", "unit_plans", "unit_files", "hash"});
  if (r.string(r.need(root, "format", ""), "format") != "concnas-plan")
    r.fail(root["format"], "'format' must be concnas-plan");
  const int version = r.integer(r.need(root, "version", ""), "version");
  if (version != kPlanVersion)
    r.fail(root["version"], fmt::format("plan version {}: this build reads version {} only (unit files with batch "
                                        "norms folded in): export the deployment again with this build",
                                        version, kPlanVersion));
  Deployment d;
  d.dir = dir;
  d.identity = Fnv1a().feed(text).value();
  const std::string arch_file = (fs::path(dir) / r.string(r.need(root, "arch_file", ""), "arch_file")).string();
  d.arch = config::load_architecture(arch_file);
  if (file_fnv1a(arch_file) != hex64(r, r.need(root, "arch_checksum", ""), "arch_checksum"))
    r.fail(root["arch_checksum"], fmt::format("{} is not the architecture this plan was exported with", arch_file));
  if (r.string(r.need(root, "architecture", ""), "architecture") != d.arch.name)
    r.fail(root["architecture"], fmt::format("names another architecture than {} ('{}')", arch_file, d.arch.name));
  const YAML::Node units_node = r.need(root, "units", "");
  const int units = r.integer(units_node, "units");
  if (units < 1) r.fail(units_node, "'units' must be at least 1");
  const YAML::Node parts_node = r.need(root, "parts", "");
  const auto parts = r.ids(parts_node, "parts");
  d.plan = r.located(parts_node, [&] { return make_plan(d.arch, parts, units); });

  const YAML::Node input = r.need(root, "input", "");
  r.check_map(input, "input", {"shape", "mean", "std"});
  if (!(r.shape(r.need(input, "shape", "input"), "input.shape") == d.arch.network.input))
    r.fail(input["shape"], fmt::format("input.shape differs from {}'s input", arch_file));
  for (const char* key : {"mean", "std"}) {
    const YAML::Node n = r.need(input, key, "input");
    if (!n.IsSequence() || static_cast<int>(n.size()) != d.arch.network.input.channels)
      r.fail(n, fmt::format("'input.{}' must list one number per input channel ({})", key,
                            d.arch.network.input.channels));
    auto& out = std::string(key) == "mean" ? d.input.mean : d.input.std;
    for (const auto& v : n) out.push_back(r.number(v, std::string("input.") + key));
  }
  for (double v : d.input.std)
    if (!(v > 0)) r.fail(input["std"], "'input.std' values must be positive");

  const YAML::Node unit_plans = r.need(root, "unit_plans", "");
  if (!unit_plans.IsSequence() || static_cast<int>(unit_plans.size()) != units)
    r.fail(unit_plans, fmt::format("'unit_plans' must list the {} units", units));
  for (int u = 0; u < units; ++u) {
    const YAML::Node n = unit_plans[u];
    r.check_map(n, "unit_plans", {"unit", "file", "vertices", "sinks", "receives", "sends"});
    if (r.integer(r.need(n, "unit", "unit_plans"), "unit_plans.unit") != u)
      r.fail(n["unit"], fmt::format("unit_plans entry {} must be unit {}", u, u));
    if (r.ids(r.need(n, "vertices", "unit_plans"), "unit_plans.vertices") != d.plan.units[u].vertices)
      r.fail(n["vertices"], fmt::format("unit {}'s vertices do not follow from 'parts'", u));
    if (r.ids(r.need(n, "sinks", "unit_plans"), "unit_plans.sinks") != d.plan.units[u].sinks)
      r.fail(n["sinks"], fmt::format("unit {}'s sinks do not follow from 'parts'", u));
    const YAML::Node receives = r.need(n, "receives", "unit_plans");
    std::vector<int> got;
    if (receives.IsSequence())
      for (const auto& item : receives) got.push_back(r.integer(r.need(item, "vertex", "receives"), "receives.vertex"));
    else if (!receives.IsNull())
      r.fail(receives, "'receives' must be a list");
    if (got != d.plan.units[u].receives)
      r.fail(receives, fmt::format("unit {}'s receives do not follow from 'parts'", u));
  }
  const YAML::Node files = r.need(root, "unit_files", "");
  if (!files.IsSequence() || static_cast<int>(files.size()) != units)
    r.fail(files, fmt::format("'unit_files' must list the {} unit files", units));
  for (int u = 0; u < units; ++u) {
    r.check_map(files[u], "unit_files", {"file", "fnv1a"});
    if (r.string(r.need(files[u], "file", "unit_files"), "unit_files.file") != fmt::format("unit_{}.pt", u))
      r.fail(files[u]["file"], fmt::format("unit_files entry {} must be unit_{}.pt", u, u));
    d.unit_checksums.push_back(hex64(r, r.need(files[u], "fnv1a", "unit_files"), "unit_files.fnv1a"));
  }
  d.weights_hash = hex64(r, r.need(root, "hash", ""), "hash");
  return d;
}

void check_unit_file(const Deployment& d, int unit) {
  CONCNAS_CHECK(unit >= 0 && unit < d.plan.num_units, "unit {} outside 0..{} of {}/plan.yaml", unit,
                d.plan.num_units - 1, d.dir);
  const std::string path = fmt::format("{}/unit_{}.pt", d.dir, unit);
  if (!std::filesystem::exists(path)) throw IoError(fmt::format("{} does not exist", path));
  if (file_fnv1a(path) != d.unit_checksums[unit])
    throw Error(fmt::format("{} is not the file {}/plan.yaml was exported with (other weights or another export?)",
                            path, d.dir));
}

}  // namespace concnas::deploy
