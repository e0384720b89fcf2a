#include "concnas/sim/latency.h"

#include <algorithm>
#include <cmath>

#include "concnas/common/error.h"
#include "concnas/common/param_map.h"

namespace concnas::sim {

DeviceModel DeviceModel::uniform(int units, double flops_per_s, double layer_overhead_s) {
  DeviceModel d;
  d.flops_per_s.assign(units, flops_per_s);
  if (layer_overhead_s != 0) d.layer_overhead_s.assign(units, layer_overhead_s);
  return d;
}

int layer_calls(const arch::Architecture& arch, int v) {
  const auto& dag = arch.dag;
  if (v == dag.input()) return 1;
  const auto& spec = v == dag.output() ? arch.output : arch.vertices.at(v);
  return 1 + static_cast<int>(spec.scaling.size());
}

DeviceModel DeviceModel::only(const std::vector<int>& units) const {
  DeviceModel d;
  d.batch = batch;
  for (int u : units) {
    CONCNAS_CHECK(u >= 0 && u < this->units(), "unit {} is not one of the {} of the device model", u, this->units());
    d.flops_per_s.push_back(flops_per_s[u]);
    if (!cores.empty()) d.cores.push_back(cores[u]);
    if (!names.empty()) d.names.push_back(names[u]);
    if (!layer_overhead_s.empty()) d.layer_overhead_s.push_back(layer_overhead_s[u]);
    if (!ops.empty()) d.ops.push_back(ops[u]);
  }
  return d;
}

void DeviceModel::sanity_check() const {
  CONCNAS_CHECK(!flops_per_s.empty(), "a device model needs at least one unit");
  CONCNAS_CHECK(batch >= 1, "a device model's batch must be at least 1, got {}", batch);
  for (std::size_t i = 0; i < flops_per_s.size(); ++i)
    CONCNAS_CHECK(flops_per_s[i] > 0 && std::isfinite(flops_per_s[i]),
                  "unit {}: flops_per_s must be a positive number, got {}", i,
                  format_number(flops_per_s[i]));
  CONCNAS_CHECK(cores.empty() || cores.size() == flops_per_s.size(),
                "the device model gives cores for {} units and a speed for {}", cores.size(), flops_per_s.size());
  for (std::size_t i = 0; i < cores.size(); ++i)
    CONCNAS_CHECK(cores[i] >= 1, "unit {}: cores must be at least 1, got {}", i, cores[i]);
  CONCNAS_CHECK(layer_overhead_s.empty() || layer_overhead_s.size() == flops_per_s.size(),
                "the device model gives a layer overhead for {} units and a speed for {}", layer_overhead_s.size(),
                flops_per_s.size());
  for (std::size_t i = 0; i < layer_overhead_s.size(); ++i)
    CONCNAS_CHECK(layer_overhead_s[i] >= 0 && std::isfinite(layer_overhead_s[i]),
                  "unit {}: layer_overhead_s must be >= 0 seconds, got {}", i, format_number(layer_overhead_s[i]));
  CONCNAS_CHECK(ops.empty() || ops.size() == flops_per_s.size(),
                "the device model gives prices for {} units and a speed for {}", ops.size(), flops_per_s.size());
  for (std::size_t i = 0; i < ops.size(); ++i)
    CONCNAS_CHECK(ops[i].parallel_slowdown >= 1, "unit {}: ops.parallel_slowdown must be at least 1, got {}", i,
                  format_number(ops[i].parallel_slowdown));
}

void LinkModel::sanity_check() const {
  CONCNAS_CHECK(latency_s >= 0 && std::isfinite(latency_s),
                "link latency must be >= 0 seconds, got {}", format_number(latency_s));
  CONCNAS_CHECK(bandwidth_bytes_per_s > 0 && std::isfinite(bandwidth_bytes_per_s),
                "link bandwidth must be a positive number of bytes/s, got {}",
                format_number(bandwidth_bytes_per_s));
  CONCNAS_CHECK(send_overhead_s >= 0 && std::isfinite(send_overhead_s),
                "link send overhead must be >= 0 seconds, got {}", format_number(send_overhead_s));
  CONCNAS_CHECK(receive_overhead_s >= 0 && std::isfinite(receive_overhead_s),
                "link receive overhead must be >= 0 seconds, got {}", format_number(receive_overhead_s));
  CONCNAS_CHECK(bytes_per_element == 4 || bytes_per_element == 2,
                "link bytes per element must be 4 (float32) or 2 (float16), got {}", bytes_per_element);
}

namespace {

// FLOPs of DAG vertex v: the stem for the input vertex, the output's scaling blocks and
// the head for the output vertex.
double vertex_flops(const arch::Architecture& arch, const arch::ArchitectureCost& cost, int v) {
  if (v == arch.dag.input()) return static_cast<double>(cost.stem.flops);
  if (v == arch.dag.output()) return static_cast<double>(cost.output.flops + cost.head.flops);
  return static_cast<double>(cost.vertices[v].flops);
}

// Seconds one core of unit u takes for `flops` in `calls` layer calls.
double core_seconds(const DeviceModel& devices, double flops, int calls, int u) {
  return flops / devices.flops_per_s[u] + devices.overhead_of(u) * calls;
}

// FLOPs of the scaling block that brings sink `s` to the output's shape (0 without one).
double sink_scaling_flops(const arch::Architecture& arch, int s) {
  const auto* b = arch.output.scaling_from(s);
  return b ? static_cast<double>(arch::scaling_cost(*b, arch.output.in).flops) : 0.0;
}

// How much slower each step runs when the unit's cores run at once (priced units only).
double slowdown(const DeviceModel& devices, int u) {
  return devices.cores_of(u) > 1 ? devices.ops.at(u).parallel_slowdown : 1.0;
}

// Seconds one core of unit u takes for DAG vertex v (the stem for the input vertex).
double step_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost, const DeviceModel& devices,
                    int v, int u) {
  if (!devices.priced(u)) return core_seconds(devices, vertex_flops(arch, cost, v), layer_calls(arch, v), u);
  const auto work = v == arch.dag.input() ? stem_work(arch) : vertex_work(arch, v);
  return seconds_of(devices.ops[u], work) * slowdown(devices, u);
}

// Seconds one core of unit u takes to scale sink s to the output's shape.
double sink_seconds(const arch::Architecture& arch, const DeviceModel& devices, int s, int u) {
  if (!devices.priced(u)) return core_seconds(devices, sink_scaling_flops(arch, s), 1, u);
  return seconds_of(devices.ops[u], sink_work(arch, s)) * slowdown(devices, u);
}

// Seconds of the head on unit u over `partials` partial sums (FLOPs: the output vertex's
// and the head's, less the sinks' scaling).
double head_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost, const DeviceModel& devices,
                    double scaling_flops, int partials, int u) {
  if (!devices.priced(u))
    return core_seconds(devices, vertex_flops(arch, cost, arch.dag.output()) - scaling_flops, 1, u);
  return seconds_of(devices.ops[u], head_work(arch, partials)) + devices.ops[u].inference_s;
}

bool any_priced(const DeviceModel& devices) {
  for (int u = 0; u < devices.units(); ++u)
    if (devices.priced(u)) return true;
  return false;
}

}  // namespace

double vertex_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost, const DeviceModel& devices,
                      int v, int unit) {
  return step_seconds(arch, cost, devices, v, unit);
}

std::vector<double> remaining_path_flops(const arch::Architecture& arch, const arch::ArchitectureCost& cost) {
  const auto& dag = arch.dag;
  std::vector<double> rank(dag.num_vertices(), 0.0);
  const auto order = dag.topological_order();
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int v = *it;
    double after = 0;
    for (int s : dag.successors(v)) after = std::max(after, rank[s]);
    // At least one FLOP per vertex, so the rank falls strictly along every edge.
    rank[v] = std::max(vertex_flops(arch, cost, v), 1.0) + after;
  }
  return rank;
}

std::vector<int> priority_order(const arch::Architecture& arch, const std::vector<double>& rank) {
  const auto& dag = arch.dag;
  std::vector<int> order, position(dag.num_vertices(), 0);
  const auto topo = dag.topological_order();
  for (std::size_t i = 0; i < topo.size(); ++i) position[topo[i]] = static_cast<int>(i);
  for (int v : topo)
    if (v != dag.output()) order.push_back(v);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    return rank[a] != rank[b] ? rank[a] > rank[b] : position[a] < position[b];
  });
  return order;
}

namespace {

// The schedule of one inference under the model of latency.h.
struct Timeline {
  double latency_s = 0;
  std::vector<double> busy_s;
  std::int64_t comm_bytes = 0;
};

// Bytes of what each compute vertex (and the input vertex: the images) sends another unit,
// as the plan sends it (arch::sent_part over the consumers on other units), or 2 per
// element on a float16 link.
std::vector<double> sent_bytes(const arch::Architecture& arch, const std::vector<int>& parts, const LinkModel& link) {
  const auto& dag = arch.dag;
  std::vector<double> bytes(dag.num_vertices(), 0.0);
  for (int v = 0; v < dag.num_vertices(); ++v) {
    if (v == dag.output()) continue;
    auto remote = [&](int s) { return parts[s] != parts[v] && s != dag.output(); };
    const auto part = v == dag.input() ? arch::images_part(arch) : arch::sent_part(arch, v, remote);
    bytes[v] = static_cast<double>(link.bytes_per_element == 2 ? 2 * part.elements() : part.bytes());
  }
  return bytes;
}

// Bytes a float32 tensor of `bytes` takes on the link.
double on_link(const LinkModel& link, double bytes) { return bytes * link.bytes_per_element / 4.0; }

// When all of v's inputs are on v's unit: those from other units arrive over the link.
// The images leave unit 0 as the inference starts (another unit runs the stem on them
// itself, receive_seconds).
double ready_time(const arch::Architecture& arch, const std::vector<double>& sent, const std::vector<int>& parts,
                  const LinkModel& link, const std::vector<double>& finish, int v) {
  double ready = 0;
  for (int p : arch.dag.predecessors(v)) {
    double arrival = finish[p];
    if (parts[p] != parts[v])
      arrival = (p == arch.dag.input() ? 0.0 : arrival) + link.latency_s + sent[p] / link.bandwidth_bytes_per_s;
    ready = std::max(ready, arrival);
  }
  return ready;
}

// One copy of v's tensor per receiving unit, posted by `core`, the one that computed it;
// `sent` is scratch of one entry per unit.
void post_sends(const arch::Architecture& arch, const std::vector<double>& bytes, const std::vector<int>& parts,
                const LinkModel& link, int v, std::vector<char>& sent, double& core, Timeline& r) {
  const auto& dag = arch.dag;
  const int u = parts[v];
  std::fill(sent.begin(), sent.end(), 0);
  for (int s : dag.successors(v))
    if (parts[s] != u && s != dag.output() && !sent[parts[s]]) {
      sent[parts[s]] = 1;
      r.comm_bytes += static_cast<std::int64_t>(bytes[v]);
      core += link.send_overhead_s;
      r.busy_s[u] += link.send_overhead_s;
    }
}

// Seconds unit u > 0 takes to pool and add up its sinks, on one core after its vertices
// (a unit of FLOP prices: none, the head's FLOPs hold that work; unit 0's is in its
// `inference_s`, as calibration measures it).
double partial_seconds(const arch::Architecture& arch, const std::vector<int>& parts, const DeviceModel& devices,
                       int u) {
  if (!devices.priced(u)) return 0;
  return seconds_of(devices.ops[u], partial_work(arch, parts, u));
}

// The output vertex, as the runtime runs it (deploy/plan.h): once its last vertex (and
// sink scaling) is done, every unit holding sinks pools and adds them up; the others send
// that pooled partial sum (C values per image) to unit 0, which averages the partial sums
// and runs the head. `core_free`: when each core of each unit is done with the other
// vertices.
void run_output(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                const std::vector<int>& parts, const DeviceModel& devices, const LinkModel& link,
                const std::vector<std::vector<double>>& core_free, Timeline& r) {
  const auto& out = arch.output;
  const int units = devices.units();
  std::vector<char> holds(units, 0);
  double scaling_flops = 0;
  for (int s : out.inputs) {
    holds[parts[s]] = 1;
    scaling_flops += sink_scaling_flops(arch, s);
  }
  std::vector<double> unit_free(units);
  for (int u = 0; u < units; ++u) unit_free[u] = *std::max_element(core_free[u].begin(), core_free[u].end());
  const double out_bytes = on_link(link, static_cast<double>(out.in.channels) * 4.0);
  double head_ready = 0;
  int partials = holds[0] ? 1 : 0;
  for (int u = 1; u < units; ++u) {
    if (!holds[u]) continue;
    ++partials;
    const double pooled_and_posted = partial_seconds(arch, parts, devices, u) + link.send_overhead_s;
    unit_free[u] += pooled_and_posted;
    r.busy_s[u] += pooled_and_posted;
    r.comm_bytes += static_cast<std::int64_t>(out_bytes);
    head_ready = std::max(head_ready,
                          unit_free[u] + link.latency_s + out_bytes / link.bandwidth_bytes_per_s);
  }
  const double received = (partials - (holds[0] ? 1 : 0)) * link.receive_overhead_s;
  const double head = head_seconds(arch, cost, devices, scaling_flops, partials, 0) + received;
  r.latency_s = std::max(head_ready, unit_free[0]) + head;
  r.busy_s[0] += head;
}

// Seconds unit u spends taking in the inputs of v from other units that it has not taken
// in yet (`received`: per DAG vertex and unit), the stem on received images included.
double receive_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost, const DeviceModel& devices,
                       const std::vector<int>& parts, const LinkModel& link, int v, std::vector<char>& received) {
  double s = 0;
  for (int p : arch.dag.predecessors(v)) {
    auto& got = received[static_cast<std::size_t>(p) * devices.units() + parts[v]];
    if (parts[p] == parts[v] || got) continue;
    got = 1;
    s += link.receive_overhead_s;
    if (p == arch.dag.input()) s += step_seconds(arch, cost, devices, p, parts[v]);
  }
  return s;
}

// `order`: priority_order's, the order the vertices are placed on their units' cores.
Timeline run_schedule(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                      const std::vector<int>& parts, const DeviceModel& devices, const LinkModel& link,
                      const std::vector<int>& order) {
  const auto& dag = arch.dag;
  const int units = devices.units();
  Timeline r;
  r.busy_s.assign(units, 0.0);
  std::vector<double> finish(dag.num_vertices(), 0.0);
  std::vector<std::vector<double>> core_free(units);
  for (int u = 0; u < units; ++u) core_free[u].assign(devices.cores_of(u), 0.0);
  std::vector<char> sent(units), received(static_cast<std::size_t>(dag.num_vertices()) * units, 0);
  const auto bytes = sent_bytes(arch, parts, link);
  for (int v : order) {
    const int u = parts[v];
    const double ready = ready_time(arch, bytes, parts, link, finish, v);
    auto& core = *std::min_element(core_free[u].begin(), core_free[u].end());
    const double run =
        step_seconds(arch, cost, devices, v, u) + receive_seconds(arch, cost, devices, parts, link, v, received);
    core = std::max(ready, core) + run;
    r.busy_s[u] += run;
    post_sends(arch, bytes, parts, link, v, sent, core, r);
    // Receivers see v's tensor once all of its sends are posted.
    finish[v] = core;
    // A sink's scaling block runs on the same core right after (the engine scales each
    // sink as soon as it is computed, not all at the end).
    if (v != dag.input() && arch.output.scaling_from(v)) {
      const double scaling = sink_seconds(arch, devices, v, u);
      core += scaling;
      r.busy_s[u] += scaling;
    }
  }
  run_output(arch, cost, parts, devices, link, core_free, r);
  return r;
}

// The latency on unit 0 alone: with one core priced by FLOP/s, all FLOPs and calls back
// to back; else its schedule.
double single_device_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                             const DeviceModel& devices, const LinkModel& link,
                             const std::vector<int>& order, int all_calls) {
  if (devices.cores_of(0) == 1 && !devices.priced(0))
    return static_cast<double>(cost.total.flops) / devices.flops_per_s[0] +
           devices.overhead_of(0) * all_calls;
  const std::vector<int> all_on_0(arch.dag.num_vertices(), 0);
  return run_schedule(arch, cost, all_on_0, devices, link, order).latency_s;
}

// The least time any unit takes for a step: `seconds(u)` on unit u.
template <typename F>
double fastest(const DeviceModel& devices, F seconds) {
  double best = seconds(0);
  for (int u = 1; u < devices.units(); ++u) best = std::min(best, seconds(u));
  return best;
}

// Critical path: every vertex at its fastest unit's time; the output's scaling blocks run
// beside each other, after their own sinks, as in run_schedule, then the head.
double critical_path_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                             const DeviceModel& devices, double scaling_flops) {
  const auto& dag = arch.dag;
  const auto& out = arch.output;
  std::vector<double> path(dag.num_vertices(), 0.0);
  for (int v : dag.topological_order()) {
    if (v == dag.output()) continue;
    double before = 0;
    for (int p : dag.predecessors(v)) before = std::max(before, path[p]);
    path[v] = before + fastest(devices, [&](int u) { return step_seconds(arch, cost, devices, v, u); });
  }
  double sinks_done = 0;
  for (int s : out.inputs) {
    const double scaling =
        out.scaling_from(s) ? fastest(devices, [&](int u) { return sink_seconds(arch, devices, s, u); }) : 0.0;
    sinks_done = std::max(sinks_done, path[s] + scaling);
  }
  return sinks_done + fastest(devices, [&](int u) { return head_seconds(arch, cost, devices, scaling_flops, 1, u); });
}

// With priced units: every step takes at least its fastest unit's time, and all cores of
// all units work at once at most.
double priced_work_bound_seconds(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                                 const DeviceModel& devices, double scaling_flops) {
  const auto& dag = arch.dag;
  double work = fastest(devices, [&](int u) { return head_seconds(arch, cost, devices, scaling_flops, 1, u); });
  int cores = 0;
  for (int u = 0; u < devices.units(); ++u) cores += devices.cores_of(u);
  for (int v = 0; v < dag.num_vertices(); ++v)
    if (v != dag.output()) work += fastest(devices, [&](int u) { return step_seconds(arch, cost, devices, v, u); });
  for (int s : arch.output.inputs)
    work += fastest(devices, [&](int u) { return sink_seconds(arch, devices, s, u); });
  return work / cores;
}

// Work: each unit u is busy for at least (its FLOPs + its calls * overhead_u * FLOP/s_u) /
// FLOP/s_u, so the latency is at least (all FLOPs + all calls * min_u(overhead_u *
// FLOP/s_u)) / sum of FLOP/s.
double work_bound_seconds(const arch::ArchitectureCost& cost, const DeviceModel& devices,
                          int all_calls) {
  double speed_sum = 0, cheapest_call = devices.overhead_of(0) * devices.flops_per_s[0];
  for (int u = 0; u < devices.units(); ++u) {
    speed_sum += devices.flops_per_s[u] * devices.cores_of(u);
    cheapest_call = std::min(cheapest_call, devices.overhead_of(u) * devices.flops_per_s[u]);
  }
  return (static_cast<double>(cost.total.flops) + cheapest_call * all_calls) / speed_sum;
}

}  // namespace

SimResult simulate(const arch::Architecture& arch, const arch::ArchitectureCost& cost,
                   const std::vector<int>& parts, const DeviceModel& devices,
                   const LinkModel& link) {
  devices.sanity_check();
  link.sanity_check();
  const auto& dag = arch.dag;
  const int units = devices.units();
  CONCNAS_CHECK(static_cast<int>(parts.size()) == dag.num_vertices(),
                "partition has {} entries for {} vertices", parts.size(), dag.num_vertices());
  for (int p : parts)
    CONCNAS_CHECK(p >= 0 && p < units, "unit {} is outside the {} devices", p, units);
  double scaling_flops = 0;
  for (int s : arch.output.inputs) scaling_flops += sink_scaling_flops(arch, s);
  SimResult r;
  const auto order = priority_order(arch, remaining_path_flops(arch, cost));
  auto timeline = run_schedule(arch, cost, parts, devices, link, order);
  r.latency_s = timeline.latency_s;
  r.busy_s = std::move(timeline.busy_s);
  r.comm_bytes = timeline.comm_bytes;
  int all_calls = 0;
  for (int v = 0; v < dag.num_vertices(); ++v) all_calls += layer_calls(arch, v);
  r.single_device_s = single_device_seconds(arch, cost, devices, link, order, all_calls);
  r.speedup = r.latency_s > 0 ? r.single_device_s / r.latency_s : 1.0;
  // The larger of two lower bounds on the latency (latency.h).
  const double work = any_priced(devices) ? priced_work_bound_seconds(arch, cost, devices, scaling_flops)
                                          : work_bound_seconds(cost, devices, all_calls);
  r.lower_bound_s = std::max(critical_path_seconds(arch, cost, devices, scaling_flops), work);
  return r;
}

}  // namespace concnas::sim
