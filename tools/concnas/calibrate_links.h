#pragma once
// The link part of `concnas calibrate` (calibrate_links.cpp).

#include <functional>
#include <string>
#include <vector>

#include "concnas/sim/op_fit.h"

namespace concnas::cli {

/// The median latency of a deployment and whether its workers were pinned.
struct DeploymentTiming {
  double p50_s = 0;
  bool pinned = false;
};

/// Runs the deployment in `dir` with `concnas run --local` (pinned when each worker can
/// have a core of its own), `runs` inferences, `input` as extra flags (e.g. --input FILE,
/// --batch B); its output goes to dir/run.log and dir/run.json.
DeploymentTiming measure_deployment(const std::string& dir, int runs, const std::vector<std::string>& input);

/// `done` of `total` calibration networks deployed and measured.
using LinkProgress = std::function<void(int done, int total)>;

/// The link of `devices.units()` local workers over Gloo at `devices.batch` images per
/// inference, fitted to the measured latencies of the calibration networks and of chains
/// that relay each tensor between the units, deployed on them (`runs` inferences each).
sim::LinkModel calibrate_link(const sim::DeviceModel& devices, int runs, const LinkProgress& progress);

}  // namespace concnas::cli
