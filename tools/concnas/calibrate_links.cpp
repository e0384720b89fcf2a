// concnas calibrate --local --world N: the link, measured through the transport `run`
// uses. The calibration networks and relay chains are deployed on N pinned local workers
// and on one with `concnas run`, and the simulator's link is fitted to what the N workers
// take beyond the one.

#include "calibrate_links.h"
#include "run_args.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/arch/baselines.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/process.h"
#include "concnas/config/plan_yaml.h"
#include "concnas/deploy/worker.h"
#include "concnas/deploy/calibrate.h"
#include "concnas/deploy/export.h"
#include "concnas/partition/score.h"

namespace concnas::cli {
namespace fs = std::filesystem;
namespace {

// The partition `export` would deploy: the option the model predicts fastest.
std::vector<int> fastest_parts(const arch::Architecture& a, const sim::DeviceModel& devices, int world) {
  partition::ScoreOptions o;
  o.units = world;
  o.devices = devices;
  const auto score = partition::score_architecture(a, o, partition::builtin_partitioners());
  return score.fastest().parts;
}

// A calibration network and the unit of each of its vertices.
struct PlacedNetwork {
  arch::Architecture arch;
  std::vector<int> parts;
};

// Chains of 28x28 vertices (nothing staged) whose vertices take turns on the units, so that
// every transfer waits on the one before and a relay's time on the units less its time on
// one unit is what its messages cost. Four widths, 1 to 48 channels, so that the bytes per
// message vary 48-fold.
std::vector<PlacedNetwork> relay_networks(int world) {
  std::vector<PlacedNetwork> out;
  for (int channels : {1, 4, 16, 48}) {
    arch::NetworkOptions n;
    n.stem_channels = channels;
    n.channel_limit = channels;
    arch::StagingOptions flat;
    flat.policy = "uniform";
    PlacedNetwork p{arch::chain_architecture(6, flat, n, 109), {}};
    p.arch.name = fmt::format("relay-c{}", channels);
    p.parts.assign(p.arch.dag.num_vertices(), 0);
    for (int v = 0; v < p.arch.dag.num_compute(); ++v) p.parts[v] = (v + 1) % world;
    out.push_back(std::move(p));
  }
  return out;
}

// Every network the link is fitted to: the calibration networks where `export` would put
// them (their transfers overlap their compute, and each costs both ends CPU time), then
// the relays (which pin down the cost per message and per byte).
std::vector<PlacedNetwork> link_networks(const sim::DeviceModel& devices) {
  std::vector<PlacedNetwork> out;
  for (auto& a : deploy::calibration_networks()) {
    auto parts = fastest_parts(a, devices, devices.units());
    out.push_back({std::move(a), std::move(parts)});
  }
  for (auto& p : relay_networks(devices.units())) out.push_back(std::move(p));
  return out;
}

// The network's p50 on the units of `parts` (deployed in work/NAME-uN).
double measure_placed(const arch::Architecture& a, nn::Network& net, const std::vector<int>& parts, int units,
                      const fs::path& work, int runs, int batch) {
  const std::string dir = (work / fmt::format("{}-u{}", a.name, units)).string();
  deploy::export_deployment(a, *net, deploy::make_plan(a, parts, units), dir);
  return measure_deployment(dir, runs, {"--batch", std::to_string(batch)}).p50_s;
}

}  // namespace

DeploymentTiming measure_deployment(const std::string& dir, int runs, const std::vector<std::string>& input) {
  const std::string self = self_exe();
  const std::string json = dir + "/run.json", log = dir + "/run.log";
  const auto plan = config::load_plan(dir);
  std::vector<std::string> args{self, "run", "--plan", dir, "--local", "--cores", "1", "--runs", std::to_string(runs),
                                "--warmup", "30", "--json", json};
  // Each worker on a core of its own when there are enough (as on separate devices).
  const bool pin = static_cast<std::size_t>(plan.plan.num_units) <= deploy::cpus_of_this_process().size();
  if (pin) args.push_back("--pin");
  args.insert(args.end(), input.begin(), input.end());
  const int status = run_program(args, log);
  if (status != 0) throw Error(fmt::format("concnas run of {} failed ({}): {}", dir, status, read_file(log)));
  return {nlohmann::json::parse(read_file(json)).at("latency_ms").at("p50").get<double>() * 1e-3, pin};
}

sim::LinkModel calibrate_link(const sim::DeviceModel& devices, int runs, const LinkProgress& progress) {
  const auto nets = link_networks(devices);
  const int total = static_cast<int>(nets.size());
  const fs::path work = fs::temp_directory_path() / fmt::format("concnas-calibrate-{}", ::getpid());
  fs::create_directories(work);
  std::vector<sim::LinkSample> samples;
  try {
    for (int i = 0; i < total; ++i) {
      if (progress) progress(i, total);
      const auto& [a, parts] = nets[i];
      torch::manual_seed(i);
      nn::Network net(a);
      net->eval();
      const double single = measure_placed(a, net, std::vector<int>(parts.size(), 0), 1, work, runs, devices.batch);
      const double placed = measure_placed(a, net, parts, devices.units(), work, runs, devices.batch);
      samples.push_back({&a, parts, placed, single});
    }
  } catch (...) {
    fs::remove_all(work);
    throw;
  }
  fs::remove_all(work);
  if (progress) progress(total, total);
  return sim::fit_link(samples, devices);
}

}  // namespace concnas::cli
