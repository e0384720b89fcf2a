#pragma once
/// \file
/// Graphviz DOT export of an architecture, one box per vertex labelled with its channels
/// and resolution; staged vertices and scaled edges are marked.
///
///     std::string dot = concnas::arch::to_dot(arch);
///     // dot -Tsvg arch.dot -o arch.svg

#include <string>
#include <vector>

#include "concnas/arch/architecture.h"

namespace concnas::arch {

struct DotOptions {
  /// Optional unit per compute vertex (size = compute vertices); vertices are filled with
  /// one colour per unit. Empty: no colouring.
  std::vector<int> unit_of;
};

std::string to_dot(const Architecture& arch, const DotOptions& options = {});

}  // namespace concnas::arch
