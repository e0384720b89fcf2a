#pragma once
// The link part of `concnas calibrate` (calibrate_links.cpp).

#include <functional>

#include "concnas/sim/op_fit.h"

namespace concnas::cli {

/// `done` of `total` calibration networks deployed and measured.
using LinkProgress = std::function<void(int done, int total)>;

/// The link of `devices.units()` pinned local workers over Gloo, fitted to the measured
/// latencies of the calibration networks deployed on them (`runs` inferences each).
sim::LinkModel calibrate_link(const sim::DeviceModel& devices, int runs, const LinkProgress& progress);

}  // namespace concnas::cli
