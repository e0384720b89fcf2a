#pragma once
/// \file
/// NN-Stretch's space and its pruning (Wei et al.; docs/stretch.md): every way to stretch a
/// chain over the devices of a devices model, narrowed by rules on predicted latency and
/// capacity to a few candidates worth training.
///
///     concnas::search::StretchSpaceOptions o;   // alpha, beta, min_ratio, step
///     auto space = concnas::search::prune_stretch_space(chain, devices, link, o);
///     for (const auto& rule : space.rules) ...  // the space's size after each rule
///     space.survivors;                          // stretched candidates, fastest first
///
/// The space: a set of meeting vertices (any chain positions with a vertex between each
/// two) and, per device, a branch's depth and width ratios on the grid step, 2 step, ...,
/// 1. The rules, in order:
/// 1. alpha (amortized meetings): at every segment, the time to send its input to each
///    other device and their outputs back (full width, on the link model) is at most
///    alpha times the segment's compute on unit 0.
/// 2. beta (no straggler): branch k on device k takes at most beta times the segment's time
///    on the fastest device. Measured on the whole chain as one branch of those ratios
///    (the cost model and the device's prices), so every segment is taken to scale alike.
/// 3. min_ratio (capacity): every depth and width ratio is at least `min_ratio`.
/// 4. largest branch: a branch that could be one grid step deeper or wider within rule 2
///    is dropped; it would give up accuracy for nothing.
/// 5. predicted: the simulator, on each candidate built and placed (branch k on unit k),
///    predicts it faster than the chain alone on the fastest device.

#include <string>
#include <utility>
#include <vector>

#include "concnas/arch/stretch.h"
#include "concnas/sim/latency.h"

namespace concnas::search {

struct StretchSpaceOptions {
  double alpha = 0.2;
  double beta = 0.7;
  double min_ratio = 0.5;
  /// The ratio grid's step: ratios step, 2 step, ..., 1 (rule 3 then drops those under
  /// min_ratio).
  double step = 0.25;
  /// Throws `InvalidArgument` naming the bad field.
  void sanity_check() const;
};

struct StretchCandidate {
  arch::StretchOptions options;
  arch::Stretched stretched;
  double predicted_s = 0;  ///< the simulator's latency, branch k on unit k
};

struct StretchSpace {
  /// Images per inference of every prediction: the devices model's batch.
  int batch = 1;
  /// The chain's predicted latency alone on the fastest device.
  double chain_s = 0;
  /// The space's size before any rule ("space"), then after each rule, by rule name.
  std::vector<std::pair<std::string, double>> rules;
  /// Candidates after every rule, fastest first.
  std::vector<StretchCandidate> survivors;
};

/// Enumerates and prunes the ways to stretch `chain` over `devices` (one branch per unit).
/// Throws `InvalidArgument` on bad options, a devices model of no unit, or a network that
/// is not a chain.
StretchSpace prune_stretch_space(const arch::Architecture& chain, const sim::DeviceModel& devices,
                                 const sim::LinkModel& link, const StretchSpaceOptions& options);

}  // namespace concnas::search
