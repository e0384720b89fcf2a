#include "concnas/search/stretch_search.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/arch/cost.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/param_map.h"
#include "concnas/deploy/export.h"
#include "concnas/train/trainer.h"
#include "logged_training.h"

namespace concnas::search {
namespace fs = std::filesystem;

void StretchSearchOptions::sanity_check() const {
  space.sanity_check();
  CONCNAS_CHECK(std::isfinite(tolerance) && tolerance >= 0 && tolerance <= 100,
                "tolerance must lie in [0, 100] points, got {}", format_number(tolerance));
  devices.sanity_check();
  link.sanity_check();
}

namespace {

using Log = std::function<void(const std::string&)>;

StretchRow train_row(const config::TrainConfig& cfg, const arch::Architecture& a, const std::string& out,
                     const std::string& dir, bool resume, const Log& log) {
  const auto r = train_logged(cfg, a, out, dir, resume, log);
  StretchRow row;
  row.name = a.name;
  row.dir = dir;
  row.val_accuracy = r.val_accuracy;
  row.test_accuracy = r.test_accuracy;
  row.params = r.params;
  row.flops = r.flops;
  row.train_seconds = r.seconds;
  return row;
}

nlohmann::ordered_json stretch_json(const arch::StretchOptions& s) {
  auto branches = nlohmann::ordered_json::array();
  for (const auto& b : s.branches) branches.push_back({{"depth", b.depth}, {"width", b.width}});
  return {{"meetings", s.meetings}, {"branches", branches}};
}

nlohmann::ordered_json row_json(const StretchRow& r) {
  return {{"name", r.name}, {"dir", r.dir}, {"stretch", stretch_json(r.stretch)},
          {"val_accuracy", r.val_accuracy}, {"test_accuracy", r.test_accuracy}, {"params", r.params},
          {"flops", r.flops}, {"predicted_ms", r.predicted_ms}, {"train_seconds", r.train_seconds},
          {"within_tolerance", r.within}};
}

void write_space(const StretchSpace& space, const std::string& out) {
  nlohmann::ordered_json j;
  j["batch"] = space.batch;
  j["chain_predicted_ms"] = space.chain_s * 1e3;
  j["rules"] = nlohmann::ordered_json::array();
  for (const auto& [rule, size] : space.rules) j["rules"].push_back({{"rule", rule}, {"size", size}});
  j["candidates"] = nlohmann::ordered_json::array();
  for (const auto& c : space.survivors)
    j["candidates"].push_back(
        {{"name", c.stretched.arch.name}, {"stretch", stretch_json(c.options)}, {"predicted_ms", c.predicted_s * 1e3}});
  write_file_atomic(out + "/space.json", j.dump(2) + "\n");
}

void write_report(const StretchReport& report, double tolerance, const std::string& out) {
  nlohmann::ordered_json j;
  j["tolerance_points"] = tolerance;
  j["batch"] = report.space.batch;
  j["chain"] = row_json(report.chain);
  j["tried"] = nlohmann::ordered_json::array();
  for (const auto& r : report.tried) j["tried"].push_back(row_json(r));
  j["picked"] = report.picked >= 0 ? row_json(report.tried[report.picked]) : nlohmann::ordered_json();
  j["deploy"] = report.deploy_dir;
  write_file_atomic(out + "/stretch.json", j.dump(2) + "\n");
  std::string csv = "name,val_accuracy,test_accuracy,params,flops,predicted_ms,train_seconds,within_tolerance\n";
  auto line = [](const StretchRow& r) {
    return fmt::format("{},{:.4f},{:.4f},{},{},{:.4f},{:.1f},{}\n", r.name, r.val_accuracy, r.test_accuracy,
                       r.params, r.flops, r.predicted_ms, r.train_seconds, r.within);
  };
  csv += line(report.chain);
  for (const auto& r : report.tried) csv += line(r);
  write_file_atomic(out + "/stretch.csv", csv);
}

// The fastest predicted row within tolerance (rows are fastest first), else the most
// accurate.
int pick(const std::vector<StretchRow>& tried) {
  for (std::size_t i = 0; i < tried.size(); ++i)
    if (tried[i].within) return static_cast<int>(i);
  int best = -1;
  for (std::size_t i = 0; i < tried.size(); ++i)
    if (best < 0 || tried[i].val_accuracy > tried[best].val_accuracy) best = static_cast<int>(i);
  return best;
}

// The pick's trained weights exported with branch k on unit k.
void export_pick(const StretchCandidate& c, const config::TrainConfig& cfg, const std::string& run,
                 const std::string& dir) {
  nn::Network net(c.stretched.arch);
  torch::load(net, run + "/weights.pt");
  net->eval();
  const auto norm = train::input_normalisation(cfg);
  const int units = static_cast<int>(c.options.branches.size());
  // Beside the old export until the new one is whole, then in its place.
  const std::string next = dir + ".new";
  fs::remove_all(next);
  deploy::export_deployment(c.stretched.arch, *net, deploy::make_plan(c.stretched.arch, c.stretched.parts, units),
                            next, {norm.mean, norm.std});
  fs::remove_all(dir);
  fs::rename(next, dir);
}

}  // namespace

StretchReport run_stretch_search(const arch::Architecture& chain, const config::TrainConfig& train,
                                 const StretchSearchOptions& options, const std::string& out, bool resume,
                                 const Log& log) {
  options.sanity_check();
  train.sanity_check();
  StretchReport report;
  report.space = prune_stretch_space(chain, options.devices, options.link, options.space);
  for (const auto& [rule, size] : report.space.rules) log(fmt::format("after {:>9}: {:.4g} candidates", rule, size));
  const bool fresh = !fs::exists(out);
  fs::create_directories(out);
  write_file_atomic(out + "/config.yaml", config::to_yaml(train));
  write_space(report.space, out);
  if (report.space.survivors.empty())
    throw Error(fmt::format("no way to stretch '{}' survives the rules ({}/space.json); raise alpha or beta, or "
                            "lower min_ratio", chain.name, out));
  try {
    report.chain = train_row(train, chain, out, "chain", resume, log);
  } catch (...) {
    // Refused before the chain's run folder existed (unreadable data): leave nothing behind.
    if (fresh && !fs::exists(out + "/chain")) fs::remove_all(out);
    throw;
  }
  report.chain.predicted_ms = report.space.chain_s * 1e3;
  report.chain.within = true;
  write_report(report, options.tolerance, out);
  for (const auto& c : report.space.survivors) {
    auto row = train_row(train, c.stretched.arch, out, c.stretched.arch.name, resume, log);
    row.stretch = c.options;
    row.predicted_ms = c.predicted_s * 1e3;
    row.within = 100 * (report.chain.val_accuracy - row.val_accuracy) <= options.tolerance;
    log(fmt::format("{}: validation {:.2f}% (chain {:.2f}%), predicted {:.3f} ms (chain {:.3f} ms)", row.name,
                    100 * row.val_accuracy, 100 * report.chain.val_accuracy, row.predicted_ms,
                    report.chain.predicted_ms));
    report.tried.push_back(std::move(row));
    write_report(report, options.tolerance, out);
  }
  report.picked = pick(report.tried);
  report.deploy_dir = out + "/deploy";
  export_pick(report.space.survivors[report.picked], train, out + "/" + report.tried[report.picked].dir,
              report.deploy_dir);
  write_report(report, options.tolerance, out);
  return report;
}

}  // namespace concnas::search
