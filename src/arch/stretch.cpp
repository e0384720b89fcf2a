#include "concnas/arch/stretch.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::arch {

std::vector<int> chain_order(const Architecture& a) {
  const auto& g = a.dag;
  std::vector<int> order;
  int v = g.input();
  while (true) {
    const auto& next = g.successors(v);
    CONCNAS_CHECK(next.size() == 1, "'{}' is not a chain: vertex {} feeds {} vertices", a.name, v, next.size());
    v = next.front();
    if (v == g.output()) break;
    CONCNAS_CHECK(g.predecessors(v).size() == 1, "'{}' is not a chain: vertex {} has {} inputs", a.name, v,
                  g.predecessors(v).size());
    order.push_back(v);
  }
  CONCNAS_CHECK(static_cast<int>(order.size()) == g.num_compute(), "'{}' is not a chain: {} of its {} vertices "
                "lie on the path from the input", a.name, order.size(), g.num_compute());
  return order;
}

namespace {

// A branch scales each chain vertex's width; explicit channel counts and edges that carry
// part of a tensor or fp16 would not scale with it.
void check_plain(const Architecture& a) {
  for (const auto& v : a.vertices) {
    CONCNAS_CHECK(v.channels == 0, "stretch: vertex {} of '{}' sets its channels ({}); give widths instead", v.id,
                  a.name, v.channels);
    for (std::size_t i = 0; i < v.edges.size(); ++i)
      CONCNAS_CHECK(v.edges[i].is_default(), "stretch: the edge {} -> {} of '{}' carries part of its tensor or "
                    "fp16; stretch takes chains of whole fp32 edges", v.inputs[i], v.id, a.name);
  }
}

void check_options(const StretchOptions& o, int length) {
  CONCNAS_CHECK(!o.branches.empty(), "stretch: give at least one branch");
  for (std::size_t k = 0; k < o.branches.size(); ++k) {
    const auto& b = o.branches[k];
    CONCNAS_CHECK(b.depth > 0 && b.depth <= 1 && b.width > 0 && b.width <= 1,
                  "stretch: branch {} has ratios (depth {}, width {}); each must lie in (0, 1]", k,
                  format_number(b.depth), format_number(b.width));
  }
  int previous = -1;
  for (int m : o.meetings) {
    CONCNAS_CHECK(m >= 1 && m <= length - 2, "stretch: meeting vertex {} outside 1..{} of a chain of {}", m,
                  length - 2, length);
    CONCNAS_CHECK(m >= previous + 2, "stretch: meetings {} and {} leave no vertex between them", previous, m);
    previous = m;
  }
}

// Where a branch of `depth` vertices stages, given the segment's staged positions among
// its `length`: each position scaled to the depth, kept increasing and within it.
std::vector<bool> branch_staging(const std::vector<int>& staged_at, int length, int depth) {
  std::vector<bool> staged(depth, false);
  const int count = static_cast<int>(staged_at.size());
  int last = -1;
  for (int j = 0; j < count; ++j) {
    int q = static_cast<int>(static_cast<long long>(staged_at[j]) * depth / length);
    q = std::min(std::max(q, last + 1), depth - (count - j));
    staged[q] = true;
    last = q;
  }
  return staged;
}

// Builds the graph, staging, design and placement segment by segment.
struct Builder {
  std::vector<graph::Arc> arcs;
  std::vector<bool> staged;
  Design design;
  std::vector<int> unit;
  int next = 0;

  int add(bool stages, const VertexDesign& d, int on_unit) {
    staged.push_back(stages);
    design.push_back(d);
    unit.push_back(on_unit);
    return next++;
  }
  // The segment's branches from `from` (-1: the input); returns their last vertices.
  std::vector<int> segment(const std::vector<const VertexSpec*>& seg, int from,
                           const std::vector<StretchBranch>& branches) {
    const int length = static_cast<int>(seg.size());
    std::vector<int> staged_at;
    for (int i = 0; i < length; ++i)
      if (seg[i]->staged) staged_at.push_back(i);
    std::vector<int> ends;
    for (std::size_t k = 0; k < branches.size(); ++k) {
      const int depth = std::clamp(static_cast<int>(std::lround(branches[k].depth * length)),
                                   std::max<int>(1, static_cast<int>(staged_at.size())), length);
      const auto where = branch_staging(staged_at, length, depth);
      int prev = from;
      for (int i = 0; i < depth; ++i) {
        const int v = add(where[i], narrowed(*seg[static_cast<long long>(i) * length / depth], branches[k].width),
                          static_cast<int>(k));
        if (prev >= 0) arcs.push_back({prev, v});
        prev = v;
      }
      ends.push_back(prev);
    }
    return ends;
  }
  // The chain vertex's width times the branch's width ratio.
  static VertexDesign narrowed(const VertexSpec& chain_vertex, double ratio) {
    VertexDesign d;
    d.width = chain_vertex.width * ratio;
    return d;
  }
};

std::string stretch_name(const Architecture& chain, const StretchOptions& o) {
  std::string name = "stretch-" + chain.name + "-m";
  for (std::size_t i = 0; i < o.meetings.size(); ++i) name += (i ? "." : "") + std::to_string(o.meetings[i]);
  for (const auto& b : o.branches) name += fmt::format("-{}x{}", format_number(b.depth), format_number(b.width));
  return name;
}

}  // namespace

Stretched stretch_chain(const Architecture& chain, const StretchOptions& options) {
  const auto order = chain_order(chain);
  const int length = static_cast<int>(order.size());
  check_plain(chain);
  check_options(options, length);
  Builder b;
  int from = -1;
  int start = 0;
  auto meets = options.meetings;
  meets.push_back(length);  // the output ends the last segment
  for (int m : meets) {
    std::vector<const VertexSpec*> seg;
    for (int i = start; i < m; ++i) seg.push_back(&chain.vertices[order[i]]);
    const auto ends = b.segment(seg, from, options.branches);
    if (m == length) break;
    const auto& kept = chain.vertices[order[m]];
    VertexDesign meet = Builder::narrowed(kept, 1.0);
    if (options.branches.size() > 1) meet.merge = Merge::kConcat;
    from = b.add(kept.staged, meet, 0);
    for (int e : ends) b.arcs.push_back({e, from});
    start = m + 1;
  }
  b.design.emplace_back();  // the output vertex
  if (options.branches.size() > 1) b.design.back().merge = Merge::kConcat;
  Stretched s;
  s.arch = rebuild_architecture(graph::Dag::from_compute_edges(b.next, b.arcs), chain.network, b.staged, b.design);
  s.arch.name = stretch_name(chain, options);
  s.arch.provenance.generator = "stretch";
  s.arch.provenance.params = {{"branches", static_cast<double>(options.branches.size())},
                              {"meetings", static_cast<double>(options.meetings.size())}};
  s.arch.provenance.seed = chain.provenance.seed;
  s.arch.provenance.orientation = "given";
  s.arch.staging = chain.staging;
  s.parts = b.unit;
  s.parts.push_back(0);  // input
  s.parts.push_back(0);  // output
  return s;
}

}  // namespace concnas::arch
