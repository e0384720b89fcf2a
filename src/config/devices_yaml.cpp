#include "concnas/config/devices_yaml.h"

#include "concnas/common/atomic_file.h"
#include "yaml_reader.h"

namespace concnas::config {

std::pair<sim::DeviceModel, sim::LinkModel> devices_from_yaml(const std::string& text,
                                                              const std::string& source,
                                                              int units) {
  detail::Reader r(source);
  const YAML::Node root = detail::load_yaml(text, source);
  if (!root.IsMap()) throw ParseError(source, 0, "not a device file (expected a mapping)");
  r.check_map(root, "", {"devices", "device", "link"});
  sim::DeviceModel devices;
  auto read_device = [&](const YAML::Node& d, const std::string& where) {
    r.check_map(d, where, {"name", "flops_per_s", "cores", "layer_overhead_s"});
    const double speed = r.number(r.need(d, "flops_per_s", where), where + ".flops_per_s");
    if (!(speed > 0)) r.fail(d["flops_per_s"], fmt::format("'{}.flops_per_s' must be positive", where));
    devices.flops_per_s.push_back(speed);
    double overhead = 0;
    if (d["layer_overhead_s"]) {
      overhead = r.number(d["layer_overhead_s"], where + ".layer_overhead_s");
      if (!(overhead >= 0))
        r.fail(d["layer_overhead_s"], fmt::format("'{}.layer_overhead_s' must be >= 0 seconds", where));
    }
    devices.layer_overhead_s.push_back(overhead);
    int cores = 1;
    if (d["cores"]) {
      cores = r.integer(d["cores"], where + ".cores");
      if (cores < 1) r.fail(d["cores"], fmt::format("'{}.cores' must be at least 1", where));
    }
    devices.cores.push_back(cores);
    devices.names.push_back(d["name"] ? r.string(d["name"], where + ".name")
                                      : fmt::format("unit{}", devices.names.size()));
  };
  if (root["devices"] && root["device"])
    r.fail(root["device"], "give either 'devices' (one per unit) or 'device' (all units)");
  if (root["devices"]) {
    const auto list = root["devices"];
    if (!list.IsSequence()) r.fail(list, "'devices' must be a list, one entry per unit");
    for (std::size_t i = 0; i < list.size(); ++i) read_device(list[i], fmt::format("devices[{}]", i));
    if (devices.units() != units)
      r.fail(list, fmt::format("'devices' lists {} units, but {} are used", devices.units(), units));
  } else if (root["device"]) {
    read_device(root["device"], "device");
    devices.flops_per_s.assign(units, devices.flops_per_s.front());
    devices.layer_overhead_s.assign(units, devices.layer_overhead_s.front());
    devices.cores.assign(units, devices.cores.front());
    const std::string name = devices.names.front();
    devices.names.clear();
    for (int u = 0; u < units; ++u) devices.names.push_back(fmt::format("{}-{}", name, u));
  } else {
    devices = sim::DeviceModel::uniform(units, sim::kDefaultFlopsPerS);
  }
  sim::LinkModel link;
  if (const auto l = root["link"]) {
    r.check_map(l, "link", {"latency_s", "bandwidth_bytes_per_s", "send_overhead_s"});
    if (l["send_overhead_s"]) link.send_overhead_s = r.number(l["send_overhead_s"], "link.send_overhead_s");
    if (l["latency_s"]) link.latency_s = r.number(l["latency_s"], "link.latency_s");
    if (l["bandwidth_bytes_per_s"])
      link.bandwidth_bytes_per_s = r.number(l["bandwidth_bytes_per_s"], "link.bandwidth_bytes_per_s");
    r.located(l, [&] { link.sanity_check(); });
  }
  return {devices, link};
}

std::pair<sim::DeviceModel, sim::LinkModel> load_devices(const std::string& path, int units) {
  return devices_from_yaml(read_file(path), path, units);
}

}  // namespace concnas::config
