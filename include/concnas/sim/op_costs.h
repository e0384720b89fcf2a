#pragma once
/// \file
/// What concnas's inference engine spends on each step, as a linear function of the work
/// the step does: the device model that `concnas calibrate` measures (docs/scoring.md,
/// "Calibrated devices").
///
///     concnas::sim::OpCosts ops;           // from a devices file's `ops:`
///     double s = concnas::sim::seconds_of(ops, concnas::sim::vertex_work(arch, v));
///
/// A compute vertex is one fused pass (its inputs summed, ReLU, the 3x3 depthwise taps)
/// and one matrix product (the pointwise convolution), plus a pooling and a projection
/// per input that needs scaling. Each kind of work has its own price: summing is bound by
/// memory, the matrix product by arithmetic, so one FLOP/s cannot price both.

#include <cstdint>
#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::sim {

/// The work of one step of the engine, at batch 1.
struct StepWork {
  double steps = 0;           ///< fixed costs: 1 for a vertex, the stem or the head
  double summed = 0;          ///< input elements read by the fused pass (k inputs x C x H x W)
  double taps = 0;            ///< depthwise outputs (C x H' x W'), 9 taps each
  double gemm_flops = 0;      ///< pointwise and projection FLOPs (2 per multiply-add)
  double pooled = 0;          ///< elements read by max pooling
  double scalings = 0;        ///< scaling blocks
  double stem_flops = 0;      ///< the stem's 3x3 convolution
  StepWork& operator+=(const StepWork& o);
};

/// Seconds per unit of each kind of work, on one core of a device.
struct OpCosts {
  double step_s = 0;
  double summed_s = 0;
  double tap_s = 0;
  double gemm_flop_s = 0;
  double pooled_s = 0;
  double scaling_s = 0;
  double stem_flop_s = 0;
  /// Fixed per inference: starting the unit's threads, the head, the partial sum.
  double inference_s = 0;
  /// Each step's time is multiplied by this when the unit runs on more than one core
  /// (the cores share caches and memory bandwidth).
  double parallel_slowdown = 1;
  /// Whether any price is set (else the device is priced by FLOP/s alone).
  bool set() const;
};

/// Compute vertex `v` of `arch`, its scaling blocks included.
StepWork vertex_work(const arch::Architecture& arch, int v);
/// The stem (the input vertex's step).
StepWork stem_work(const arch::Architecture& arch);
/// The scaling block that brings sink `s` to the output's shape (nothing without one).
StepWork sink_work(const arch::Architecture& arch, int s);
/// The partial sum on unit `unit`: the output vertex's inputs that `parts` puts there,
/// pooled over the plane and added up (the output vertex's step on every unit with sinks).
StepWork partial_work(const arch::Architecture& arch, const std::vector<int>& parts, int unit);
/// The head on unit 0 beyond `OpCosts::inference_s`: the other units' pooled partial sums
/// added to the first (`partials` in all). Calibration measures unit 0's own partial sum
/// and the classifier with what the steps leave out, in `inference_s`.
StepWork head_work(const arch::Architecture& arch, int partials);

/// `ops` with every price per unit of work times `factor` (not `inference_s` or
/// `parallel_slowdown`).
OpCosts scaled_prices(OpCosts ops, double factor);

/// Seconds of `work` at prices `ops`.
double seconds_of(const OpCosts& ops, const StepWork& work);

}  // namespace concnas::sim
