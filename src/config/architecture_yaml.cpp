#include "concnas/config/architecture_yaml.h"

#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "yaml_reader.h"

namespace concnas::config {
namespace {

using detail::Reader;
using arch::Architecture;
using arch::Shape;
using arch::VertexSpec;

// ---------------------------------------------------------------- writing

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string shape_yaml(const Shape& s) {
  return fmt::format("[{}, {}, {}]", s.channels, s.height, s.width);
}

std::string ids_yaml(const std::vector<int>& ids) { return fmt::format("[{}]", fmt::join(ids, ", ")); }

std::string scaling_yaml(const std::vector<arch::ScalingBlock>& blocks) {
  std::vector<std::string> items;
  for (const auto& b : blocks)
    items.push_back(fmt::format("{{from: {}, pool: {}, project: {}}}", b.from, b.pool, b.project));
  return fmt::format("[{}]", fmt::join(items, ", "));
}

// Version 2's keys of a vertex entry, each only where it differs from version 1's network.
std::string design_yaml(const VertexSpec& v) {
  std::string y;
  if (v.merge != arch::Merge::kSum) y += fmt::format(", merge: {}", arch::to_string(v.merge));
  if (v.width != 1.0) y += fmt::format(", width: {}", format_number(v.width));
  if (v.channels != 0) y += fmt::format(", channels: {}", v.channels);
  std::vector<std::string> edges;
  for (std::size_t i = 0; i < v.inputs.size(); ++i)
    if (!v.edges[i].is_default())
      edges.push_back(fmt::format("{{from: {}, share: {}, dtype: {}}}", v.inputs[i], format_number(v.edges[i].share),
                                  arch::to_string(v.edges[i].dtype)));
  if (!edges.empty()) y += fmt::format(", edges: [{}]", fmt::join(edges, ", "));
  return y;
}

}  // namespace

std::string architecture_to_yaml(const Architecture& a) {
  std::string y;
  y += "# concnas architecture file (docs/architecture_format.md)\n";
  // The lowest version that expresses the network: version 1 files stay byte for byte.
  const bool v2 = a.needs_version2();
  y += fmt::format("format: concnas-architecture\nversion: {}\n", v2 ? kArchitectureFormatVersion : 1);
  y += fmt::format("name: {}\n", quoted(a.name));
  y += "source:\n";
  y += fmt::format("  generator: {}\n", quoted(a.provenance.generator));
  std::vector<std::string> params;
  for (const auto& [k, v] : a.provenance.params.values())
    params.push_back(fmt::format("{}: {}", k, format_number(v)));
  y += fmt::format("  params: {{{}}}\n", fmt::join(params, ", "));
  y += fmt::format("  seed: {}\n", a.provenance.seed);
  y += fmt::format("  orientation: {}\n", quoted(a.provenance.orientation));
  if (!a.provenance.edge_file.empty())
    y += fmt::format("  edge_file: {}\n", quoted(a.provenance.edge_file));
  y += "staging:\n";
  y += fmt::format("  policy: {}\n", quoted(a.staging.policy));
  y += fmt::format("  probability: {}\n", format_number(a.staging.probability));
  const auto& n = a.network;
  y += "network:\n";
  y += fmt::format("  input: {}\n", shape_yaml(n.input));
  y += fmt::format("  stem_channels: {}\n", n.stem_channels);
  y += fmt::format("  channel_limit: {}\n", n.channel_limit);
  y += fmt::format("  min_resolution: {}\n", n.min_resolution);
  y += fmt::format("  classes: {}\n", n.classes);
  y += fmt::format("  aggregation: {}\n", arch::to_string(n.aggregation));
  y += "dag:\n";
  y += fmt::format("  nodes: {}\n", a.dag.num_compute());
  std::vector<std::string> edges;
  for (const auto& e : a.dag.compute_arcs()) edges.push_back(fmt::format("[{}, {}]", e.from, e.to));
  y += fmt::format("  edges: [{}]\n", fmt::join(edges, ", "));
  y += fmt::format("  input_vertex: {}\n  output_vertex: {}\n", a.dag.input(), a.dag.output());
  y += "vertices:\n";
  for (const auto& v : a.vertices)
    y += fmt::format("  - {{id: {}, inputs: {}, staged: {}{}, in: {}, out: {}, scaling: {}}}\n",
                     v.id, ids_yaml(v.inputs), v.staged, design_yaml(v), shape_yaml(v.in), shape_yaml(v.out),
                     scaling_yaml(v.scaling));
  y += fmt::format("output: {{inputs: {}{}, in: {}, scaling: {}}}\n", ids_yaml(a.output.inputs),
                   design_yaml(a.output), shape_yaml(a.output.in), scaling_yaml(a.output.scaling));
  return y;
}

namespace {

// ---------------------------------------------------------------- reading

// The document is a mapping of the known sections, of this format and version.
// Returns the file's version.
int check_header(const Reader& r, const YAML::Node& root, const std::string& source) {
  if (!root.IsMap()) throw ParseError(source, 0, "not an architecture file (expected a mapping)");
  r.check_map(root, "", {"format", "version", "name", "source", "staging", "network", "dag",
                         "vertices", "output"});
  if (r.string(r.need(root, "format", ""), "format") != "concnas-architecture")
    r.fail(root["format"], "'format' must be 'concnas-architecture'");
  const int version = r.integer(r.need(root, "version", ""), "version");
  if (version < 1 || version > kArchitectureFormatVersion)
    r.fail(root["version"], fmt::format("unsupported version {} (this build reads versions 1 to {})",
                                        version, kArchitectureFormatVersion));
  return version;
}

arch::Provenance read_source(const Reader& r, const YAML::Node& root) {
  const auto src = r.need(root, "source", "");
  r.check_map(src, "source", {"generator", "params", "seed", "orientation", "edge_file"});
  arch::Provenance prov;
  prov.generator = r.string(r.need(src, "generator", "source"), "source.generator");
  const auto params = r.need(src, "params", "source");
  if (!params.IsMap()) r.fail(params, "'source.params' must be a mapping");
  for (const auto& kv : params) {
    const auto name = r.key(kv.first, "source.params");
    prov.params.set(name, r.number(kv.second, "source.params." + name));
  }
  prov.seed = r.scalar<std::uint64_t>(r.need(src, "seed", "source"), "source.seed",
                                      "a non-negative integer");
  prov.orientation = r.string(r.need(src, "orientation", "source"), "source.orientation");
  // Edge files and baselines are directed already ("given"); generated graphs name their
  // orientation.
  if (prov.orientation != "given")
    r.located(src["orientation"], [&] { return graph::parse_orientation(prov.orientation); });
  if (src["edge_file"]) prov.edge_file = r.string(src["edge_file"], "source.edge_file");
  return prov;
}

arch::StagingOptions read_staging(const Reader& r, const YAML::Node& root) {
  const auto st = r.need(root, "staging", "");
  r.check_map(st, "staging", {"policy", "probability"});
  arch::StagingOptions staging;
  staging.policy = r.string(r.need(st, "policy", "staging"), "staging.policy");
  // "stages": staged at fixed stage boundaries (the RandWire baseline, arch/baselines.h).
  if (staging.policy != "uniform" && staging.policy != "greedy" &&
      staging.policy != "probabilistic" && staging.policy != "stages")
    r.fail(st["policy"], fmt::format("unknown staging policy '{}'", staging.policy));
  staging.probability = r.number(r.need(st, "probability", "staging"), "staging.probability");
  r.located(st["probability"], [&] { staging.sanity_check(); });
  return staging;
}

arch::NetworkOptions read_network(const Reader& r, const YAML::Node& root) {
  const auto nw = r.need(root, "network", "");
  r.check_map(nw, "network", {"input", "stem_channels", "channel_limit", "min_resolution",
                              "classes", "aggregation"});
  arch::NetworkOptions network;
  network.input = r.shape(r.need(nw, "input", "network"), "network.input");
  network.stem_channels = r.integer(r.need(nw, "stem_channels", "network"), "network.stem_channels");
  network.channel_limit = r.integer(r.need(nw, "channel_limit", "network"), "network.channel_limit");
  network.min_resolution = r.integer(r.need(nw, "min_resolution", "network"), "network.min_resolution");
  network.classes = r.integer(r.need(nw, "classes", "network"), "network.classes");
  const auto agg = r.need(nw, "aggregation", "network");
  network.aggregation =
      r.located(agg, [&] { return arch::parse_aggregation(r.string(agg, "network.aggregation")); });
  r.located(nw, [&] { network.sanity_check(); });
  return network;
}

graph::Dag read_dag(const Reader& r, const YAML::Node& root) {
  const auto dg = r.need(root, "dag", "");
  r.check_map(dg, "dag", {"nodes", "edges", "input_vertex", "output_vertex"});
  const int nodes = r.integer(r.need(dg, "nodes", "dag"), "dag.nodes");
  const auto edges = r.need(dg, "edges", "dag");
  if (!edges.IsSequence()) r.fail(edges, "'dag.edges' must be a list of [from, to] pairs");
  std::vector<graph::Arc> arcs;
  for (const auto& e : edges) {
    const auto pair = r.ids(e, "dag.edges");
    if (pair.size() != 2) r.fail(e, "each of 'dag.edges' must be a [from, to] pair");
    arcs.push_back({pair[0], pair[1]});
  }
  graph::Dag dag = r.located(edges, [&] { return graph::Dag::from_compute_edges(nodes, arcs); });
  for (const char* key : {"input_vertex", "output_vertex"}) {
    const int expected = std::string(key) == "input_vertex" ? dag.input() : dag.output();
    if (dg[key] && r.integer(dg[key], std::string("dag.") + key) != expected)
      r.fail(dg[key], fmt::format("'dag.{}' must be {} (nodes {})", key, expected, nodes));
  }
  return dag;
}

// Version 2's keys of a vertex entry (or of 'output'): merge, width, channels, edges.
arch::VertexDesign read_design(const Reader& r, const YAML::Node& v, const std::string& what) {
  arch::VertexDesign d;
  if (const auto m = v["merge"])
    d.merge = r.located(m, [&] { return arch::parse_merge(r.string(m, what + ".merge")); });
  if (const auto w = v["width"]) {
    d.width = r.number(w, what + ".width");
    if (!(d.width > 0 && d.width <= arch::kMaxChannels))
      r.fail(w, fmt::format("'{}.width' must be a positive multiplier, got {}", what, format_number(d.width)));
  }
  if (const auto c = v["channels"]) {
    d.channels = r.integer(c, what + ".channels");
    if (d.channels < 1 || d.channels > arch::kMaxChannels)
      r.fail(c, fmt::format("'{}.channels' must lie in 1..{}, got {}", what, arch::kMaxChannels, d.channels));
  }
  const auto edges = v["edges"];
  if (!edges) return d;
  if (!edges.IsSequence()) r.fail(edges, fmt::format("'{}.edges' must be a list", what));
  for (const auto& e : edges) {
    r.check_map(e, what + ".edges[]", {"from", "share", "dtype"});
    const int from = r.integer(r.need(e, "from", what + ".edges[]"), what + ".edges[].from");
    if (d.edges.count(from)) r.fail(e["from"], fmt::format("{}: the edge from {} is listed twice", what, from));
    arch::EdgeSpec spec;
    if (const auto sh = e["share"]) {
      spec.share = r.number(sh, what + ".edges[].share");
      if (!(spec.share > 0 && spec.share <= 1))
        r.fail(sh, fmt::format("'{}.edges[].share' must lie in (0, 1], got {}", what, format_number(spec.share)));
    }
    if (const auto dt = e["dtype"])
      spec.dtype = r.located(dt, [&] { return arch::parse_dtype(r.string(dt, what + ".edges[].dtype")); });
    d.edges[from] = spec;
  }
  return d;
}

// The 'vertices' list: each compute vertex once, by id.
struct VertexEntries {
  std::vector<YAML::Node> node;  // by vertex id
  std::vector<bool> staged;
  arch::Design design;           // by vertex id, then the output vertex
};

// A version 1 file names none of version 2's keys.
void refuse_version2_keys(const Reader& r, const YAML::Node& v, const std::string& where) {
  if (!v.IsMap()) return;
  for (const char* key : {"merge", "width", "channels", "edges"})
    if (v[key]) r.fail(v[key], fmt::format("'{}.{}' needs 'version: 2'", where, key));
}

const std::vector<std::string> kVersion2VertexKeys{"id", "inputs", "staged", "merge", "width", "channels",
                                                   "edges", "in", "out", "scaling"};

VertexEntries read_vertices(const Reader& r, const YAML::Node& root, int nodes, int version) {
  const auto vs = r.need(root, "vertices", "");
  if (!vs.IsSequence()) r.fail(vs, "'vertices' must be a list");
  VertexEntries entries{std::vector<YAML::Node>(nodes), std::vector<bool>(nodes, false),
                        arch::Design(nodes + 1)};
  std::vector<bool> listed(nodes, false);
  for (const auto& v : vs) {
    if (version < 2) refuse_version2_keys(r, v, "vertices[]");
    r.check_map(v, "vertices[]", kVersion2VertexKeys);
    const int id = r.integer(r.need(v, "id", "vertices[]"), "vertices[].id");
    if (id < 0 || id >= nodes)
      r.fail(v["id"], fmt::format("vertex id {} is outside 0..{}", id, nodes - 1));
    if (listed[id]) r.fail(v["id"], fmt::format("vertex {} is listed twice", id));
    listed[id] = true;
    entries.node[id].reset(v);  // operator= would assign into the node, not rebind it
    entries.staged[id] = r.boolean(r.need(v, "staged", "vertices[]"), "vertices[].staged");
    entries.design[id] = read_design(r, v, fmt::format("vertex {}", id));
  }
  for (int id = 0; id < nodes; ++id)
    if (!listed[id]) r.fail(vs, fmt::format("vertex {} is missing from 'vertices'", id));
  return entries;
}

// A spec's recorded scaling blocks, with their shapes taken from the rebuilt network.
std::vector<arch::ScalingBlock> read_scaling(const Reader& r, const Architecture& a, const VertexSpec& spec,
                                             const YAML::Node& sc, const std::string& what) {
  // The shape the edge from `from` carries (the producer's whole shape if it is no input).
  auto carried = [&](int from) {
    for (std::size_t i = 0; i < spec.inputs.size(); ++i)
      if (spec.inputs[i] == from) return a.carried_shape(spec, i);
    return a.shape_of(from >= 0 && from < a.dag.num_vertices() ? from : 0);
  };
  if (!sc.IsSequence()) r.fail(sc, fmt::format("{}: 'scaling' must be a list", what));
  std::vector<arch::ScalingBlock> blocks;
  for (const auto& b : sc) {
    r.check_map(b, what + ".scaling[]", {"from", "pool", "project"});
    const int from = r.integer(r.need(b, "from", what + ".scaling[]"), "from");
    blocks.push_back({from, carried(from),
                      r.boolean(r.need(b, "pool", what + ".scaling[]"), "pool"),
                      r.boolean(r.need(b, "project", what + ".scaling[]"), "project")});
  }
  return blocks;
}

// The recorded shapes and scaling blocks must agree with the rebuild.
void check_spec(const Reader& r, const Architecture& a, const YAML::Node& node,
                const VertexSpec& spec, const std::string& what, bool has_out) {
  if (r.ids(r.need(node, "inputs", what), what + ".inputs") != spec.inputs)
    r.fail(node["inputs"], fmt::format("{}: 'inputs' disagrees with the DAG (expected {})",
                                       what, ids_yaml(spec.inputs)));
  if (r.shape(r.need(node, "in", what), what + ".in") != spec.in)
    r.fail(node["in"], fmt::format("{}: 'in' disagrees with the rebuilt network (expected {})",
                                   what, shape_yaml(spec.in)));
  if (has_out && r.shape(r.need(node, "out", what), what + ".out") != spec.out)
    r.fail(node["out"], fmt::format("{}: 'out' disagrees with the rebuilt network (expected {})",
                                    what, shape_yaml(spec.out)));
  const auto sc = r.need(node, "scaling", what);
  if (read_scaling(r, a, spec, sc, what) != spec.scaling)
    r.fail(sc, fmt::format("{}: 'scaling' disagrees with the rebuilt network (expected {})",
                           what, scaling_yaml(spec.scaling)));
}

// The key of a vertex entry a design error from the rebuild concerns.
YAML::Node key_of_error(const YAML::Node& node, const std::string& what) {
  for (const char* key : {"edge", "width", "concat"}) {
    if (what.find(key) == std::string::npos) continue;
    const char* name = std::string(key) == "edge" ? "edges" : std::string(key) == "concat" ? "merge" : key;
    if (node[name]) return node[name];
  }
  return node;
}

// The rebuild, its design errors located at the vertex (or output) entry and key they concern.
Architecture rebuild(const Reader& r, const YAML::Node& root, const graph::Dag& dag,
                     const arch::NetworkOptions& network, const VertexEntries& vertices) {
  try {
    return arch::rebuild_architecture(dag, network, vertices.staged, vertices.design);
  } catch (const InvalidArgument& e) {
    const std::string what = e.what();
    int id = -1, end = 0;
    if (std::sscanf(what.c_str(), "vertex %d%n", &id, &end) == 1 && what[end] == ':' && id >= 0 &&
        id < dag.num_compute())
      r.fail(key_of_error(vertices.node[id], what), what);
    if (what.rfind("the output", 0) == 0) r.fail(key_of_error(root["output"], what), what);
    r.fail(root["vertices"], what);
  }
}

}  // namespace

Architecture architecture_from_yaml(const std::string& text, const std::string& source) {
  Reader r(source);
  const YAML::Node root = detail::load_yaml(text, source);
  const int version = check_header(r, root, source);
  arch::Provenance prov = read_source(r, root);
  const arch::StagingOptions staging = read_staging(r, root);
  const arch::NetworkOptions network = read_network(r, root);
  const graph::Dag dag = read_dag(r, root);
  const int nodes = dag.num_compute();
  VertexEntries vertices = read_vertices(r, root, nodes, version);
  const auto out = r.need(root, "output", "");
  if (version < 2) refuse_version2_keys(r, out, "output");
  r.check_map(out, "output", {"inputs", "merge", "edges", "in", "scaling"});
  vertices.design[nodes] = read_design(r, out, "output");
  Architecture a = rebuild(r, root, dag, network, vertices);
  for (int id = 0; id < nodes; ++id)
    check_spec(r, a, vertices.node[id], a.vertices[id], fmt::format("vertex {}", id), true);
  check_spec(r, a, out, a.output, "output", false);

  a.name = r.string(r.need(root, "name", ""), "name");
  a.provenance = std::move(prov);
  a.staging = staging;
  return a;
}

void save_architecture(const Architecture& arch, const std::string& path) {
  write_file_atomic(path, architecture_to_yaml(arch));
}

Architecture load_architecture(const std::string& path) {
  return architecture_from_yaml(read_file(path), path);
}

}  // namespace concnas::config
