#pragma once
/// \file
/// `concnas lcp`: how wide LCP networks (arch/lcp.h) must be to match the chain.
///
///     auto cfg = concnas::config::load_lcp_config("configs/lcp_fmnist.yaml");
///     auto report = concnas::search::run_lcp_search(cfg, "runs/lcp", /*resume=*/false, log);
///     report.picked[0].width;  // the narrowest W within tolerance for the first K
///
/// Trains the chain of `arch.nodes` vertices, then for each K of `lcp.branches` trains LCP
/// networks of K branches of that depth at widths W = width_start, + width_step, ... up to
/// width_max, stopping at the first whose validation accuracy is within `lcp.tolerance`
/// points of the chain's. Every network trains with the same data and train sections (the
/// same budget). Run folders are `out/chain` and `out/lcp-kK-wW`; `out/lcp.json` and
/// `out/lcp.csv` hold every row, rewritten after each run, so a killed search loses at most
/// the run in progress and `--resume` carries on from the checkpoints.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "concnas/config/lcp_config.h"

namespace concnas::search {

struct LcpRow {
  std::string name;     ///< architecture name
  std::string dir;      ///< run folder, relative to the output folder
  int branches = 1;     ///< 1: the chain
  double width = 1.0;
  double val_accuracy = 0;
  double test_accuracy = 0;
  std::int64_t params = 0;
  std::int64_t flops = 0;
  int units = 1;               ///< devices of the predicted latency
  double latency_ms = 0;       ///< predicted (sim/latency.h), batch 1
  double train_seconds = 0;
  bool within = false;         ///< validation accuracy within tolerance of the chain's
};

struct LcpReport {
  LcpRow chain;
  std::vector<LcpRow> tried;   ///< every LCP network trained, in order
  std::vector<LcpRow> picked;  ///< per K: the first within tolerance, or the widest tried
};

/// Runs the search into folder `out` (created; with `resume`, an earlier run's folders
/// carry on). `log` gets one line per event.
LcpReport run_lcp_search(const config::LcpConfig& config, const std::string& out, bool resume,
                         const std::function<void(const std::string&)>& log);

}  // namespace concnas::search
