#pragma once
/// \file
/// Device and link models from a YAML file (docs/scoring.md):
///
///     devices:                 # one entry per unit, unit 0 first ...
///       - {name: pi-0, flops_per_s: 2.0e9, cores: 2}   # FLOP/s of one core
///       - {name: pi-1, flops_per_s: 2.0e9}
///     # ... or one model for every unit:  device: {flops_per_s: 2.0e9}
///     link: {latency_s: 0.0002, bandwidth_bytes_per_s: 1.25e7}
///
///     auto [devices, link] = concnas::config::load_devices("devices.yaml", /*units=*/2);

#include <string>
#include <utility>

#include "concnas/sim/latency.h"

namespace concnas::config {

/// Parses a device file for `units` units; `source` names it in errors. Throws
/// `ParseError` naming the file, line and key.
std::pair<sim::DeviceModel, sim::LinkModel> devices_from_yaml(const std::string& text,
                                                              const std::string& source,
                                                              int units);
std::pair<sim::DeviceModel, sim::LinkModel> load_devices(const std::string& path, int units);

}  // namespace concnas::config
