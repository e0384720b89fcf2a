#pragma once
/// \file
/// `concnas stretch`: NN-Stretch end to end (docs/stretch.md). Prunes the ways to stretch a
/// chain over the devices (search/stretch_space.h), trains the chain and every candidate
/// left with the same data and budget, picks the fastest predicted candidate whose
/// validation accuracy is within `tolerance` points of the chain's, and exports it with
/// branch k on device k.
///
///     concnas::search::StretchSearchOptions o;
///     o.devices = devices; o.link = link;  // one unit per branch
///     auto report = concnas::search::run_stretch_search(chain, train_config, o, "runs/stretch",
///                                                       /*resume=*/false, log);
///     report.picked;  // index into report.tried, -1 when nothing survived
///
/// The run folder: `space.json` (the space's size after each rule and the candidates,
/// written before any training), `chain/` and one folder per candidate (as `concnas train`
/// writes them), `stretch.json` and `stretch.csv` (every row, rewritten after each
/// training, so a killed run loses at most the training in progress; `resume` carries on
/// from the checkpoints) and `deploy/`, the pick exported for `concnas run`.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "concnas/config/train_config.h"
#include "concnas/search/stretch_space.h"

namespace concnas::search {

struct StretchSearchOptions {
  StretchSpaceOptions space;
  /// Points of validation accuracy below the chain's that a pick may lose.
  double tolerance = 0.6;
  sim::DeviceModel devices;
  sim::LinkModel link;
  /// Throws `InvalidArgument` naming the bad field.
  void sanity_check() const;
};

struct StretchRow {
  std::string name;
  std::string dir;  ///< run folder, relative to the output folder
  arch::StretchOptions stretch;  ///< empty branches: the chain
  double val_accuracy = 0;
  double test_accuracy = 0;
  std::int64_t params = 0;
  std::int64_t flops = 0;
  double predicted_ms = 0;  ///< the chain: on the fastest device alone; a candidate: on every device
  double train_seconds = 0;
  bool within = false;      ///< validation accuracy within tolerance of the chain's
};

struct StretchReport {
  StretchSpace space;
  StretchRow chain;
  std::vector<StretchRow> tried;  ///< every candidate, fastest predicted first
  int picked = -1;                ///< the fastest within tolerance, else the most accurate
  std::string deploy_dir;         ///< where the pick was exported
};

/// Runs NN-Stretch on `chain` into folder `out` (created; with `resume`, an earlier run's
/// trainings carry on). `log` gets one line per event. Throws `InvalidArgument` on bad
/// options or a network that is not a chain, and `Error` when no candidate survives the
/// rules (after writing space.json).
StretchReport run_stretch_search(const arch::Architecture& chain, const config::TrainConfig& train,
                                 const StretchSearchOptions& options, const std::string& out, bool resume,
                                 const std::function<void(const std::string&)>& log);

}  // namespace concnas::search
