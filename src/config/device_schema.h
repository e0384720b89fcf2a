#pragma once
// The keys of a devices file (private to src/config).

#include <string>

#include "concnas/sim/latency.h"
#include "schema.h"

namespace concnas::config::detail {

/// One entry of `devices:` (or the `device:` of every unit).
struct DeviceEntry {
  std::string name;
  double flops_per_s = 0;
  int cores = 1;
  double layer_overhead_s = 0;
  sim::OpCosts ops;
};

const Schema<DeviceEntry>& device_schema();
const Schema<sim::LinkModel>& link_schema();
const Schema<sim::OpCosts>& ops_schema();

}  // namespace concnas::config::detail
