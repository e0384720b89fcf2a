#include "concnas/config/devices_yaml.h"

#include "concnas/common/atomic_file.h"
#include "device_schema.h"
#include "yaml_reader.h"

namespace concnas::config {
namespace detail {
namespace {

// A core's speed: positive, and within what a device can be (1 kFLOP/s .. 1 EFLOP/s), so
// that no prediction overflows to "inf ms".
Rule<double> speed_rule() {
  return {"[1e3, 1e18]", "must be positive and between 1e3 and 1e18 FLOP/s",
          [](const double& v) { return v >= 1e3 && v <= 1e18; }};
}

// `ops:` of a device entry: seconds per kind of work, as `concnas calibrate` measures them.
Key<DeviceEntry> ops_key() {
  Key<DeviceEntry> k{"", "ops", "mapping (below)", "", "calibrated prices per kind of work (`ops` keys below); "
                     "set: they time the unit instead of flops_per_s and layer_overhead_s", {}, {}, {}};
  k.read = [](DeviceEntry& d, const Reader& r, const YAML::Node& n, const std::string& where) {
    ops_schema().read_record(d.ops, r, n, where);
  };
  k.write = [](const DeviceEntry&) { return std::string("{}"); };
  return k;
}

}  // namespace

const Schema<DeviceEntry>& device_schema() {
  using C = DeviceEntry;
  static const Schema<C> s({
      field<C>("", "name", [](C& c) -> auto& { return c.name; }, "a name for reports; default: unit<K>"),
      field<C>("", "flops_per_s", [](C& c) -> auto& { return c.flops_per_s; },
               "compute speed of one core in FLOP/s (required)", speed_rule()),
      field<C>("", "cores", [](C& c) -> auto& { return c.cores; }, "cores the engine runs vertices on",
               at_least(1)),
      field<C>("", "layer_overhead_s", [](C& c) -> auto& { return c.layer_overhead_s; },
               "fixed cost of one layer call in seconds", not_below(0.0, " seconds")),
      ops_key(),
  });
  return s;
}

const Schema<sim::OpCosts>& ops_schema() {
  using C = sim::OpCosts;
  static const Schema<C> s({
      field<C>("", "step_s", [](C& c) -> auto& { return c.step_s; }, "per vertex, stem or head", not_below(0.0)),
      field<C>("", "summed_s", [](C& c) -> auto& { return c.summed_s; }, "per input element summed",
               not_below(0.0)),
      field<C>("", "tap_s", [](C& c) -> auto& { return c.tap_s; }, "per depthwise output (9 taps)", not_below(0.0)),
      field<C>("", "gemm_flop_s", [](C& c) -> auto& { return c.gemm_flop_s; },
               "per pointwise or projection FLOP", not_below(0.0)),
      field<C>("", "pooled_s", [](C& c) -> auto& { return c.pooled_s; }, "per element max-pooled", not_below(0.0)),
      field<C>("", "scaling_s", [](C& c) -> auto& { return c.scaling_s; }, "per scaling block", not_below(0.0)),
      field<C>("", "stem_flop_s", [](C& c) -> auto& { return c.stem_flop_s; }, "per FLOP of the stem",
               not_below(0.0)),
      field<C>("", "inference_s", [](C& c) -> auto& { return c.inference_s; }, "fixed per inference",
               not_below(0.0)),
      field<C>("", "parallel_slowdown", [](C& c) -> auto& { return c.parallel_slowdown; },
               "step times multiply by this when the unit runs on more than one core", at_least(1.0)),
  });
  return s;
}

const Schema<sim::LinkModel>& link_schema() {
  using C = sim::LinkModel;
  static const Schema<C> s({
      // sim::LinkModel::sanity_check checks the values, located at the link.
      checked_elsewhere(field<C>("", "latency_s", [](C& c) -> auto& { return c.latency_s; },
                                 "one message's latency in seconds"), "≥ 0"),
      checked_elsewhere(field<C>("", "bandwidth_bytes_per_s", [](C& c) -> auto& { return c.bandwidth_bytes_per_s; },
                                 "bytes per second of one link"), "> 0"),
      checked_elsewhere(field<C>("", "send_overhead_s", [](C& c) -> auto& { return c.send_overhead_s; },
                                 "the sender's CPU time per message in seconds"), "≥ 0"),
      checked_elsewhere(field<C>("", "receive_overhead_s", [](C& c) -> auto& { return c.receive_overhead_s; },
                                 "the receiver's CPU time per message in seconds"), "≥ 0"),
  });
  return s;
}

}  // namespace detail
namespace {

using detail::DeviceEntry;

void add_device(sim::DeviceModel& devices, const DeviceEntry& d) {
  devices.flops_per_s.push_back(d.flops_per_s);
  devices.layer_overhead_s.push_back(d.layer_overhead_s);
  devices.cores.push_back(d.cores);
  devices.names.push_back(d.name.empty() ? fmt::format("unit{}", devices.names.size()) : d.name);
  devices.ops.push_back(d.ops);
}

DeviceEntry read_device(const detail::Reader& r, const YAML::Node& node, const std::string& where) {
  DeviceEntry d;
  detail::device_schema().read_record(d, r, node, where, {"flops_per_s"});
  return d;
}

sim::DeviceModel read_devices(const detail::Reader& r, const YAML::Node& root, int units) {
  sim::DeviceModel devices;
  if (root["devices"] && root["device"])
    r.fail(root["device"], "give either 'devices' (one per unit) or 'device' (all units)");
  if (const auto list = root["devices"]) {
    if (!list.IsSequence()) r.fail(list, "'devices' must be a list, one entry per unit");
    for (std::size_t i = 0; i < list.size(); ++i) add_device(devices, read_device(r, list[i], fmt::format("devices[{}]", i)));
    if (devices.units() != units)
      r.fail(list, fmt::format("'devices' lists {} units, but {} are used", devices.units(), units));
    return devices;
  }
  if (const auto one = root["device"]) {
    DeviceEntry d = read_device(r, one, "device");
    const std::string name = d.name.empty() ? "unit0" : d.name;
    for (int u = 0; u < units; ++u) {
      d.name = fmt::format("{}-{}", name, u);
      add_device(devices, d);
    }
    return devices;
  }
  return sim::DeviceModel::uniform(units, sim::kDefaultFlopsPerS);
}

}  // namespace

std::pair<sim::DeviceModel, sim::LinkModel> devices_from_yaml(const std::string& text,
                                                              const std::string& source,
                                                              int units) {
  detail::Reader r(source);
  const YAML::Node root = detail::load_yaml(text, source);
  if (!root.IsMap()) throw ParseError(source, 0, "not a device file (expected a mapping)");
  r.check_map(root, "", {"devices", "device", "link", "measured", "batch"});
  if (const auto m = root["measured"]) {  // what calibrate records: host, date, command
    if (!m.IsMap()) r.fail(m, "'measured' must be a mapping of strings (host, date, command)");
    for (const auto& kv : m) r.string(kv.second, "measured." + r.key(kv.first, "measured"));
  }
  auto devices = read_devices(r, root, units);
  if (const auto b = root["batch"]) {  // the images per inference the prices are for
    devices.batch = r.integer(b, "batch");
    if (devices.batch < 1 || devices.batch > 100000)
      r.fail(b, fmt::format("'batch' must lie in [1, 100000], got {}", devices.batch));
  }
  sim::LinkModel link;
  // Calibrated prices with a guessed link would mislead more than they help.
  if (units > 1 && !root["link"] && !devices.ops.empty() && devices.ops.front().set())
    r.fail(root, fmt::format("missing key 'link': a calibrated device file used for {} units needs the link "
                             "(concnas calibrate --local --world {})", units, units));
  if (const auto l = root["link"]) {
    detail::link_schema().read_record(link, r, l, "link");
    r.located(l, [&] { link.sanity_check(); });
  }
  return {devices, link};
}

std::pair<sim::DeviceModel, sim::LinkModel> load_devices(const std::string& path, int units) {
  return devices_from_yaml(read_file(path), path, units);
}

}  // namespace concnas::config
