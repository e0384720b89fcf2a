// concnas score: partition an architecture for n units, report the concurrency score of
// the EDGE'23 paper (Hadidi et al.; docs/scoring.md) for each balance bound and the
// predicted distributed latency.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "concnas/arch/dot.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/config/architecture_yaml.h"
#include "device_args.h"
#include "concnas/partition/score.h"

namespace concnas::cli {
namespace {

struct ScoreArgs {
  std::string file;
  int units = 0;
  std::vector<double> epsilons = partition::ScoreOptions{}.epsilons;
  std::string partitioner = "metis";
  std::uint64_t seed = 0;
  DeviceArgs model;
  bool json = false;
  std::string dot;
  std::string hgr;
  std::string partition_in;
};

nlohmann::ordered_json option_json(const partition::ScoredOption& o, int num_compute) {
  nlohmann::ordered_json j;
  j["epsilon"] = o.epsilon < 0 ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(o.epsilon);
  j["parts"] = std::vector<int>(o.parts.begin(), o.parts.begin() + num_compute);
  j["comm_bytes"] = o.metrics.comm_bytes;
  j["comm_norm"] = o.metrics.comm_norm;
  j["imbalance"] = o.metrics.imbalance;
  j["eta"] = o.metrics.eta;
  j["cs"] = o.metrics.cs;
  j["unit_flops"] = o.metrics.unit_weights;
  j["predicted_latency_s"] = o.sim.latency_s;
  j["single_device_latency_s"] = o.sim.single_device_s;
  j["predicted_speedup"] = o.sim.speedup;
  j["latency_lower_bound_s"] = o.sim.lower_bound_s;
  return j;
}

// The partitioner's options, or a partition made elsewhere (e.g. by hMETIS or KaHyPar on
// the --hgr file) scored as given.
partition::ArchitectureScore score_of(const ScoreArgs& a, const arch::Architecture& architecture,
                                      const partition::ScoreOptions& options) {
  if (a.partition_in.empty())
    return partition::score_architecture(architecture, options, partition::builtin_partitioners());
  options.sanity_check();
  const int n = architecture.dag.num_compute();
  CONCNAS_CHECK(a.units <= n, "{} units is more than the {} compute vertices", a.units, n);
  const auto hg = partition::build_hypergraph(architecture, arch::compute_cost(architecture));
  const auto parts = partition::parse_partition(read_file(a.partition_in), a.partition_in, hg, a.units);
  return partition::score_given_partition(architecture, options, parts);
}

// --dot and --hgr: every file rendered before any is written.
void write_files(const ScoreArgs& a, const arch::Architecture& architecture, const partition::ScoreOptions& options,
                 const partition::ScoredOption& best) {
  std::string dot;
  if (!a.dot.empty()) {
    arch::DotOptions d;
    d.unit_of.assign(best.parts.begin(), best.parts.begin() + architecture.dag.num_compute());
    dot = arch::to_dot(architecture, d);
  }
  std::string hgr;
  std::string fix;
  if (!a.hgr.empty()) {
    auto hg = partition::build_hypergraph(architecture, arch::compute_cost(architecture));
    partition::add_call_overheads(hg, architecture, options.devices);
    hgr = partition::to_hmetis(hg);
    fix = partition::to_hmetis_fix(hg);
  }
  if (!a.dot.empty()) write_file_atomic(a.dot, dot);
  if (!a.hgr.empty()) {
    write_file_atomic(a.hgr, hgr);
    write_file_atomic(a.hgr + ".fix", fix);
  }
}

void print_json(const ScoreArgs& a, const arch::Architecture& architecture, const partition::ScoreOptions& options,
                const partition::ArchitectureScore& score) {
  const int n = architecture.dag.num_compute();
  nlohmann::ordered_json j;
  j["architecture"] = architecture.name;
  j["units"] = score.units;
  j["partitioner"] = a.partition_in.empty() ? a.partitioner : "file:" + a.partition_in;
  j["devices_flops_per_s"] = options.devices.flops_per_s;
  std::vector<double> overheads;
  for (int u = 0; u < options.devices.units(); ++u) overheads.push_back(options.devices.overhead_of(u));
  j["devices_layer_overhead_s"] = overheads;
  j["link"] = {{"latency_s", options.link.latency_s},
               {"bandwidth_bytes_per_s", options.link.bandwidth_bytes_per_s},
               {"send_overhead_s", options.link.send_overhead_s}};
  auto list = nlohmann::ordered_json::array();
  for (const auto& o : score.options) list.push_back(option_json(o, n));
  j["options"] = list;
  j["best"] = option_json(score.best(), n);
  std::printf("%s\n", j.dump(2).c_str());
}

void print_table(const ScoreArgs& a, const arch::Architecture& architecture,
                 const partition::ArchitectureScore& score) {
  std::printf("%s on %d units (%s)\n", architecture.name.c_str(), score.units,
              a.partition_in.empty() ? a.partitioner.c_str() : a.partition_in.c_str());
  std::printf("%8s %12s %10s %9s %6s %8s %12s %8s\n", "epsilon", "comm_bytes", "comm_norm",
              "imbalance", "eta", "CS", "latency_ms", "speedup");
  for (std::size_t i = 0; i < score.options.size(); ++i) {
    const auto& o = score.options[i];
    std::printf("%8s %12lld %10.2f %9.3f %6.2f %8.3f %12.4f %8.2f%s\n",
                o.epsilon < 0 ? "given" : fmt::format("{:.3g}", o.epsilon).c_str(),
                static_cast<long long>(o.metrics.comm_bytes), o.metrics.comm_norm,
                o.metrics.imbalance, o.metrics.eta, o.metrics.cs, o.sim.latency_s * 1e3,
                o.sim.speedup, i == score.best_index ? "  <- best" : "");
  }
  std::printf("single device %.4f ms, lower bound %.4f ms\n", score.best().sim.single_device_s * 1e3,
              score.best().sim.lower_bound_s * 1e3);
}

void run_score(const ScoreArgs& a) {
  const auto architecture = config::load_architecture(a.file);
  partition::ScoreOptions options;
  options.units = a.units;
  options.epsilons = a.epsilons;
  options.partitioner = a.partitioner;
  options.seed = a.seed;
  a.model.apply(options, a.units);
  const auto score = score_of(a, architecture, options);
  write_files(a, architecture, options, score.best());
  if (a.json)
    print_json(a, architecture, options, score);
  else
    print_table(a, architecture, score);
}

}  // namespace

Action add_score_command(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  auto* cmd = app.add_subcommand("score", "partition an architecture and score its concurrency");
  cmd->add_option("file", args->file, "architecture file (YAML)")->required();
  cmd->add_option("--units,-n", args->units, "number of devices")->required();
  cmd->add_option("--epsilon", args->epsilons, "balance bounds, comma separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--partitioner", args->partitioner,
                  "metis, metis-unrefined, components, single or exact")
      ->capture_default_str();
  cmd->add_option("--seed,-s", args->seed, "partitioner seed")->capture_default_str();
  args->model.add_to(cmd);
  cmd->add_flag("--json", args->json, "print JSON");
  cmd->add_option("--dot", args->dot, "write a Graphviz picture coloured by unit (best option)");
  cmd->add_option("--hgr", args->hgr, "write the hypergraph in hMETIS format (+ FILE.fix)");
  cmd->add_option("--partition-in", args->partition_in,
                  "score this hMETIS partition file instead of partitioning");
  return [args] { run_score(*args); };
}

}  // namespace concnas::cli
