#include "concnas/arch/architecture.h"

#include <algorithm>

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

// Fills inputs, the common input shape and scaling blocks of `spec` from the shapes of
// its predecessors: smallest resolution and largest channel count among them.
template <typename ShapeOf>
void reconcile_inputs(VertexSpec& spec, const graph::Dag& dag, ShapeOf shape_of) {
  spec.inputs = dag.predecessors(spec.id);
  Shape target = shape_of(spec.inputs.front());
  for (int p : spec.inputs) {
    const Shape s = shape_of(p);
    target.channels = std::max(target.channels, s.channels);
    target.height = std::min(target.height, s.height);
    target.width = std::min(target.width, s.width);
  }
  spec.in = target;
  spec.scaling.clear();
  for (int p : spec.inputs) {
    const Shape s = shape_of(p);
    if (s == target) continue;
    spec.scaling.push_back({p, s, s.height != target.height || s.width != target.width,
                            s.channels != target.channels});
  }
}

// The one place shapes are computed; `decide(v, eligible)` supplies staging decisions.
template <typename Decide>
Architecture assemble(graph::Dag dag, const NetworkOptions& options, Decide decide) {
  options.sanity_check();
  Architecture arch;
  arch.network = options;
  arch.dag = std::move(dag);
  const auto& g = arch.dag;
  arch.vertices.resize(g.num_compute());
  const Shape stem = arch.stem_shape();
  auto shape_of = [&](int v) { return v == g.input() ? stem : arch.vertices[v].out; };
  for (int v : g.topological_order()) {
    if (!g.is_compute(v)) continue;
    VertexSpec& spec = arch.vertices[v];
    spec.id = v;
    reconcile_inputs(spec, g, shape_of);
    spec.staged = decide(v, can_stage(spec.in, options));
    spec.out = spec.staged ? staged_shape(spec.in, options) : spec.in;
  }
  arch.output.id = g.output();
  reconcile_inputs(arch.output, g, shape_of);
  arch.output.out = arch.output.in;
  return arch;
}

}  // namespace

Architecture build_architecture(graph::Dag dag, const NetworkOptions& options,
                                const StagingPolicy& policy, Rng& rng) {
  return assemble(std::move(dag), options,
                  [&](int, bool eligible) { return policy.decide(eligible, rng); });
}

Architecture rebuild_architecture(graph::Dag dag, const NetworkOptions& options,
                                  const std::vector<bool>& staged) {
  CONCNAS_CHECK(static_cast<int>(staged.size()) == dag.num_compute(),
                "{} staging decisions for {} compute vertices", staged.size(), dag.num_compute());
  return assemble(std::move(dag), options, [&](int v, bool eligible) {
    CONCNAS_CHECK(eligible || !staged[v],
                  "vertex {} is marked staged but cannot stage (channel limit or resolution)",
                  v);
    return static_cast<bool>(staged[v]);
  });
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
  const auto& generator = generators.get(options.generator);
  // Validate everything before generating, so bad options fail fast and alike.
  options.staging.sanity_check();
  options.network.sanity_check();
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
