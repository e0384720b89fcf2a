#include "concnas/arch/dot.h"

#include <fmt/format.h>

#include "concnas/common/error.h"

namespace concnas::arch {
namespace {

// A qualitative palette readable on white; units beyond it cycle.
constexpr const char* kPalette[] = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3",
                                    "#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd",
                                    "#ccebc5", "#ffed6f"};

std::string shape_text(const Shape& s) { return fmt::format("{}ch {}x{}", s.channels, s.height, s.width); }

}  // namespace

std::string to_dot(const Architecture& arch, const DotOptions& options) {
  const auto& g = arch.dag;
  CONCNAS_CHECK(options.unit_of.empty() ||
                    static_cast<int>(options.unit_of.size()) == g.num_compute(),
                "DOT colouring has {} units for {} compute vertices", options.unit_of.size(),
                g.num_compute());
  std::string out = fmt::format("digraph \"{}\" {{\n", arch.name);
  out += "  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fillcolor=white, "
         "fontname=\"Helvetica\", fontsize=10];\n  edge [color=\"#555555\"];\n";
  out += fmt::format("  n{} [label=\"input\\n{}\", shape=ellipse, fillcolor=\"#eeeeee\"];\n",
                     g.input(), shape_text(arch.stem_shape()));
  for (const auto& v : arch.vertices) {
    std::string attrs;
    if (!options.unit_of.empty()) {
      const int unit = options.unit_of[v.id];
      attrs += fmt::format(", fillcolor=\"{}\"", kPalette[unit % std::size(kPalette)]);
    }
    if (v.staged) attrs += ", penwidth=2";
    out += fmt::format("  n{} [label=\"v{}{}\\n{}\"{}];\n", v.id, v.id,
                       v.staged ? " /2" : "", shape_text(v.out), attrs);
  }
  out += fmt::format("  n{} [label=\"output\\n{}\", shape=ellipse, fillcolor=\"#eeeeee\"];\n",
                     g.output(), shape_text(arch.output.out));
  auto spec_of = [&](int v) -> const VertexSpec& {
    return v == g.output() ? arch.output : arch.vertices[v];
  };
  for (int v : g.topological_order())
    for (int w : g.successors(v))
      out += fmt::format("  n{} -> n{}{};\n", v, w,
                         spec_of(w).scaling_from(v) ? " [style=dashed, label=\"scale\", fontsize=8]" : "");
  out += "}\n";
  return out;
}

}  // namespace concnas::arch
