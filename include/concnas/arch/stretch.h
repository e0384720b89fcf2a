#pragma once
/// \file
/// NN-Stretch (Wei et al.; docs/stretch.md): a sequential network stretched into branches,
/// one per device, that meet again at chosen vertices.
///
///     concnas::arch::StretchOptions s;
///     s.meetings = {9};                       // chain vertex 9 joins the branches
///     s.branches = {{1.0, 1.0}, {0.5, 0.6}};  // (depth, width) ratios, branch k on unit k
///     auto st = concnas::arch::stretch_chain(chain, s);
///     st.arch;   // the stretched network
///     st.parts;  // unit per vertex: branch k on unit k, the rest on unit 0
///
/// The chain's vertices between two meeting vertices (or between the stem and the first,
/// or the last and the output) form a segment of L vertices, S of them staged. Each
/// segment becomes K parallel branches: branch k has max(S, 1, round(depth_k · L))
/// vertices (at most L), each `width_k` times the chain's channels, and stages S times,
/// at the positions of the segment's staged vertices scaled to its depth, so that the
/// branches end at one resolution. A meeting vertex stays as it was in the chain and
/// concatenates the branches' outputs; after the last segment the output vertex does.
/// One branch at ratios (1, 1) gives back the chain's layers.

#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::arch {

/// One branch's size relative to the segment it replaces, each ratio in (0, 1].
struct StretchBranch {
  double depth = 1.0;
  double width = 1.0;
  bool operator==(const StretchBranch& o) const { return depth == o.depth && width == o.width; }
};

struct StretchOptions {
  /// Chain positions (0 = the first compute vertex) that join the branches, ascending.
  std::vector<int> meetings;
  /// One per device; branch k runs on unit k.
  std::vector<StretchBranch> branches;
};

struct Stretched {
  Architecture arch;
  /// Unit per vertex (compute vertices by id, then input and output): branch k on unit
  /// k; meeting vertices, the input and the output on unit 0.
  std::vector<int> parts;
};

/// The chain's compute vertices in order from the input; throws `InvalidArgument` when
/// `a` is not one path from the input to the output.
std::vector<int> chain_order(const Architecture& a);

/// Stretches `chain` (a sequential network). Throws `InvalidArgument` naming the problem:
/// not a chain, a vertex with an explicit channel count or an edge carrying part of its
/// tensor or fp16 (a branch scales widths only), meetings out of order or out of range, no
/// branch, a ratio outside (0, 1], or a segment left empty (two adjacent meetings).
Stretched stretch_chain(const Architecture& chain, const StretchOptions& options);

}  // namespace concnas::arch
