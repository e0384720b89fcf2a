// concnas info: structure and cost of an architecture file, as text or JSON.
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "concnas/arch/cost.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/graph/analysis.h"

namespace concnas::cli {
namespace {

struct InfoArgs {
  std::string file;
  bool json = false;
};

nlohmann::ordered_json cost_json(const arch::Cost& c) {
  return {{"flops", c.flops}, {"params", c.params}, {"output_bytes", c.output_bytes}};
}

// What a network uses of format version 2 (docs/architecture_format.md).
struct DesignSummary {
  int concat = 0, widened = 0, narrowed = 0, fp16 = 0;
  explicit DesignSummary(const arch::Architecture& a) {
    auto count = [&](const arch::VertexSpec& v) {
      concat += v.merge == arch::Merge::kConcat ? 1 : 0;
      for (const auto& e : v.edges) {
        narrowed += e.share < 1 ? 1 : 0;
        fp16 += e.dtype == arch::Dtype::kFp16 ? 1 : 0;
      }
    };
    for (const auto& v : a.vertices) {
      count(v);
      widened += v.width != 1.0 || v.channels != 0 ? 1 : 0;
    }
    count(a.output);
  }
  std::string text() const {
    return fmt::format("version 2: {} concatenating vertices, {} with a width of their own, {} edges carrying part "
                       "of their channels, {} fp16 edges",
                       concat, widened, narrowed, fp16);
  }
};

void run_info(const InfoArgs& a) {
  const auto arch = config::load_architecture(a.file);
  const auto cost = arch::compute_cost(arch);
  const auto& dag = arch.dag;
  const int depth = graph::longest_path(dag);
  const int components = graph::count_components(dag);
  const auto width = graph::width_per_depth(dag);

  if (!a.json) {
    std::printf("architecture  %s (%s", arch.name.c_str(), arch.provenance.generator.c_str());
    for (const auto& [k, v] : arch.provenance.params.values())
      std::printf(" %s=%s", k.c_str(), format_number(v).c_str());
    std::printf(", seed %llu, %s)\n", static_cast<unsigned long long>(arch.provenance.seed),
                arch.provenance.orientation.c_str());
    std::printf("vertices      %d compute, %d edges between them\n", dag.num_compute(),
                dag.num_compute_arcs());
    std::printf("longest path  %d compute vertices\n", depth);
    std::printf("components    %d\n", components);
    std::printf("staging       %s, %d of %d vertices staged\n", arch.staging.policy.c_str(),
                arch.num_staged(), dag.num_compute());
    std::printf("format        %s\n", arch.needs_version2() ? DesignSummary(arch).text().c_str() : "version 1");
    std::printf("output        %dch %dx%d -> %d classes\n", arch.output.out.channels,
                arch.output.out.height, arch.output.out.width, arch.network.classes);
    std::printf("params        %lld (%.3f M)\n", static_cast<long long>(cost.total.params),
                cost.total.params / 1e6);
    std::printf("FLOPs         %lld (%.2f M, multiply-add = 2)\n",
                static_cast<long long>(cost.total.flops), cost.total.flops / 1e6);
    return;
  }
  nlohmann::ordered_json j;
  j["name"] = arch.name;
  j["generator"] = arch.provenance.generator;
  j["params_generator"] = arch.provenance.params.values();
  j["seed"] = arch.provenance.seed;
  j["orientation"] = arch.provenance.orientation;
  j["staging"] = arch.staging.policy;
  j["vertices"] = dag.num_compute();
  j["edges"] = dag.num_compute_arcs();
  auto edge_list = nlohmann::ordered_json::array();
  for (const auto& e : dag.compute_arcs()) edge_list.push_back({e.from, e.to});
  j["edge_list"] = edge_list;
  j["longest_path"] = depth;
  j["components"] = components;
  j["width_per_depth"] = width;
  j["staged"] = arch.num_staged();
  j["format_version"] = arch.needs_version2() ? 2 : 1;
  j["output_merge"] = arch::to_string(arch.output.merge);
  j["params"] = cost.total.params;
  j["flops"] = cost.total.flops;
  j["activation_bytes"] = cost.total.output_bytes;
  j["stem"] = cost_json(cost.stem);
  j["head"] = cost_json(cost.head);
  j["output_vertex"] = cost_json(cost.output);
  auto per_vertex = nlohmann::ordered_json::array();
  for (const auto& v : arch.vertices) {
    auto item = cost_json(cost.vertices[v.id]);
    item["id"] = v.id;
    item["staged"] = v.staged;
    item["in"] = {v.in.channels, v.in.height, v.in.width};
    item["out"] = {v.out.channels, v.out.height, v.out.width};
    item["merge"] = arch::to_string(v.merge);
    item["width"] = v.width;
    per_vertex.push_back(item);
  }
  j["per_vertex"] = per_vertex;
  std::printf("%s\n", j.dump(2).c_str());
}

}  // namespace

Action add_info_command(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  auto* cmd = app.add_subcommand("info", "describe an architecture file");
  cmd->add_option("file", args->file, "architecture file (YAML)")->required();
  cmd->add_flag("--json", args->json, "print JSON instead of text");
  return [args] { run_info(*args); };
}

}  // namespace concnas::cli
