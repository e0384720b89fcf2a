#include "concnas/arch/architecture.h"

#include <algorithm>
#include <cmath>

#include "concnas/arch/families.h"
#include "concnas/common/error.h"

namespace concnas::arch {

Aggregation parse_aggregation(const std::string& name) {
  if (name == "randwire") return Aggregation::kRandWire;
  if (name == "sigmoid_inputs") return Aggregation::kSigmoidInputs;
  throw InvalidArgument(
      fmt::format("unknown aggregation '{}' (known: randwire, sigmoid_inputs)", name));
}

std::string to_string(Aggregation aggregation) {
  return aggregation == Aggregation::kRandWire ? "randwire" : "sigmoid_inputs";
}

Merge parse_merge(const std::string& name) {
  if (name == "sum") return Merge::kSum;
  if (name == "concat") return Merge::kConcat;
  throw InvalidArgument(fmt::format("unknown merge '{}' (known: sum, concat)", name));
}

std::string to_string(Merge merge) { return merge == Merge::kSum ? "sum" : "concat"; }

Dtype parse_dtype(const std::string& name) {
  if (name == "fp32") return Dtype::kFp32;
  if (name == "fp16") return Dtype::kFp16;
  throw InvalidArgument(fmt::format("unknown dtype '{}' (known: fp32, fp16)", name));
}

std::string to_string(Dtype dtype) { return dtype == Dtype::kFp32 ? "fp32" : "fp16"; }

int carried_channels(int channels, double share) {
  // A share written as a decimal (0.3 of 30) must not round up past its exact value.
  const double c = std::ceil(share * channels - 1e-9);
  return std::clamp(static_cast<int>(c), 1, channels);
}

bool VertexDesign::is_default() const {
  for (const auto& [from, e] : edges)
    if (!e.is_default()) return false;
  return merge == Merge::kSum && width == 1.0 && channels == 0;
}

VertexDesign VertexSpec::design() const {
  VertexDesign d;
  d.merge = merge;
  d.width = width;
  d.channels = channels;
  for (std::size_t i = 0; i < inputs.size(); ++i)
    if (!edges[i].is_default()) d.edges[inputs[i]] = edges[i];
  return d;
}

void NetworkOptions::sanity_check() const {
  CONCNAS_CHECK(input.channels >= 1 && input.height >= 1 && input.width >= 1,
                "input shape {}x{}x{} must be positive", input.channels, input.height,
                input.width);
  CONCNAS_CHECK(input.channels <= kMaxChannels && input.height <= kMaxSide && input.width <= kMaxSide &&
                    static_cast<long long>(input.channels) * input.height * input.width <= kMaxImageElements,
                "input shape {}x{}x{} is too large (sides and channels up to {}, at most {} elements)",
                input.channels, input.height, input.width, kMaxSide, kMaxImageElements);
  CONCNAS_CHECK(stem_channels >= 1, "stem channels must be positive, got {}", stem_channels);
  CONCNAS_CHECK(channel_limit <= kMaxChannels && stem_channels <= kMaxChannels,
                "channels are at most {}, got stem {} and limit {}", kMaxChannels, stem_channels, channel_limit);
  CONCNAS_CHECK(classes <= 1'000'000, "at most 1000000 classes, got {}", classes);
  CONCNAS_CHECK(channel_limit >= stem_channels,
                "channel limit {} must be at least the stem channels ({})", channel_limit,
                stem_channels);
  CONCNAS_CHECK(min_resolution >= 1, "minimum resolution must be positive, got {}",
                min_resolution);
  CONCNAS_CHECK(classes >= 2, "a classifier needs at least 2 classes, got {}", classes);
}

bool can_stage(const Shape& in, const NetworkOptions& options) {
  // A 3x3 conv with stride 2 and padding 1 gives ceil(x / 2).
  return in.channels < options.channel_limit && (in.height + 1) / 2 >= options.min_resolution &&
         (in.width + 1) / 2 >= options.min_resolution;
}

Shape staged_shape(const Shape& in, const NetworkOptions& options) {
  return {std::min(2 * in.channels, options.channel_limit), (in.height + 1) / 2,
          (in.width + 1) / 2};
}

Shape Architecture::stem_shape() const {
  return {network.stem_channels, network.input.height, network.input.width};
}

Shape Architecture::shape_of(int vertex) const {
  if (vertex == dag.input()) return stem_shape();
  if (vertex == dag.output()) return output.out;
  return vertices.at(vertex).out;
}

Shape Architecture::carried_shape(const VertexSpec& spec, std::size_t i) const {
  Shape s = shape_of(spec.inputs[i]);
  s.channels = spec.carried(i, s.channels);
  return s;
}

int Architecture::first_channel(const VertexSpec& spec, std::size_t i) const {
  int first = 0;
  for (std::size_t j = 0; j < i; ++j) first += carried_shape(spec, j).channels;
  return first;
}

Design Architecture::design() const {
  Design d;
  for (const auto& v : vertices) d.push_back(v.design());
  d.push_back(output.design());
  for (const auto& v : d)
    if (!v.is_default()) return d;
  return {};
}

int Architecture::num_staged() const {
  return static_cast<int>(
      std::count_if(vertices.begin(), vertices.end(), [](const auto& v) { return v.staged; }));
}

bool Architecture::operator==(const Architecture& o) const {
  return name == o.name && provenance == o.provenance && staging.policy == o.staging.policy &&
         staging.probability == o.staging.probability && network.input == o.network.input &&
         network.stem_channels == o.network.stem_channels &&
         network.channel_limit == o.network.channel_limit &&
         network.min_resolution == o.network.min_resolution &&
         network.classes == o.network.classes && network.aggregation == o.network.aggregation &&
         dag == o.dag && vertices == o.vertices && output == o.output;
}

namespace {

// The design of vertex `id` (compute vertices by id, the output vertex last), checked
// against its inputs.
VertexDesign design_of(const Design& design, const graph::Dag& dag, int id) {
  if (design.empty()) return {};
  CONCNAS_CHECK(static_cast<int>(design.size()) == dag.num_compute() + 1,
                "a design has one entry per compute vertex and one for the output ({}), not {}",
                dag.num_compute() + 1, design.size());
  const VertexDesign& d = design[id == dag.output() ? dag.num_compute() : id];
  const std::string what = id == dag.output() ? "the output vertex" : fmt::format("vertex {}", id);
  CONCNAS_CHECK(std::isfinite(d.width) && d.width > 0 && d.width <= kMaxChannels,
                "{}: width {} must be a positive multiplier", what, d.width);
  CONCNAS_CHECK(d.channels >= 0 && d.channels <= kMaxChannels, "{}: channels {} outside 0..{}", what,
                d.channels, kMaxChannels);
  CONCNAS_CHECK(id != dag.output() || (d.width == 1.0 && d.channels == 0),
                "the output vertex has no convolution: it takes no width or channels");
  const auto preds = dag.predecessors(id);
  for (const auto& [from, e] : d.edges) {
    CONCNAS_CHECK(std::find(preds.begin(), preds.end(), from) != preds.end(), "{}: an edge from {}, which is not an input",
                  what, from);
    CONCNAS_CHECK(e.share > 0 && e.share <= 1, "{}: the edge from {} has share {}; shares lie in (0, 1]", what,
                  from, e.share);
  }
  return d;
}

// Fills inputs, edges, merge, the common input shape and the scaling blocks of `spec` from
// the shapes its inputs carry. Sum: smallest resolution and largest channel count among
// them. Concat: their one resolution and the sum of their channels.
template <typename ShapeOf>
void reconcile_inputs(VertexSpec& spec, const VertexDesign& d, const graph::Dag& dag, ShapeOf shape_of) {
  const std::string what = spec.id == dag.output() ? "the output vertex" : fmt::format("vertex {}", spec.id);
  spec.inputs = dag.predecessors(spec.id);
  spec.merge = d.merge;
  spec.edges.clear();
  std::vector<Shape> carried;
  for (int p : spec.inputs) {
    const auto it = d.edges.find(p);
    spec.edges.push_back(it == d.edges.end() ? EdgeSpec{} : it->second);
    Shape s = shape_of(p);
    s.channels = carried_channels(s.channels, spec.edges.back().share);
    carried.push_back(s);
  }
  Shape target = carried.front();
  if (spec.merge == Merge::kConcat) target.channels = 0;
  for (std::size_t i = 0; i < carried.size(); ++i) {
    const Shape& s = carried[i];
    if (spec.merge == Merge::kConcat) {
      CONCNAS_CHECK(s.height == target.height && s.width == target.width,
                    "{}: concat needs inputs of one resolution; {} gives {}x{}, {} gives {}x{}", what,
                    spec.inputs[0], target.height, target.width, spec.inputs[i], s.height, s.width);
      target.channels += s.channels;
      continue;
    }
    target.channels = std::max(target.channels, s.channels);
    target.height = std::min(target.height, s.height);
    target.width = std::min(target.width, s.width);
  }
  CONCNAS_CHECK(target.channels <= kMaxChannels, "{}: concat of {} channels, more than {}", what, target.channels,
                kMaxChannels);
  spec.in = target;
  spec.scaling.clear();
  if (spec.merge == Merge::kConcat) return;
  for (std::size_t i = 0; i < carried.size(); ++i) {
    const Shape& s = carried[i];
    if (s == target) continue;
    spec.scaling.push_back({spec.inputs[i], s, s.height != target.height || s.width != target.width,
                            s.channels != target.channels});
  }
}

// Version 1's channel count of every vertex (what staging and `width` go by): the largest
// among the inputs, doubled (up to the limit) when staged.
struct BaseChannels {
  std::vector<int> of;  // by DAG vertex
  int in(const graph::Dag& dag, int v) const {
    int c = 0;
    for (int p : dag.predecessors(v)) c = std::max(c, of[p]);
    return c;
  }
};

// The one place shapes are computed; `decide(v, eligible)` supplies staging decisions.
template <typename Decide>
Architecture assemble(graph::Dag dag, const NetworkOptions& options, Decide decide, const Design& design) {
  options.sanity_check();
  Architecture arch;
  arch.network = options;
  arch.dag = std::move(dag);
  const auto& g = arch.dag;
  arch.vertices.resize(g.num_compute());
  const Shape stem = arch.stem_shape();
  auto shape_of = [&](int v) { return v == g.input() ? stem : arch.vertices[v].out; };
  BaseChannels base{std::vector<int>(g.num_vertices(), 0)};
  base.of[g.input()] = stem.channels;
  for (int v : g.topological_order()) {
    if (!g.is_compute(v)) continue;
    VertexSpec& spec = arch.vertices[v];
    spec.id = v;
    const VertexDesign d = design_of(design, g, v);
    reconcile_inputs(spec, d, g, shape_of);
    const Shape base_in{base.in(g, v), spec.in.height, spec.in.width};
    spec.staged = decide(v, can_stage(base_in, options));
    const Shape base_out = spec.staged ? staged_shape(base_in, options) : base_in;
    base.of[v] = base_out.channels;
    spec.width = d.width;
    spec.channels = d.channels;
    const long wide = std::max(1L, std::lround(d.width * base_out.channels));
    CONCNAS_CHECK(d.channels > 0 || wide <= kMaxChannels, "vertex {}: width {} gives {} channels, more than {}", v,
                  d.width, wide, kMaxChannels);
    spec.out = {d.channels > 0 ? d.channels : static_cast<int>(wide), base_out.height, base_out.width};
  }
  arch.output.id = g.output();
  reconcile_inputs(arch.output, design_of(design, g, g.output()), g, shape_of);
  arch.output.out = arch.output.in;
  return arch;
}

}  // namespace

Architecture build_architecture(graph::Dag dag, const NetworkOptions& options,
                                const StagingPolicy& policy, Rng& rng, const Design& design) {
  return assemble(
      std::move(dag), options, [&](int, bool eligible) { return policy.decide(eligible, rng); }, design);
}

Architecture rebuild_architecture(graph::Dag dag, const NetworkOptions& options,
                                  const std::vector<bool>& staged, const Design& design) {
  CONCNAS_CHECK(static_cast<int>(staged.size()) == dag.num_compute(),
                "{} staging decisions for {} compute vertices", staged.size(), dag.num_compute());
  return assemble(std::move(dag), options, [&](int v, bool eligible) {
    CONCNAS_CHECK(eligible || !staged[v],
                  "vertex {} is marked staged but cannot stage (channel limit or resolution)",
                  v);
    return static_cast<bool>(staged[v]);
  }, design);
}

namespace {
constexpr std::uint64_t kStagingStream = 1;
}

Architecture architecture_from_dag(graph::Dag dag, Provenance provenance,
                                   const StagingOptions& staging, const NetworkOptions& network,
                                   const StagingRegistry& policies, std::string name) {
  const auto policy = policies.create(staging);
  Rng rng = Rng::derive(provenance.seed, kStagingStream);
  Architecture arch = build_architecture(std::move(dag), network, *policy, rng);
  arch.name = std::move(name);
  arch.provenance = std::move(provenance);
  arch.staging = staging;
  return arch;
}

Architecture generate_architecture(const GenerateOptions& options,
                                   const graph::GeneratorRegistry& generators,
                                   const StagingRegistry& policies) {
  // Validate everything before generating, so bad options fail fast and alike.
  options.staging.sanity_check();
  options.network.sanity_check();
  if (is_architecture_family(options.generator)) {
    Architecture a = family_architecture(options.generator, options.params, options.nodes, options.staging,
                                         options.network, options.seed);
    if (!options.name.empty()) a.name = options.name;
    return a;
  }
  const auto& generator = generators.get(options.generator);
  CONCNAS_CHECK(options.nodes <= graph::kMaxVertices, "nodes: at most {} vertices, got {}", graph::kMaxVertices,
                options.nodes);
  auto graph = generator.generate(options.nodes, options.params, options.seed);
  Provenance provenance;
  provenance.generator = generator.name();
  provenance.params = generator.resolve(options.params);
  provenance.seed = options.seed;
  provenance.orientation = graph::to_string(options.orientation);
  std::string name = options.name.empty()
                         ? fmt::format("{}-n{}-s{}", options.generator, options.nodes, options.seed)
                         : options.name;
  return architecture_from_dag(graph::orient(graph, options.orientation), std::move(provenance),
                               options.staging, options.network, policies, std::move(name));
}

}  // namespace concnas::arch
