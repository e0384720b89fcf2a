#pragma once
/// \file
/// Fitting a device's prices (op_costs.h) to timed steps, as `concnas calibrate` does.
///
///     std::vector<concnas::sim::TimedWork> samples = ...;  // one per step timed
///     concnas::sim::OpCosts ops = concnas::sim::fit_op_costs(samples);

#include <vector>

#include "concnas/sim/latency.h"
#include "concnas/sim/op_costs.h"

namespace concnas::sim {

/// One step's work and the seconds it took (a median over runs).
struct TimedWork {
  StepWork work;
  double seconds = 0;
};

/// The non-negative prices that minimise the sum of squared relative errors over
/// `samples` (every subset of the kinds of work is fitted by least squares; the best fit
/// with no negative price wins). `inference_s` and `parallel_slowdown` are left at 0 and 1.
/// Throws `InvalidArgument` on no samples or a sample of no positive time.
OpCosts fit_op_costs(const std::vector<TimedWork>& samples);

/// A partitioned network and its measured latency on `devices` (a link to fit), and,
/// where it was measured, its latency on unit 0 alone.
struct LinkSample {
  const arch::Architecture* arch = nullptr;
  std::vector<int> parts;
  double seconds = 0;
  double single_seconds = 0;  ///< on unit 0 alone; 0: not measured
};

/// The link (latency, bandwidth, and the per-message CPU time of sender and receiver,
/// taken as equal) whose simulated latencies on `devices` fit `samples` best: least
/// squares of the log ratio, over a grid of each parameter and a finer one around its best.
/// A sample with `single_seconds` is predicted as that measured time plus what the
/// simulator adds for the partition (its simulated latency less its simulated latency on
/// unit 0 alone), so that the devices' pricing error stays out of the link.
LinkModel fit_link(const std::vector<LinkSample>& samples, const DeviceModel& devices);

/// The relative error of `ops` on each sample: (predicted - measured) / measured.
std::vector<double> relative_errors(const OpCosts& ops, const std::vector<TimedWork>& samples);

}  // namespace concnas::sim
