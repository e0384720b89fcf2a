#pragma once
/// \file
/// Measuring this machine as a device for the simulator (`concnas calibrate`): concnas's
/// engine runs a fixed set of calibration networks (random weights; other seeds than any
/// benchmark's), every step is timed, and the prices of each kind of work (sim/op_costs.h)
/// are fitted to the medians, then scaled to the steps inside whole inferences (a step's
/// times are skewed). With more than one core, the slowdown of steps running side
/// by side is fitted to whole inferences on all cores.
///
///     concnas::deploy::DeviceCalibrationOptions o;
///     o.cores = 2;
///     auto c = concnas::deploy::calibrate_device(o);
///     c.ops;  // into a devices file's `ops:`

#include <functional>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/sim/op_costs.h"

namespace concnas::deploy {

struct DeviceCalibrationOptions {
  int cores = 1;    ///< also measure this many cores at once (parallel_slowdown)
  int runs = 40;    ///< timed inferences per network and setting
  int warmup = 5;
  /// Images per inference: every price is then per inference of this many images.
  int batch = 1;
  /// `stage` ("1 core", "2 cores"), networks done of `total`.
  std::function<void(const std::string& stage, int done, int total)> progress;
};

/// How well the fitted model predicts the calibration networks' whole inferences.
struct NetworkFit {
  std::string name;
  int cores = 1;
  double measured_s = 0;   ///< median over runs
  double predicted_s = 0;  ///< the simulator's, with the fitted prices
};

struct DeviceCalibration {
  sim::OpCosts ops;
  int steps_timed = 0;              ///< vertices, stems and sink scalings fitted
  double flops_one_core = 0;        ///< FLOPs of the networks timed on one core, summed
  double median_step_error = 0;     ///< |relative error| over the fitted steps
  std::vector<NetworkFit> networks;
};

/// The networks calibration times: other sizes and seeds than any benchmark's, for 28x28
/// grey images and 10 classes, from narrow and shallow to wide and deep.
std::vector<arch::Architecture> calibration_networks();

/// Throws `InvalidArgument` on cores < 1, runs < 1 or batch < 1.
DeviceCalibration calibrate_device(const DeviceCalibrationOptions& options);

}  // namespace concnas::deploy
