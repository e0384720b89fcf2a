#include "concnas/config/plan_yaml.h"

#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "concnas/common/atomic_file.h"
#include "concnas/common/hash.h"
#include "concnas/config/architecture_yaml.h"
#include "plan_schema.h"

namespace concnas::config {
namespace fs = std::filesystem;
namespace detail {

const Schema<PlanHeader>& plan_schema() {
  using C = PlanHeader;
  auto checked_elsewhere = [](std::string name, std::string type, std::string doc) {
    return Key<C>{"", std::move(name), std::move(type), "", std::move(doc), {}, {}, {}};
  };
  static const Schema<C> s({
      field<C>("", "format", [](C& c) -> auto& { return c.format; }, "always concnas-plan",
               one_of({"concnas-plan"})),
      field<C>("", "version", [](C& c) -> auto& { return c.version; }, "the plan format's version"),
      field<C>("", "architecture", [](C& c) -> auto& { return c.architecture; }, "the architecture's name"),
      field<C>("", "arch_file", [](C& c) -> auto& { return c.arch_file; }, "its file, beside plan.yaml"),
      field<C>("", "arch_checksum", [](C& c) -> auto& { return c.arch_checksum; },
               "FNV-1a of that file, 16 hex digits"),
      field<C>("", "units", [](C& c) -> auto& { return c.units; }, "devices (worker processes)", at_least(1)),
      field<C>("", "bytes_per_image", [](C& c) -> auto& { return c.bytes_per_image; },
               "bytes sent between units per image (informative)"),
      checked_elsewhere("input", "{shape, mean, std}", "image shape and the normalisation of training"),
      checked_elsewhere("parts", "list of integers", "the unit of every DAG vertex"),
      checked_elsewhere("unit_plans", "list", "per unit: vertices, sinks, receives, sends (follow from parts)"),
      checked_elsewhere("unit_files", "list of {file, fnv1a}", "unit_K.pt and its FNV-1a"),
      field<C>("", "hash", [](C& c) -> auto& { return c.hash; }, "FNV-1a of the plan and the weights"),
  });
  return s;
}

}  // namespace detail
namespace {

using detail::Reader;

std::uint64_t hex64(const Reader& r, const YAML::Node& n, const std::string& key) {
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

// The header keys; the format and version first, so an old plan gets the one error that
// says to export again.
detail::PlanHeader read_header(const Reader& r, const YAML::Node& root) {
  detail::plan_schema().check_known(r, root, "");
  detail::PlanHeader h;
  if (r.string(r.need(root, "format", ""), "format") != "concnas-plan") r.fail(root["format"], "'format' must be concnas-plan");
  h.version = r.integer(r.need(root, "version", ""), "version");
  if (h.version != deploy::kPlanVersion)
    r.fail(root["version"], fmt::format("plan version {}: this build reads version {} only (partial sums pooled "
                                        "before they travel): export the deployment again with this build",
                                        h.version, deploy::kPlanVersion));
  for (const char* key : {"architecture", "arch_file", "arch_checksum", "units", "parts", "input", "unit_plans",
                          "unit_files", "hash"})
    r.need(root, key, "");
  h.architecture = r.string(root["architecture"], "architecture");
  h.arch_file = r.string(root["arch_file"], "arch_file");
  // A plan names files beside it, never others (`/dev/zero`, `../../x`).
  if (h.arch_file.empty() || h.arch_file.find('/') != std::string::npos || h.arch_file == "." || h.arch_file == "..")
    r.fail(root["arch_file"], "'arch_file' must name a file in the deployment folder (no '/')");
  h.units = r.integer(root["units"], "units");
  if (h.units < 1) r.fail(root["units"], "'units' must be at least 1");
  return h;
}

void read_input(const Reader& r, const YAML::Node& input, const std::string& arch_file, deploy::Deployment& d) {
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
  for (double v : d.input.mean)
    if (!std::isfinite(v)) r.fail(input["mean"], "'input.mean' values must be finite numbers");
  for (double v : d.input.std)
    if (!(v > 0) || !std::isfinite(v)) r.fail(input["std"], "'input.std' values must be positive and finite");
}

// Each unit's lists must be the ones `parts` gives.
void check_unit_plan(const Reader& r, const YAML::Node& n, int u, const deploy::Plan& plan) {
  r.check_map(n, "unit_plans", {"unit", "file", "vertices", "sinks", "receives", "sends"});
  if (r.integer(r.need(n, "unit", "unit_plans"), "unit_plans.unit") != u)
    r.fail(n["unit"], fmt::format("unit_plans entry {} must be unit {}", u, u));
  if (r.ids(r.need(n, "vertices", "unit_plans"), "unit_plans.vertices") != plan.units[u].vertices)
    r.fail(n["vertices"], fmt::format("unit {}'s vertices do not follow from 'parts'", u));
  if (r.ids(r.need(n, "sinks", "unit_plans"), "unit_plans.sinks") != plan.units[u].sinks)
    r.fail(n["sinks"], fmt::format("unit {}'s sinks do not follow from 'parts'", u));
  const YAML::Node receives = r.need(n, "receives", "unit_plans");
  std::vector<int> got;
  if (receives.IsSequence())
    for (const auto& item : receives) got.push_back(r.integer(r.need(item, "vertex", "receives"), "receives.vertex"));
  else if (!receives.IsNull())
    r.fail(receives, "'receives' must be a list");
  if (got != plan.units[u].receives) r.fail(receives, fmt::format("unit {}'s receives do not follow from 'parts'", u));
}

void read_units(const Reader& r, const YAML::Node& root, int units, deploy::Deployment& d) {
  const YAML::Node unit_plans = root["unit_plans"];
  if (!unit_plans.IsSequence() || static_cast<int>(unit_plans.size()) != units)
    r.fail(unit_plans, fmt::format("'unit_plans' must list the {} units", units));
  for (int u = 0; u < units; ++u) check_unit_plan(r, unit_plans[u], u, d.plan);
  const YAML::Node files = root["unit_files"];
  if (!files.IsSequence() || static_cast<int>(files.size()) != units)
    r.fail(files, fmt::format("'unit_files' must list the {} unit files", units));
  for (int u = 0; u < units; ++u) {
    r.check_map(files[u], "unit_files", {"file", "fnv1a"});
    if (r.string(r.need(files[u], "file", "unit_files"), "unit_files.file") != fmt::format("unit_{}.pt", u))
      r.fail(files[u]["file"], fmt::format("unit_files entry {} must be unit_{}.pt", u, u));
    d.unit_checksums.push_back(hex64(r, r.need(files[u], "fnv1a", "unit_files"), "unit_files.fnv1a"));
  }
}

}  // namespace

deploy::Deployment load_plan(const std::string& dir) {
  const std::string path = (fs::path(dir) / "plan.yaml").string();
  if (!fs::exists(path))
    throw IoError(fmt::format("{} does not exist: is {} a folder written by concnas export?", path, dir));
  const std::string text = read_file(path);
  const Reader r(path);
  const YAML::Node root = detail::load_yaml(text, path);
  const auto header = read_header(r, root);
  deploy::Deployment d;
  d.dir = dir;
  d.identity = Fnv1a().feed(text).value();
  const std::string arch_file = (fs::path(dir) / header.arch_file).string();
  d.arch = load_architecture(arch_file);
  if (file_fnv1a(arch_file) != hex64(r, root["arch_checksum"], "arch_checksum"))
    r.fail(root["arch_checksum"], fmt::format("{} is not the architecture this plan was exported with", arch_file));
  if (header.architecture != d.arch.name)
    r.fail(root["architecture"], fmt::format("names another architecture than {} ('{}')", arch_file, d.arch.name));
  const auto parts = r.ids(root["parts"], "parts");
  d.plan = r.located(root["parts"], [&] { return deploy::make_plan(d.arch, parts, header.units); });
  read_input(r, root["input"], arch_file, d);
  read_units(r, root, header.units, d);
  d.weights_hash = hex64(r, root["hash"], "hash");
  return d;
}

}  // namespace concnas::config
