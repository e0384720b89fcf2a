#include "concnas/arch/dot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>
#include <vector>

#include "concnas/common/error.h"

namespace concnas::arch {
namespace {

// A qualitative palette readable on white; units beyond it cycle.
constexpr const char* kPalette[] = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3",
                                    "#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd",
                                    "#ccebc5", "#ffed6f"};

std::string shape_text(const Shape& s) { return fmt::format("{}ch {}x{}", s.channels, s.height, s.width); }

// An edge's attributes: dashed with "scale" through a scaling block; "share 0.5" and/or
// "fp16" where it carries part of the tensor or rounds it (format version 2).
std::string edge_attributes(const VertexSpec& consumer, int from) {
  std::vector<std::string> label;
  for (std::size_t i = 0; i < consumer.inputs.size(); ++i) {
    if (consumer.inputs[i] != from) continue;
    if (consumer.edges[i].share < 1) label.push_back("share " + format_number(consumer.edges[i].share));
    if (consumer.edges[i].dtype == Dtype::kFp16) label.push_back("fp16");
  }
  const bool scaled = consumer.scaling_from(from) != nullptr;
  if (scaled) label.insert(label.begin(), "scale");
  if (label.empty()) return "";
  return fmt::format(" [{}label=\"{}\", fontsize=8]", scaled ? "style=dashed, " : "", fmt::join(label, ", "));
}

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
    out += fmt::format("  n{} [label=\"v{}{}{}\\n{}\"{}];\n", v.id, v.id, v.staged ? " /2" : "",
                       v.merge == Merge::kConcat ? " cat" : "", shape_text(v.out), attrs);
  }
  out += fmt::format("  n{} [label=\"output\\n{}\", shape=ellipse, fillcolor=\"#eeeeee\"];\n",
                     g.output(), shape_text(arch.output.out));
  auto spec_of = [&](int v) -> const VertexSpec& {
    return v == g.output() ? arch.output : arch.vertices[v];
  };
  for (int v : g.topological_order())
    for (int w : g.successors(v))
      out += fmt::format("  n{} -> n{}{};\n", v, w, edge_attributes(spec_of(w), v));
  out += "}\n";
  return out;
}

}  // namespace concnas::arch
