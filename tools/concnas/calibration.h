#pragma once
// `concnas calibrate` as a step other commands take too (search with `search.calibrate`).

#include <string>

#include "concnas/deploy/calibrate.h"

namespace concnas::cli {

struct CalibrationRequest {
  std::string out;       ///< the devices file to write
  int cores = 0;         ///< 0: every CPU this process may use
  int runs = 40;
  int world = 1;         ///< > 1: also measure the link of that many local workers
  int link_runs = 300;
  int batch = 1;         ///< images per inference, for the device and the link
  std::string name;      ///< the device's name (default: the host name)
  std::string command;   ///< recorded under `measured:`
};

/// Measures this machine (and with `world` > 1 its local link) and writes the devices
/// file `out`; progress on stderr. `report`, when given, gets the device's fit.
void write_calibrated_devices(const CalibrationRequest& request, deploy::DeviceCalibration* report = nullptr);

}  // namespace concnas::cli
