#pragma once
/// \file
/// A concrete network architecture: a DAG plus, per compute vertex, its input and output
/// tensor shapes, whether it stages, and the scaling blocks that reconcile its inputs.
///
///     concnas::arch::GenerateOptions options;
///     options.generator = "dp";
///     options.nodes = 40;
///     options.seed = 7;
///     auto arch = concnas::arch::generate_architecture(options, generators, policies);
///     arch.vertices[3].out;  // Shape{32, 14, 14}
///
/// Network (docs/generators.md, "From DAG to network"): a stem (3x3 conv + BatchNorm) makes
/// the input vertex's tensor; each compute vertex aggregates its inputs (weighted sum),
/// then ReLU -> 3x3 depthwise conv (stride 2 when staged) -> 1x1 pointwise conv ->
/// BatchNorm; the output vertex averages the sinks; the head is global average pooling + a
/// linear classifier. When a vertex's inputs differ in shape, a scaling block per differing
/// input max-pools it to the smallest resolution and projects it with a 1x1 conv to the
/// largest channel count.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "concnas/arch/staging.h"
#include "concnas/common/param_map.h"
#include "concnas/graph/dag.h"
#include "concnas/graph/generator.h"
#include "concnas/graph/orientation.h"

namespace concnas::arch {

/// Bounds on sizes a network may have, so that no element count, FLOP count or index
/// overflows: image side and channels up to 65,536, an image up to 2^26 elements.
inline constexpr int kMaxSide = 65536;
inline constexpr int kMaxChannels = 65536;
inline constexpr long long kMaxImageElements = 1LL << 26;


/// A tensor shape without the batch dimension.
struct Shape {
  int channels = 0;
  int height = 0;
  int width = 0;
  std::int64_t elements() const {
    return static_cast<std::int64_t>(channels) * height * width;
  }
  bool operator==(const Shape& o) const {
    return channels == o.channels && height == o.height && width == o.width;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
};

/// How a compute vertex combines its inputs.
enum class Aggregation {
  kRandWire,        ///< sum_i sigmoid(w_i) * x_i (RandWire; the default)
  kSigmoidInputs,   ///< sum_i w_i * sigmoid(x_i) (as the EDGE'23 paper's figure reads)
};
/// "randwire" / "sigmoid_inputs"; throws `InvalidArgument` on anything else.
Aggregation parse_aggregation(const std::string& name);
std::string to_string(Aggregation aggregation);

/// How a vertex combines its inputs (architecture format version 2; docs/architecture_format.md).
enum class Merge {
  kSum,     ///< bring every input to one shape and add them up (the aggregation; version 1)
  kConcat,  ///< concatenate the inputs' channels; they must share one resolution
};
/// "sum" / "concat"; throws `InvalidArgument` on anything else.
Merge parse_merge(const std::string& name);
std::string to_string(Merge merge);

/// The element type an edge's tensor travels in.
enum class Dtype { kFp32, kFp16 };
/// "fp32" / "fp16"; throws `InvalidArgument` on anything else.
Dtype parse_dtype(const std::string& name);
std::string to_string(Dtype dtype);
inline int bytes_of(Dtype dtype) { return dtype == Dtype::kFp16 ? 2 : 4; }

/// What one edge carries: the first ceil(share * C) channels of the producer's C, rounded to
/// `dtype` on the way (an fp16 edge is the same network wherever the two vertices run).
struct EdgeSpec {
  double share = 1.0;
  Dtype dtype = Dtype::kFp32;
  bool is_default() const { return share == 1.0 && dtype == Dtype::kFp32; }
  bool operator==(const EdgeSpec& o) const { return share == o.share && dtype == o.dtype; }
};
/// ceil(share * channels), at least 1 (shares are checked to lie in (0, 1]).
int carried_channels(int channels, double share);

/// What format version 2 lets a file choose per vertex; the defaults are version 1's network.
struct VertexDesign {
  Merge merge = Merge::kSum;
  /// Output channels as a multiple of what staging gives (version 1's channel count).
  double width = 1.0;
  /// An explicit output channel count; 0: from `width`.
  int channels = 0;
  /// Per producing vertex; an input not listed carries its whole tensor in fp32.
  std::map<int, EdgeSpec> edges;
  bool is_default() const;
};
/// One design per compute vertex (by id), then the output vertex's (which may set only its
/// merge and edges). Empty: every vertex at the defaults.
using Design = std::vector<VertexDesign>;

/// Everything about the network that is not the graph.
struct NetworkOptions {
  /// Input image shape (Fashion-MNIST: 1x28x28).
  Shape input{1, 28, 28};
  /// Channels made by the stem, i.e. of the input vertex's tensor.
  int stem_channels = 16;
  /// Staging stops once a vertex's channels reach this.
  int channel_limit = 128;
  /// Staging stops when halving would take the resolution below this.
  int min_resolution = 4;
  /// Number of classes of the head.
  int classes = 10;
  Aggregation aggregation = Aggregation::kRandWire;
  /// Throws `InvalidArgument` naming the first bad field.
  void sanity_check() const;
};

/// Where an architecture's DAG came from: enough to regenerate and to cite.
struct Provenance {
  /// Generator name, or "edges" for a user's edge file.
  std::string generator;
  ParamMap params;
  std::uint64_t seed = 0;
  std::string orientation = "dfs";
  /// The edge file, when generator == "edges".
  std::string edge_file;
  bool operator==(const Provenance& o) const {
    return generator == o.generator && params == o.params && seed == o.seed &&
           orientation == o.orientation && edge_file == o.edge_file;
  }
};

/// Brings one input of a vertex to the vertex's common input shape.
struct ScalingBlock {
  int from = 0;          ///< the producing vertex
  Shape from_shape;      ///< its output shape
  bool pool = false;     ///< max-pool to the target resolution
  bool project = false;  ///< 1x1 conv to the target channel count
  bool operator==(const ScalingBlock& o) const {
    return from == o.from && from_shape == o.from_shape && pool == o.pool && project == o.project;
  }
};

/// One vertex of the network (compute vertices, and the output vertex without a conv).
struct VertexSpec {
  int id = 0;
  std::vector<int> inputs;             ///< predecessors, ascending (input vertex included)
  std::vector<EdgeSpec> edges;         ///< per input, in the order of `inputs`
  Merge merge = Merge::kSum;
  Shape in;                            ///< common shape after scaling (sum) or the concatenation
  bool staged = false;                 ///< stride 2 and doubled channels
  double width = 1.0;                  ///< VertexDesign::width
  int channels = 0;                    ///< VertexDesign::channels (0: from `width`)
  Shape out;                           ///< output shape
  /// One per input whose carried shape differs from `in` (sum only); `from_shape` is the
  /// carried shape: the producer's resolution, the channels its edge carries.
  std::vector<ScalingBlock> scaling;
  /// The scaling block of the input from vertex `from`, or nullptr when it needs none.
  const ScalingBlock* scaling_from(int from) const {
    for (const auto& b : scaling)
      if (b.from == from) return &b;
    return nullptr;
  }
  /// Channels the edge from input `i` (an index into `inputs`) carries of `producer_channels`.
  int carried(std::size_t i, int producer_channels) const {
    return carried_channels(producer_channels, edges[i].share);
  }
  /// This vertex's choices, as `rebuild_architecture` takes them.
  VertexDesign design() const;
  bool operator==(const VertexSpec& o) const {
    return id == o.id && inputs == o.inputs && edges == o.edges && merge == o.merge && in == o.in &&
           staged == o.staged && width == o.width && channels == o.channels && out == o.out &&
           scaling == o.scaling;
  }
};

class Architecture {
 public:
  std::string name;
  Provenance provenance;
  StagingOptions staging;
  NetworkOptions network;
  graph::Dag dag;
  /// Compute vertices, indexed by id.
  std::vector<VertexSpec> vertices;
  /// The output vertex: averages the sinks after scaling them to a common shape.
  VertexSpec output;

  /// Shape of the input vertex's tensor (the stem's output).
  Shape stem_shape() const;
  /// Output shape of any vertex id (input, compute or output).
  Shape shape_of(int vertex) const;
  int num_staged() const;
  /// The carried shape of input `i` of `spec` (a compute vertex or the output vertex).
  Shape carried_shape(const VertexSpec& spec, std::size_t i) const;
  /// Where input `i` of a concatenating `spec` starts: the carried channels of the inputs before it.
  int first_channel(const VertexSpec& spec, std::size_t i) const;
  /// Every vertex's choices (empty when all are version 1's defaults).
  Design design() const;
  /// Whether the network uses anything beyond format version 1 (then files are version 2).
  bool needs_version2() const { return !design().empty(); }
  bool operator==(const Architecture& o) const;
};

/// Whether a vertex with common input shape `in` may stage under `options`.
bool can_stage(const Shape& in, const NetworkOptions& options);
/// The output shape of a staged vertex with input shape `in`.
Shape staged_shape(const Shape& in, const NetworkOptions& options);

/// Computes every shape and scaling block of `dag`, asking `policy` (with `rng`) at each
/// eligible compute vertex, in topological order. Staging eligibility and the width
/// multiplier follow version 1's channel counts, so a design never changes staging.
Architecture build_architecture(graph::Dag dag, const NetworkOptions& options,
                                const StagingPolicy& policy, Rng& rng, const Design& design = {});

/// Rebuilds an architecture from recorded staging decisions (`staged[v]` per compute
/// vertex) and a design. Throws `InvalidArgument` if a recorded decision stages an
/// ineligible vertex, or the design is out of range (a share outside (0, 1], an edge from a
/// vertex that is not an input, a concat of inputs at different resolutions).
Architecture rebuild_architecture(graph::Dag dag, const NetworkOptions& options,
                                  const std::vector<bool>& staged, const Design& design = {});

/// What `generate_architecture` needs.
struct GenerateOptions {
  std::string generator = "dp";
  int nodes = 40;
  ParamMap params;  ///< generator parameters; missing ones take the defaults
  graph::Orientation orientation = graph::Orientation::kDfs;
  StagingOptions staging;
  NetworkOptions network;
  std::uint64_t seed = 0;
  std::string name;  ///< empty: "<generator>-n<nodes>-s<seed>"
};

/// Generates, orients and stages a network. The generator draws from `seed`, staging from
/// an independent stream derived from it, so the same options give the same architecture.
Architecture generate_architecture(const GenerateOptions& options,
                                   const graph::GeneratorRegistry& generators,
                                   const StagingRegistry& policies);

/// Stages a given DAG (a user's edge file). Staging draws from the stream derived from
/// `seed`, as in `generate_architecture`.
Architecture architecture_from_dag(graph::Dag dag, Provenance provenance,
                                   const StagingOptions& staging, const NetworkOptions& network,
                                   const StagingRegistry& policies, std::string name);

}  // namespace concnas::arch
