#include "concnas/deploy/plan.h"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "concnas/arch/cost.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/hash.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/config/plan_yaml.h"

namespace concnas::deploy {

std::int64_t Plan::bytes_per_image(bool all_half) const {
  std::int64_t total = 0;
  for (const auto& t : transfers)
    total += (all_half ? 2 * t.shape.elements() : t.bytes) * static_cast<std::int64_t>(t.to.size());
  return total;
}

namespace {

// What compute vertex `v` sends to the units of its consumers elsewhere (arch::sent_part),
// or the input vertex (the images, arch::images_part).
Transfer transfer_of(const arch::Architecture& arch, const std::vector<int>& parts, int v) {
  const auto& dag = arch.dag;
  auto remote = [&](int s) { return parts[s] != parts[v] && s != dag.output(); };
  Transfer t;
  t.vertex = v;
  t.from = parts[v];
  for (int s : dag.successors(v))
    if (remote(s)) t.to.push_back(parts[s]);
  std::sort(t.to.begin(), t.to.end());
  t.to.erase(std::unique(t.to.begin(), t.to.end()), t.to.end());
  const arch::SentPart part = v == dag.input() ? arch::images_part(arch) : arch::sent_part(arch, v, remote);
  t.shape = part.shape;
  t.half = part.half;
  t.bytes = part.bytes();
  return t;
}

}  // namespace

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
    Transfer t = transfer_of(arch, parts, v);
    if (t.to.empty()) continue;
    for (int u : t.to) plan.units[u].receives.push_back(v);
    plan.transfers.push_back(t);
  }
  for (int u = 1; u < units; ++u) {
    if (plan.units[u].sinks.empty()) continue;
    Transfer t;
    t.vertex = dag.output();
    t.from = u;
    t.to = {0};
    t.shape = arch::Shape{arch.output.in.channels, 1, 1};  // pooled over the plane (deploy/engine.h)
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
    if (t.vertex == arch.dag.input()) return std::string("images");
    return t.vertex == arch.dag.output() ? fmt::format("partial{}", t.from) : fmt::format("v{}", t.vertex);
  };
  for (int u = 0; u < plan.num_units; ++u) {
    s += fmt::format("  - unit: {}\n    file: unit_{}.pt\n    vertices: [{}]\n    sinks: [{}]\n    receives:\n", u,
                     u, fmt::join(plan.units[u].vertices, ", "), fmt::join(plan.units[u].sinks, ", "));
    for (const auto& t : plan.transfers)
      if (std::find(t.to.begin(), t.to.end(), u) != t.to.end())
        s += fmt::format("      - {{vertex: {}, from: {}, name: {}, shape: {}, dtype: {}}}\n", t.vertex, t.from,
                         name(t), shape_list(t.shape), t.half ? "float16" : "float32");
    s += "    sends:\n";
    for (const auto& t : plan.transfers)
      if (t.from == u)
        s += fmt::format("      - {{vertex: {}, to: [{}], name: {}, shape: {}, dtype: {}}}\n", t.vertex,
                         fmt::join(t.to, ", "), name(t), shape_list(t.shape), t.half ? "float16" : "float32");
  }
  return s;
}

Deployment read_deployment(const std::string& dir) { return config::load_plan(dir); }

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
