#pragma once
// The device and link model flags shared by `score` and `export` (which partition).

#include <string>

#include <CLI/CLI.hpp>

#include "concnas/common/error.h"
#include "concnas/config/devices_yaml.h"
#include "concnas/partition/score.h"

namespace concnas::cli {

struct DeviceArgs {
  std::string devices;
  double flops_per_s = sim::kDefaultFlopsPerS;
  double latency_s = sim::LinkModel{}.latency_s;
  double bandwidth = sim::LinkModel{}.bandwidth_bytes_per_s;
  double layer_overhead_s = 0;
  double send_overhead_s = 0;
  bool fp16 = false;

  void add_to(CLI::App* cmd) {
    cmd->add_flag("--fp16", fp16, "predict float16 transfers between units (as `run --fp16` sends them)");
    auto* file = cmd->add_option("--devices", devices, "device and link model (YAML)");
    cmd->add_option("--flops-per-s", flops_per_s, "speed of every device")->capture_default_str()->excludes(file);
    cmd->add_option("--link-latency", latency_s, "link latency in seconds")->capture_default_str()->excludes(file);
    cmd->add_option("--link-bandwidth", bandwidth, "link bandwidth in bytes/s")->capture_default_str()->excludes(file);
    cmd->add_option("--layer-overhead", layer_overhead_s, "fixed seconds per layer call on every device")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 10.0))
        ->excludes(file);
    cmd->add_option("--send-overhead", send_overhead_s, "seconds a device is busy posting one tensor to another")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 10.0))
        ->excludes(file);
  }

  void apply(partition::ScoreOptions& options, int units) const {
    CONCNAS_CHECK(units >= 1, "units must be at least 1, got {}", units);
    if (!devices.empty()) {
      std::tie(options.devices, options.link) = config::load_devices(devices, units);
    } else {
      options.devices = sim::DeviceModel::uniform(units, flops_per_s, layer_overhead_s);
      options.link.latency_s = latency_s;
      options.link.send_overhead_s = send_overhead_s;
      options.link.bandwidth_bytes_per_s = bandwidth;
    }
    if (fp16) options.link.bytes_per_element = 2;
  }
};

}  // namespace concnas::cli
