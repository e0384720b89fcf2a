#pragma once
/// \file
/// The deployment plan of a partitioned architecture: which unit runs which vertices in
/// which order, and which vertex outputs travel between units (docs/deploy.md).
///
///     auto plan = concnas::deploy::make_plan(arch, parts, /*units=*/2);
///     plan.units[1].vertices;  // compute vertices unit 1 runs, in topological order
///     plan.transfers;          // one per vertex output needed on another unit
///
/// Unit 0 holds the input vertex (stem) and the output vertex (average of the sinks and
/// the head). The sinks do not travel: every unit adds up its own sinks (scaled to the
/// output's shape) and pools them over the plane, and a unit other than 0 sends that one
/// pooled partial sum (C values per image) to unit 0, which averages them in the head. No
/// LibTorch here; `deploy/export.h` writes the per-unit modules.

#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::deploy {

/// The plan format `plan_yaml` writes and `read_deployment` reads. Version 4: partial sums
/// travel pooled over the plane (version 3: whole; both: unit files hold the inference
/// tensors of deploy/export.h, batch norms folded in).
inline constexpr int kPlanVersion = 4;

/// A vertex output sent from the unit that computes it to units that consume it, or (with
/// `vertex` = the output vertex) a unit's partial sum of its sinks pooled over the plane
/// (shape C x 1 x 1), sent to unit 0.
struct Transfer {
  int vertex = 0;             ///< producer (a compute vertex, the input vertex = stem, or the output vertex)
  int from = 0;               ///< unit computing it
  std::vector<int> to;        ///< units needing it, ascending
  /// Per image (the batch dimension comes first at run time): the producer's first channels,
  /// as many as the most any receiving vertex's edge carries (arch::EdgeSpec).
  arch::Shape shape;
  /// Sent as float16: every receiving vertex's edge is fp16 (or the worker sends all so).
  bool half = false;
  std::int64_t bytes = 0;     ///< per image, at `half`'s element size
};

struct UnitPlan {
  /// Compute vertices in the DAG's topological order; unit 0 also runs the stem first
  /// and the head last.
  std::vector<int> vertices;
  std::vector<int> receives;  ///< vertices whose outputs arrive from other units, ascending
                              ///< (on unit 0 the output vertex once per partial sum)
  std::vector<int> sinks;     ///< the output vertex's inputs this unit computes, in their order there
};

struct Plan {
  std::string architecture;   ///< the architecture's name
  int num_units = 1;
  std::vector<int> parts;     ///< unit per DAG vertex (compute, input, output)
  std::vector<UnitPlan> units;
  std::vector<Transfer> transfers;  ///< by producing vertex, then sending unit, ascending
  /// Bytes crossing units per image: the partition's connectivity cost, except that each
  /// unit other than 0 sends one pooled partial sum of its sinks instead of every sink. With
  /// `all_half` (`run --fp16`), every transfer at 2 bytes per element.
  std::int64_t bytes_per_image(bool all_half = false) const;
};

/// Throws `InvalidArgument` when `parts` does not give every DAG vertex a unit in
/// [0, units) or does not put the input and output vertices on unit 0.
Plan make_plan(const arch::Architecture& arch, const std::vector<int>& parts, int units);

/// How unit 0 turns image bytes into the network's input, as in training:
/// x[c] = (byte / 255 - mean[c]) / std[c]. Empty mean and std: mean 0, std 1.
struct InputSpec {
  std::vector<double> mean;
  std::vector<double> std;
};

/// A deployment folder as `concnas export` writes it and `concnas run` reads it:
/// `plan.yaml`, `arch.yaml` and `unit_K.pt` for every unit.
struct Deployment {
  std::string dir;
  arch::Architecture arch;
  Plan plan;
  InputSpec input;                           ///< one mean and std per input channel
  std::vector<std::uint64_t> unit_checksums; ///< FNV-1a of each unit_K.pt
  std::uint64_t weights_hash = 0;            ///< plan.yaml's `hash` (plan and weights)
  /// FNV-1a of plan.yaml's bytes: equal on two workers only when they run the same plan,
  /// architecture and weights. Workers compare it at the handshake.
  std::uint64_t identity = 0;
};

/// plan.yaml's text up to (not including) the unit checksums and the hash.
std::string plan_yaml(const arch::Architecture& arch, const Plan& plan, const InputSpec& input);

/// Reads and checks `dir`/plan.yaml and the architecture it names: a plan whose unit
/// lists do not follow from its `parts`, or whose architecture file's checksum differs,
/// is a `ParseError` naming plan.yaml and the line. Unit files are checked by
/// `check_unit_file` (a worker needs only its own).
Deployment read_deployment(const std::string& dir);

/// Throws `Error` when `dir`/unit_`unit`.pt is missing or is not the file the plan was
/// exported with (another export's weights).
void check_unit_file(const Deployment& d, int unit);

}  // namespace concnas::deploy
