#pragma once
// An architecture that uses every key of format version 2 (docs/architecture_format.md):
// concatenating vertices, widths, explicit channel counts, edges carrying half their
// channels and fp16 edges, built on a small DP graph with staging and scaling blocks.

#include "concnas/arch/architecture.h"

namespace concnas::testing {

// Whether every input of `v` in `a` has one resolution (a concatenation needs that).
inline bool one_resolution(const arch::Architecture& a, const arch::VertexSpec& v) {
  for (int p : v.inputs)
    if (a.shape_of(p).height != a.shape_of(v.inputs[0]).height) return false;
  return true;
}

inline arch::Architecture with_version2_design(const arch::Architecture& v1) {
  arch::Design d(v1.dag.num_compute() + 1);
  std::vector<bool> staged;
  for (const auto& v : v1.vertices) {
    staged.push_back(v.staged);
    auto& x = d[v.id];
    x.width = v.id % 3 == 0 ? 1.5 : v.id % 3 == 1 ? 0.5 : 1.0;
    if (v.id % 5 == 2) x.channels = 7;
    if (v.inputs.size() > 1 && v.id % 2 == 0 && one_resolution(v1, v)) x.merge = arch::Merge::kConcat;
    for (std::size_t i = 0; i < v.inputs.size(); ++i)
      x.edges[v.inputs[i]] = {i % 2 == 0 ? 0.5 : 1.0, (v.id + i) % 3 == 0 ? arch::Dtype::kFp16 : arch::Dtype::kFp32};
  }
  auto& out = d.back();
  if (v1.output.inputs.size() > 1 && one_resolution(v1, v1.output)) out.merge = arch::Merge::kConcat;
  out.edges[v1.output.inputs[0]] = {0.75, arch::Dtype::kFp16};
  auto a = arch::rebuild_architecture(v1.dag, v1.network, staged, d);
  a.name = v1.name + "-v2";
  a.provenance = v1.provenance;
  a.staging = v1.staging;
  return a;
}

}  // namespace concnas::testing
