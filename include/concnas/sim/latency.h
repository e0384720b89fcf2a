#pragma once
/// \file
/// Predicted latency of one inference of a partitioned architecture (docs/scoring.md,
/// "Predicted latency").
///
///     concnas::sim::DeviceModel devices = concnas::sim::DeviceModel::uniform(4, 1e10);
///     concnas::sim::LinkModel link;  // 100 us, 1 Gbit/s
///     auto r = concnas::sim::simulate(arch, cost, parts, devices, link);
///     r.latency_s; r.speedup;
///
/// Model: unit 0 runs the stem, then every unit runs its compute vertices on its `cores`
/// (list scheduling, as concnas's engine runs them, deploy/engine.h): in order of their
/// longest remaining path (`remaining_path_flops`), each on the unit's first free core as
/// soon as all its inputs are on the unit; FLOPs / (the core's FLOP/s) each. A tensor needed on another unit
/// arrives `latency + bytes / bandwidth` after its producer has finished and posted it,
/// once per receiving unit; transfers overlap with computing on both ends and do not contend with each
/// other. The sinks do not travel (as in `concnas run`, deploy/plan.h): a sink is brought
/// to the output's shape on the core that computed it, right after its sends are posted;
/// after its last vertex every unit holding sinks pools them over the plane and adds them up,
/// a unit other than 0 sends that one pooled partial sum (C values per image) to unit 0,
/// and unit 0 averages the partial sums and runs the head.
///
/// Two optional fixed costs model a runtime at small batches, where calls rather than
/// FLOPs take the time (docs/notes/runtime_2026-11.md measures them for the first runtime
/// of `concnas run`; benchmarks/loopback_devices.yaml holds them): every layer call costs
/// the unit `layer_overhead_s` on top of its FLOPs (a compute vertex is one call plus one
/// per scaling block; the stem is one; the head one plus one per scaling block of the
/// output vertex), and posting a tensor to another unit keeps the sending unit busy for
/// `send_overhead_s` per receiving unit. Both default to 0, which is the FLOPs-only model.

#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"
#include "concnas/sim/op_costs.h"

namespace concnas::sim {

struct DeviceModel {
  /// FLOP/s of one core of each unit (unit K at index K).
  std::vector<double> flops_per_s;
  /// Cores of each unit, each running one vertex at a time; empty: 1 on every unit.
  std::vector<int> cores;
  /// Optional names, for reports.
  std::vector<std::string> names;
  /// Fixed seconds per layer call, per unit; empty: 0 on every unit.
  std::vector<double> layer_overhead_s;
  /// Calibrated prices per kind of work (op_costs.h), per unit; a unit whose prices are
  /// set is timed by them instead of by FLOP/s and layer calls. Empty: none set.
  std::vector<OpCosts> ops;
  /// Images per inference that the prices and the link describe: the batch a devices file
  /// was calibrated at (`concnas calibrate --batch`). Work is counted per image and every
  /// price is per inference of `batch` images, so the model predicts inferences of that
  /// batch only.
  int batch = 1;
  /// `units` identical devices.
  static DeviceModel uniform(int units, double flops_per_s, double layer_overhead_s = 0);
  /// The model of the given units alone, in that order (e.g. {0}: a one-unit baseline on
  /// device 0). Throws `InvalidArgument` on a unit it does not have.
  DeviceModel only(const std::vector<int>& units) const;
  double overhead_of(int unit) const { return layer_overhead_s.empty() ? 0.0 : layer_overhead_s.at(unit); }
  int cores_of(int unit) const { return cores.empty() ? 1 : cores.at(unit); }
  /// Whether unit `unit` is timed by calibrated prices.
  bool priced(int unit) const { return !ops.empty() && ops.at(unit).set(); }
  int units() const { return static_cast<int>(flops_per_s.size()); }
  /// Throws `InvalidArgument` on no units, a speed that is not positive, a negative
  /// overhead, fewer than one core, an overhead or core list of another length, or a
  /// batch under 1.
  void sanity_check() const;
};

struct LinkModel {
  /// Seconds before the first byte arrives.
  double latency_s = 100e-6;
  /// Bytes per second (1 Gbit/s = 1.25e8).
  double bandwidth_bytes_per_s = 1.25e8;
  /// Seconds the sending unit is busy posting one tensor to one other unit.
  double send_overhead_s = 0;
  /// Seconds the receiving unit is busy taking in one tensor.
  double receive_overhead_s = 0;
  /// Bytes per element on the link: 4 (float32) or 2 (float16, `--fp16`).
  int bytes_per_element = 4;
  void sanity_check() const;
};

/// Default device speed: a small edge device's sustained FLOP/s on these networks.
inline constexpr double kDefaultFlopsPerS = 1e10;

/// Seconds one core of unit `unit` takes for DAG vertex `v` (the stem for the input
/// vertex), by the unit's calibrated prices or its FLOP/s and layer overhead.
double vertex_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost, const DeviceModel& devices,
                      int v, int unit);

/// Layer calls of vertex `v` of `arch`'s DAG under the model above (input vertex: the
/// stem; output vertex: the output's scaling blocks and the head).
int layer_calls(const arch::Architecture& arch, int v);

/// The priority both the simulator and the engine run ready vertices by: per DAG vertex,
/// its FLOPs plus the most FLOPs on any path from it to the output (critical path first,
/// as HiDP and Opara schedule a device's operators; docs/deploy.md). It falls strictly along
/// every edge, so sorting by it is a topological order.
std::vector<double> remaining_path_flops(const arch::Architecture& arch, const arch::ArchitectureCost& cost);

/// The compute vertices (and the input vertex, first) in descending `remaining_path_flops`,
/// ties in topological order: the order one core runs them in.
std::vector<int> priority_order(const arch::Architecture& arch, const std::vector<double>& rank);

struct SimResult {
  double latency_s = 0;        ///< predicted latency of the partitioned run
  double single_device_s = 0;  ///< the whole network on unit 0 (on its cores)
  double speedup = 1;          ///< single_device_s / latency_s
  double lower_bound_s = 0;    ///< max(critical path on the fastest unit, work / Σ speeds)
  std::int64_t comm_bytes = 0; ///< bytes sent between units
  std::vector<double> busy_s;  ///< compute time per unit
};

SimResult simulate(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                   const std::vector<int>& parts, const DeviceModel& devices,
                   const LinkModel& link);

}  // namespace concnas::sim
