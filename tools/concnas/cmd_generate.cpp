// concnas generate: a random graph (or a user's edge file) -> oriented, staged and costed
// architecture file, optionally with a Graphviz picture.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"
#include "concnas/arch/dot.h"
#include "concnas/arch/families.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/config/train_config.h"
#include "concnas/graph/edge_file.h"

namespace concnas::cli {
namespace {

struct GenerateArgs {
  config::ArchSection arch;  // generator, nodes, staging, network: as in training configs
  std::string from_edges;
  std::vector<std::string> params;
  std::string input_shape = "1x28x28";
  int classes = 10;
  std::string name;
  std::string output;
  std::string dot;
};

arch::Shape parse_shape(const std::string& text) {
  int c = 0, h = 0, w = 0;
  char x1 = 0, x2 = 0;
  char rest = 0;
  const int n = std::sscanf(text.c_str(), "%d%c%d%c%d%c", &c, &x1, &h, &x2, &w, &rest);
  CONCNAS_CHECK(n == 5 && x1 == 'x' && x2 == 'x' && c > 0 && h > 0 && w > 0,
                "--input-shape '{}' must be CxHxW with positive numbers, e.g. 1x28x28", text);
  return {c, h, w};
}

void run_generate(GenerateArgs a) {
  CONCNAS_CHECK(a.arch.generator.empty() != a.from_edges.empty(),
                "give exactly one of --generator and --from-edges");
  a.arch.params = ParamMap::parse(a.params);
  auto options = config::generate_options(a.arch, parse_shape(a.input_shape), a.classes);
  options.name = a.name;
  const auto policies = arch::builtin_staging_policies();

  arch::Architecture architecture;
  if (!a.from_edges.empty()) {
    CONCNAS_CHECK(a.params.empty() && a.arch.nodes == 0,
                  "--param and --nodes belong to --generator, not --from-edges");
    auto dag = graph::read_edge_file(a.from_edges);
    arch::Provenance provenance;
    provenance.generator = "edges";
    provenance.seed = a.arch.seed;
    provenance.orientation = "given";  // the file is already directed
    provenance.edge_file = a.from_edges;
    std::string name =
        a.name.empty() ? fmt::format("edges-n{}-s{}", dag.num_compute(), a.arch.seed) : a.name;
    options.network.sanity_check();
    architecture = arch::architecture_from_dag(std::move(dag), provenance, options.staging,
                                               options.network, policies, name);
  } else {
    CONCNAS_CHECK(a.arch.nodes != 0 || arch::is_architecture_family(a.arch.generator),
                  "--nodes is required with --generator");
    architecture = arch::generate_architecture(options, graph::builtin_generators(), policies);
  }

  // Render everything before writing anything, so a failure leaves no partial output.
  const std::string yaml = config::architecture_to_yaml(architecture);
  const std::string dot = a.dot.empty() ? "" : arch::to_dot(architecture);
  write_file_atomic(a.output, yaml);
  if (!a.dot.empty()) write_file_atomic(a.dot, dot);
  const auto cost = arch::compute_cost(architecture);
  std::printf("%s: %d vertices, %d edges, %d staged, %.3f M params, %.2f MFLOPs -> %s\n",
              architecture.name.c_str(), architecture.dag.num_compute(),
              architecture.dag.num_compute_arcs(), architecture.num_staged(),
              cost.total.params / 1e6, cost.total.flops / 1e6, a.output.c_str());
  spdlog::debug("wrote {}{}", a.output, a.dot.empty() ? "" : " and " + a.dot);
}

}  // namespace

Action add_generate_command(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "generate an architecture file from a random graph");
  auto& arch = args->arch;
  arch.generator.clear();  // required unless --from-edges
  arch.nodes = 0;
  auto* gen = cmd->add_option("--generator,-g", arch.generator,
                              "er, ba, ws, dp, lcp (branches, depth, width) or sep (groups, depth, alpha, policy, share, fp16, width)");
  auto* edges = cmd->add_option("--from-edges", args->from_edges,
                                "a DAG of your own: edge file ('nodes N', then 'u v' lines)");
  gen->excludes(edges);
  cmd->add_option("--nodes,-n", arch.nodes, "number of compute vertices (>= 2)");
  cmd->add_option("--param,-p", args->params, "generator parameter KEY=VALUE (repeatable)");
  cmd->add_option("--orientation", arch.orientation, "dfs (EDGE'23 paper) or index (RandWire)")
      ->capture_default_str();
  cmd->add_option("--staging", arch.staging, "uniform, greedy or probabilistic")
      ->capture_default_str();
  cmd->add_option("--stage-probability", arch.stage_probability,
                  "chance of staging an eligible vertex (probabilistic)")
      ->capture_default_str();
  cmd->add_option("--seed,-s", arch.seed, "random seed")->capture_default_str();
  cmd->add_option("--stem-channels", arch.stem_channels, "channels made by the stem")
      ->capture_default_str();
  cmd->add_option("--channel-limit", arch.channel_limit, "staging stops at this many channels")
      ->capture_default_str();
  cmd->add_option("--min-resolution", arch.min_resolution,
                  "staging stops before the resolution drops below this")
      ->capture_default_str();
  cmd->add_option("--input-shape", args->input_shape, "input image CxHxW")->capture_default_str();
  cmd->add_option("--classes", args->classes, "number of classes")->capture_default_str();
  cmd->add_option("--aggregation", arch.aggregation, "randwire or sigmoid_inputs")
      ->capture_default_str();
  cmd->add_option("--name", args->name, "architecture name (default: generator-nN-sS)");
  cmd->add_option("--output,-o", args->output, "architecture file to write")->required();
  cmd->add_option("--dot", args->dot, "also write a Graphviz picture");
  return [args] { run_generate(*args); };
}

}  // namespace concnas::cli
