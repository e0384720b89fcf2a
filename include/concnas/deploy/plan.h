#pragma once
/// \file
/// The deployment plan of a partitioned architecture: which unit runs which vertices in
/// which order, and which vertex outputs travel between units (design.md §6).
///
///     auto plan = concnas::deploy::make_plan(arch, parts, /*units=*/2);
///     plan.units[1].vertices;  // compute vertices unit 1 runs, in topological order
///     plan.transfers;          // one per vertex output needed on another unit
///
/// Unit 0 holds the input vertex (stem) and the output vertex (average of the sinks and
/// the head). No LibTorch here; `deploy/export.h` writes the per-unit modules.

#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::deploy {

/// A vertex output sent from the unit that computes it to units that consume it.
struct Transfer {
  int vertex = 0;             ///< producer (a compute vertex, or the input vertex = stem)
  int from = 0;               ///< unit computing it
  std::vector<int> to;        ///< units needing it, ascending
  arch::Shape shape;          ///< per image (the batch dimension comes first at run time)
  std::int64_t bytes = 0;     ///< per image, fp32
};

struct UnitPlan {
  /// Compute vertices in the DAG's topological order; unit 0 also runs the stem first
  /// and the head last.
  std::vector<int> vertices;
  std::vector<int> receives;  ///< vertices whose outputs arrive from other units, ascending
};

struct Plan {
  std::string architecture;   ///< the architecture's name
  int num_units = 1;
  std::vector<int> parts;     ///< unit per DAG vertex (compute, input, output)
  std::vector<UnitPlan> units;
  std::vector<Transfer> transfers;  ///< by producing vertex, ascending
  /// Bytes crossing units per image (equals the partition's connectivity cost).
  std::int64_t bytes_per_image() const;
};

/// Throws `InvalidArgument` when `parts` does not give every DAG vertex a unit in
/// [0, units) or does not put the input and output vertices on unit 0.
Plan make_plan(const arch::Architecture& arch, const std::vector<int>& parts, int units);

}  // namespace concnas::deploy
