#include "concnas/sim/latency.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::sim {

DeviceModel DeviceModel::uniform(int units, double flops_per_s) {
  DeviceModel d;
  d.flops_per_s.assign(units, flops_per_s);
  return d;
}

void DeviceModel::sanity_check() const {
  CONCNAS_CHECK(!flops_per_s.empty(), "a device model needs at least one unit");
  for (std::size_t i = 0; i < flops_per_s.size(); ++i)
    CONCNAS_CHECK(flops_per_s[i] > 0 && std::isfinite(flops_per_s[i]),
                  "unit {}: flops_per_s must be a positive number, got {}", i,
                  format_number(flops_per_s[i]));
}

void LinkModel::sanity_check() const {
  CONCNAS_CHECK(latency_s >= 0 && std::isfinite(latency_s),
                "link latency must be >= 0 seconds, got {}", format_number(latency_s));
  CONCNAS_CHECK(bandwidth_bytes_per_s > 0 && std::isfinite(bandwidth_bytes_per_s),
                "link bandwidth must be a positive number of bytes/s, got {}",
                format_number(bandwidth_bytes_per_s));
}

SimResult simulate(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                   const std::vector<int>& parts, const DeviceModel& devices,
                   const LinkModel& link) {
  devices.sanity_check();
  link.sanity_check();
  const auto& dag = arch.dag;
  const int units = devices.units();
  CONCNAS_CHECK(static_cast<int>(parts.size()) == dag.num_vertices(),
                "partition has {} entries for {} vertices", parts.size(), dag.num_vertices());
  for (int p : parts)
    CONCNAS_CHECK(p >= 0 && p < units, "unit {} is outside the {} devices", p, units);
  auto flops_of = [&](int v) -> double {
    if (v == dag.input()) return static_cast<double>(cost.stem.flops);
    if (v == dag.output()) return static_cast<double>(cost.output.flops + cost.head.flops);
    return static_cast<double>(cost.vertices[v].flops);
  };
  auto bytes_of = [&](int v) -> double {
    return static_cast<double>(v == dag.input() ? cost.stem.output_bytes
                                                : cost.vertices[v].output_bytes);
  };

  SimResult r;
  r.busy_s.assign(units, 0.0);
  std::vector<double> finish(dag.num_vertices(), 0.0);
  std::vector<double> unit_free(units, 0.0);
  std::vector<char> sent(units);
  for (int v : dag.topological_order()) {
    const int u = parts[v];
    double ready = 0;
    for (int p : dag.predecessors(v)) {
      double arrival = finish[p];
      if (parts[p] != u) arrival += link.latency_s + bytes_of(p) / link.bandwidth_bytes_per_s;
      ready = std::max(ready, arrival);
    }
    const double run = flops_of(v) / devices.flops_per_s[u];
    finish[v] = std::max(ready, unit_free[u]) + run;
    unit_free[u] = finish[v];
    r.busy_s[u] += run;
    // One copy of v's tensor per receiving unit.
    std::fill(sent.begin(), sent.end(), 0);
    for (int s : dag.successors(v))
      if (parts[s] != u && !sent[parts[s]]) {
        sent[parts[s]] = 1;
        r.comm_bytes += static_cast<std::int64_t>(bytes_of(v));
      }
  }
  r.latency_s = finish[dag.output()];
  r.single_device_s = static_cast<double>(cost.total.flops) / devices.flops_per_s[0];
  r.speedup = r.latency_s > 0 ? r.single_device_s / r.latency_s : 1.0;

  const double fastest = *std::max_element(devices.flops_per_s.begin(), devices.flops_per_s.end());
  std::vector<double> path(dag.num_vertices(), 0.0);
  for (int v : dag.topological_order()) {
    double before = 0;
    for (int p : dag.predecessors(v)) before = std::max(before, path[p]);
    path[v] = before + flops_of(v) / fastest;
  }
  const double speed_sum =
      std::accumulate(devices.flops_per_s.begin(), devices.flops_per_s.end(), 0.0);
  r.lower_bound_s = std::max(path[dag.output()], static_cast<double>(cost.total.flops) / speed_sum);
  return r;
}

}  // namespace concnas::sim
