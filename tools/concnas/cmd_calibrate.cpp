// concnas calibrate: measure this machine as a device (and its links) for the simulator,
// and write the devices file that score, export, search and run read.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <ctime>
#include <memory>

#include <fmt/format.h>

#include "calibrate_links.h"
#include "calibration.h"
#include "commands.h"
#include "progress_bar.h"
#include "concnas/arch/cost.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "concnas/common/param_map.h"
#include "concnas/config/devices_yaml.h"
#include "concnas/deploy/calibrate.h"
#include "concnas/deploy/worker.h"

namespace concnas::cli {
namespace {

struct CalibrateArgs : CalibrationRequest {
  bool local = false;
};

std::string host_name() {
  char buf[256] = {};
  return gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("unknown");
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string ops_yaml(const sim::OpCosts& o) {
  return fmt::format(
      "{{step_s: {}, summed_s: {}, tap_s: {}, gemm_flop_s: {}, pooled_s: {}, scaling_s: {}, stem_flop_s: {}, "
      "inference_s: {}, parallel_slowdown: {}}}",
      format_number(o.step_s), format_number(o.summed_s), format_number(o.tap_s), format_number(o.gemm_flop_s),
      format_number(o.pooled_s), format_number(o.scaling_s), format_number(o.stem_flop_s),
      format_number(o.inference_s), format_number(o.parallel_slowdown));
}

// The FLOP/s the device sustains on the calibration networks at one core (for models that
// price by FLOP/s alone).
double sustained_flops_per_s(const deploy::DeviceCalibration& c) {
  double seconds = 0;
  for (const auto& n : c.networks)
    if (n.cores == 1) seconds += n.measured_s;
  return seconds > 0 ? c.flops_one_core / seconds : sim::kDefaultFlopsPerS;
}

std::string link_yaml(const sim::LinkModel& l) {
  return fmt::format("link: {{latency_s: {}, bandwidth_bytes_per_s: {}, send_overhead_s: {}, receive_overhead_s: {}}}\n",
                     format_number(l.latency_s), format_number(l.bandwidth_bytes_per_s),
                     format_number(l.send_overhead_s), format_number(l.receive_overhead_s));
}

std::string devices_yaml(const CalibrationRequest& a, const deploy::DeviceCalibration& c, int cores) {
  std::string s = "# This machine as a device, measured by concnas calibrate (docs/scoring.md,\n"
                  "# \"Calibrated devices\"). Every unit gets this device; edit `cores:` per setting.\n";
  s += fmt::format("measured: {{host: \"{}\", date: \"{}\", command: \"{}\"}}\n", host_name(), utc_now(), a.command);
  if (a.batch > 1) s += fmt::format("batch: {}  # images per inference: the prices and the link are for it\n", a.batch);
  s += fmt::format("device:\n  name: \"{}\"\n  flops_per_s: {}\n  cores: {}\n  ops: {}\n",
                   a.name.empty() ? host_name() : a.name, format_number(sustained_flops_per_s(c)), cores,
                   ops_yaml(c.ops));
  return s;
}

void run_calibrate(const CalibrateArgs& a) {
  const auto started = std::chrono::steady_clock::now();
  deploy::DeviceCalibration c;
  write_calibrated_devices(a, &c);
  std::printf("%d steps timed, median step error %.1f%%; whole inferences (measured -> predicted):\n",
              c.steps_timed, 100 * c.median_step_error);
  for (const auto& n : c.networks)
    std::printf("  %-24s %d core%s %8.3f ms -> %8.3f ms\n", n.name.c_str(), n.cores, n.cores > 1 ? "s" : " ",
                n.measured_s * 1e3, n.predicted_s * 1e3);
  std::printf("-> %s (%.0f s)\n", a.out.c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

}  // namespace

void write_calibrated_devices(const CalibrationRequest& a, deploy::DeviceCalibration* report) {
  const auto folder = std::filesystem::path(a.out).parent_path();
  CONCNAS_CHECK(folder.empty() || std::filesystem::is_directory(folder), "--out {}: the folder {} does not exist",
                a.out, folder.string());
  const int allowed = static_cast<int>(deploy::cpus_of_this_process().size());
  const int cores = a.cores > 0 ? a.cores : allowed;
  CONCNAS_CHECK(cores <= allowed, "--cores {}: this process may run on {} CPUs only", cores, allowed);
  deploy::DeviceCalibrationOptions o;
  o.cores = cores;
  o.runs = a.runs;
  o.batch = a.batch;
  const bool tty = stderr_is_terminal();
  o.progress = [tty](const std::string& stage, int done, int total) {
    if (tty) draw_progress_bar("calibrate " + stage, done, total, 30, fmt::format("{}/{} networks", done, total));
    else if (done == 0) std::fprintf(stderr, "calibrate: timing the engine on %s\n", stage.c_str());
  };
  const auto c = deploy::calibrate_device(o);
  std::string yaml = devices_yaml(a, c, cores);
  if (a.world > 1) {
    // Each worker of `run --local` runs on one core.
    const auto one = config::devices_from_yaml(yaml, a.out, 1).first;
    auto devices = sim::DeviceModel::uniform(a.world, one.flops_per_s[0]);
    devices.ops.assign(a.world, one.ops[0]);
    devices.batch = one.batch;
    const auto link = calibrate_link(devices, a.link_runs, [tty, &a](int done, int total) {
      if (tty) draw_progress_bar(fmt::format("calibrate link ({} workers)", a.world), done, total, 30,
                                 fmt::format("{}/{} deployments", done, total));
      else if (done == 0) std::fprintf(stderr, "calibrate: timing %d local workers over Gloo\n", a.world);
    });
    yaml += link_yaml(link);
  }
  write_file_atomic(a.out, yaml);
  config::load_devices(a.out, std::max(1, a.world));  // what was written reads back
  if (report) *report = c;
}

Action add_calibrate_command(CLI::App& app) {
  auto args = std::make_shared<CalibrateArgs>();
  auto* cmd = app.add_subcommand("calibrate", "measure this machine as a device and write a devices file");
  cmd->add_option("--out,-o", args->out, "devices file to write (YAML)")->required();
  cmd->add_option("--cores", args->cores, "cores of the device (default: every CPU this process may use)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--runs", args->runs, "timed inferences per network and setting")->check(CLI::Range(1, 100000));
  cmd->add_option("--name", args->name, "the device's name in the file (default: the host name)");
  auto* local = cmd->add_flag("--local", args->local, "also measure the link: --world workers on this machine");
  cmd->add_option("--world", args->world, "workers for the link measurement (with --local)")
      ->check(CLI::Range(2, 64))
      ->needs(local);
  cmd->add_option("--link-runs", args->link_runs, "timed inferences per deployment for the link")
      ->check(CLI::Range(10, 100000));
  cmd->add_option("--batch", args->batch, "images per inference to measure at (the file then predicts that batch)")
      ->check(CLI::Range(1, 100000));
  return [args] {
    CONCNAS_CHECK(!args->local || args->world > 1, "--local measures a link: give --world 2 or more");
    args->command = fmt::format("concnas calibrate -o {}{}{}", args->out,
                                args->local ? fmt::format(" --local --world {}", args->world) : "",
                                args->batch > 1 ? fmt::format(" --batch {}", args->batch) : "");
    run_calibrate(*args);
  };
}

}  // namespace concnas::cli
