// concnas calibrate --local --world N: the link, measured through the transport `run`
// uses. Calibration networks are deployed on N pinned local workers with `concnas run`,
// and the simulator's link is fitted to their latencies.

#include "calibrate_links.h"
#include "run_args.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

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
  const int world = devices.units();
  const auto nets = deploy::calibration_networks();
  const fs::path work = fs::temp_directory_path() / fmt::format("concnas-calibrate-{}", ::getpid());
  fs::create_directories(work);
  std::vector<sim::LinkSample> samples;
  try {
    for (std::size_t i = 0; i < nets.size(); ++i) {
      if (progress) progress(static_cast<int>(i), static_cast<int>(nets.size()));
      torch::manual_seed(i);
      nn::Network net(nets[i]);
      net->eval();
      auto parts = fastest_parts(nets[i], devices, world);
      const std::string dir = (work / nets[i].name).string();
      deploy::export_deployment(nets[i], *net, deploy::make_plan(nets[i], parts, world), dir);
      const auto p50 = measure_deployment(dir, runs, {"--batch", std::to_string(devices.batch)}).p50_s;
      samples.push_back({&nets[i], std::move(parts), p50});
    }
  } catch (...) {
    fs::remove_all(work);
    throw;
  }
  fs::remove_all(work);
  if (progress) progress(static_cast<int>(nets.size()), static_cast<int>(nets.size()));
  return sim::fit_link(samples, devices);
}

}  // namespace concnas::cli
