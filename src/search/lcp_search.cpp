#include "concnas/search/lcp_search.h"

#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/arch/baselines.h"
#include "concnas/arch/cost.h"
#include "concnas/arch/lcp.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/partition/score.h"
#include "concnas/train/trainer.h"
#include "logged_training.h"

namespace concnas::search {
namespace {

namespace fs = std::filesystem;

// Predicted latency at batch 1: the chain on one device; an LCP network with a branch per
// device (units 0) or partitioned by METIS for `units` devices.
std::pair<int, double> predicted_latency(const arch::Architecture& a, int branches, int depth, int units) {
  partition::ScoreOptions o;
  o.units = units > 0 ? units : branches;
  if (units > 0 && branches > 1)
    return {o.units, partition::score_architecture(a, o, partition::builtin_partitioners()).fastest().sim.latency_s * 1e3};
  std::vector<int> parts(a.dag.num_vertices(), 0);
  for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = branches > 1 ? v / depth % o.units : 0;
  return {o.units, partition::score_given_partition(a, o, parts).best().sim.latency_s * 1e3};
}

LcpRow train_row(const config::LcpConfig& cfg, const arch::Architecture& a, int branches, double width,
                 const std::string& out, const std::string& dir, bool resume,
                 const std::function<void(const std::string&)>& log) {
  const auto cost = arch::compute_cost(a);
  const auto r = train_logged(cfg.base, a, out, dir, resume, log);
  LcpRow row;
  row.name = a.name;
  row.dir = dir;
  row.branches = branches;
  row.width = width;
  row.val_accuracy = r.val_accuracy;
  row.test_accuracy = r.test_accuracy;
  row.params = r.params;
  row.flops = cost.total.flops;
  row.train_seconds = r.seconds;
  std::tie(row.units, row.latency_ms) =
      predicted_latency(a, branches, cfg.base.arch.nodes, branches > 1 ? cfg.lcp.units : 0);
  log(fmt::format("{}: validation {:.2f}%, test {:.2f}%, predicted {:.3f} ms on {} device(s)", a.name,
                  100 * row.val_accuracy, 100 * row.test_accuracy, row.latency_ms, row.units));
  return row;
}

nlohmann::ordered_json row_json(const LcpRow& r) {
  return {{"name", r.name},           {"dir", r.dir},
          {"branches", r.branches},   {"width", r.width},
          {"val_accuracy", r.val_accuracy}, {"test_accuracy", r.test_accuracy},
          {"params", r.params},       {"flops", r.flops},
          {"units", r.units},         {"latency_ms", r.latency_ms},
          {"train_seconds", r.train_seconds}, {"within_tolerance", r.within}};
}

void write_report(const LcpReport& report, const config::LcpConfig& cfg, const std::string& out) {
  nlohmann::ordered_json j;
  j["tolerance_points"] = cfg.lcp.tolerance;
  j["chain"] = row_json(report.chain);
  j["tried"] = nlohmann::ordered_json::array();
  for (const auto& r : report.tried) j["tried"].push_back(row_json(r));
  j["picked"] = nlohmann::ordered_json::array();
  for (const auto& r : report.picked) j["picked"].push_back(row_json(r));
  write_file_atomic(out + "/lcp.json", j.dump(2) + "\n");
  std::string csv = "name,branches,width,val_accuracy,test_accuracy,params,flops,units,latency_ms,train_seconds,"
                    "within_tolerance\n";
  auto line = [](const LcpRow& r) {
    return fmt::format("{},{},{},{:.4f},{:.4f},{},{},{},{:.4f},{:.1f},{}\n", r.name, r.branches, format_number(r.width),
                       r.val_accuracy, r.test_accuracy, r.params, r.flops, r.units, r.latency_ms, r.train_seconds,
                       r.within);
  };
  csv += line(report.chain);
  for (const auto& r : report.tried) csv += line(r);
  write_file_atomic(out + "/lcp.csv", csv);
}

}  // namespace

LcpReport run_lcp_search(const config::LcpConfig& cfg, const std::string& out, bool resume,
                         const std::function<void(const std::string&)>& log) {
  cfg.sanity_check();
  const auto [input, classes] = train::dataset_shape(cfg.base);
  auto options = config::generate_options(cfg.base.arch, input, classes);
  options.network.sanity_check();
  const int depth = cfg.base.arch.nodes;
  const bool fresh = !fs::exists(out);
  fs::create_directories(out);
  write_file_atomic(out + "/config.yaml", config::to_yaml(cfg));
  LcpReport report;
  const auto chain = arch::chain_architecture(depth, options.staging, options.network, cfg.base.arch.seed);
  try {
    report.chain = train_row(cfg, chain, 1, 1.0, out, "chain", resume, log);
  } catch (...) {
    // Refused before the chain's run folder existed (unreadable data): leave nothing behind.
    if (fresh && !fs::exists(out + "/chain")) fs::remove_all(out);
    throw;
  }
  report.chain.within = true;
  write_report(report, cfg, out);
  const auto& l = cfg.lcp;
  for (int k : l.branches) {
    LcpRow last;
    // Widths as start + i * step, so that no rounding drift skips the last one.
    for (int i = 0; l.width_start + i * l.width_step <= l.width_max + 1e-9; ++i) {
      const double w = l.width_start + i * l.width_step;
      const auto a = arch::lcp_architecture({k, depth, w}, options.staging, options.network, cfg.base.arch.seed);
      last = train_row(cfg, a, k, w, out, fmt::format("lcp-k{}-w{}", k, format_number(w)), resume, log);
      last.within = 100 * (report.chain.val_accuracy - last.val_accuracy) <= l.tolerance;
      report.tried.push_back(last);
      write_report(report, cfg, out);
      if (last.within) break;
    }
    report.picked.push_back(last);
    write_report(report, cfg, out);
  }
  return report;
}

}  // namespace concnas::search
