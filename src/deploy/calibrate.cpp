#include "concnas/deploy/calibrate.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "concnas/arch/baselines.h"
#include "concnas/common/error.h"
#include "concnas/deploy/engine.h"
#include "concnas/deploy/export.h"
#include "concnas/nn/network.h"
#include "concnas/sim/latency.h"
#include "concnas/sim/op_fit.h"
#include "steady_ns.h"

namespace concnas::deploy {
namespace {

using detail::now_ns;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One calibration network compiled into the engine at some core count.
class Bench {
 public:
  Bench(const arch::Architecture& a, int cores, int batch)
      : arch_(a), batch_(batch), plan_(make_plan(a, std::vector<int>(a.dag.num_vertices(), 0), 1)), net_(a) {
    net_->eval();
    engine_ = std::make_unique<Engine>(a, plan_, 0, unit_module(a, *net_, plan_, 0), EngineOptions{cores});
    const auto& in = a.network.input;
    images_ = torch::randn({batch, in.channels, in.height, in.width});
  }

  // Seconds of one whole inference.
  double infer() {
    const auto t0 = now_ns();
    engine_->head({engine_->run(batch_, &images_, {})});
    return static_cast<double>(now_ns() - t0) * 1e-9;
  }

  // One inference on one core with every step timed: key -> seconds, where a compute
  // vertex is its id, the stem -1 and the scaling of sink s -(s + 2); `whole`: the seconds
  // of the same inference.
  std::map<int, double> timed_steps(double& whole) {
    std::vector<std::pair<int, std::int64_t>> events;  // (vertex, ns), in the order run
    EngineHooks hooks;
    hooks.ran = [&](int v, int, std::int64_t begin) { events.push_back({v, now_ns() - begin}); };
    const auto t0 = now_ns();
    engine_->head({engine_->run(batch_, &images_, hooks)});
    whole = static_cast<double>(now_ns() - t0) * 1e-9;
    std::map<int, double> out;
    const auto& dag = arch_.dag;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto [v, ns] = events[i];
      const double s = static_cast<double>(ns) * 1e-9;
      if (v == dag.input()) out[-1] = s;
      else if (v != dag.output()) out[v] = s;
      else if (i > 0 && events[i - 1].first < dag.num_compute() && arch_.output.scaling_from(events[i - 1].first))
        out[-(events[i - 1].first + 2)] = s;  // the sink just computed, scaled
    }
    return out;
  }

 private:
  arch::Architecture arch_;
  int batch_;
  Plan plan_;
  nn::Network net_;
  std::unique_ptr<Engine> engine_;
  torch::Tensor images_;
};

// The work of a timed step's key (Bench::timed_steps).
sim::StepWork work_of(const arch::Architecture& a, int key) {
  if (key == -1) return sim::stem_work(a);
  if (key >= 0) return sim::vertex_work(a, key);
  return sim::sink_work(a, -key - 2);
}

double predicted(const arch::Architecture& a, const sim::OpCosts& ops, int cores) {
  sim::DeviceModel d = sim::DeviceModel::uniform(1, sim::kDefaultFlopsPerS);
  d.cores = {cores};
  d.ops = {ops};
  return sim::simulate(a, arch::compute_cost(a), std::vector<int>(a.dag.num_vertices(), 0), d, {}).latency_s;
}

// A calibration network's median whole inference (timed apart: the hooks cost a little),
// the sum of its steps' medians, and what its inferences took beyond their timed steps:
// the median over inferences of each one's whole less its own steps.
struct NetworkTiming {
  double whole_s = 0;
  double steps_s = 0;
  double rest_s = 0;
};

// Medians of every step over `runs` timed inferences, as samples, and the network's timing.
NetworkTiming time_network(Bench& b, const arch::Architecture& a, const DeviceCalibrationOptions& o,
                           std::vector<sim::TimedWork>& samples) {
  for (int i = 0; i < o.warmup; ++i) b.infer();
  std::map<int, std::vector<double>> steps;
  std::vector<double> rest;
  for (int i = 0; i < o.runs; ++i) {
    double whole = 0;
    rest.push_back(0);
    for (const auto& [key, s] : b.timed_steps(whole)) {
      steps[key].push_back(s);
      rest.back() -= s;
    }
    rest.back() += whole;
  }
  NetworkTiming t;
  for (const auto& [key, s] : steps) {
    samples.push_back({work_of(a, key), median(s)});
    t.steps_s += samples.back().seconds;
  }
  t.rest_s = median(rest);
  std::vector<double> whole;
  for (int i = 0; i < o.runs; ++i) whole.push_back(b.infer());
  t.whole_s = median(whole);
  return t;
}

// The slowdown at which the median predicted / measured ratio of the networks is 1.
double fit_slowdown(const std::vector<arch::Architecture>& nets, const std::vector<double>& measured,
                    sim::OpCosts ops, int cores) {
  auto median_ratio = [&](double slowdown) {
    ops.parallel_slowdown = slowdown;
    std::vector<double> r;
    for (std::size_t i = 0; i < nets.size(); ++i) r.push_back(predicted(nets[i], ops, cores) / measured[i]);
    return median(r);
  };
  double lo = 1, hi = 3;
  if (median_ratio(lo) >= 1) return lo;
  for (int i = 0; i < 30; ++i) {
    const double mid = 0.5 * (lo + hi);
    (median_ratio(mid) < 1 ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

// The calibration networks: other sizes and seeds than any benchmark's, for 28x28 grey
// images and 10 classes, from narrow and shallow to wide and deep.
std::vector<arch::Architecture> calibration_networks() {
  struct Spec {
    const char* generator;
    int nodes;
    std::vector<std::pair<const char*, double>> params;
    int stem, limit;
    std::uint64_t seed;
  };
  const std::vector<Spec> specs{
      {"dp", 40, {{"alpha", 1}, {"beta", 2}, {"p", 0.75}}, 16, 64, 101}, {"er", 40, {{"p", 0.2}}, 16, 96, 102},
      {"ba", 40, {{"m", 5}}, 16, 96, 103},          {"ws", 40, {{"k", 4}, {"p", 0.75}}, 16, 96, 104},
      {"dp", 60, {}, 32, 128, 105},                   {"er", 24, {{"p", 0.3}}, 8, 64, 106},
      {"ws", 50, {{"k", 6}, {"p", 0.5}}, 24, 128, 107}};
  std::vector<arch::Architecture> out;
  for (const auto& s : specs) {
    arch::GenerateOptions o;
    o.generator = s.generator;
    o.nodes = s.nodes;
    for (const auto& [k, v] : s.params) o.params.set(k, v);
    o.seed = s.seed;
    o.network.stem_channels = s.stem;
    o.network.channel_limit = s.limit;
    out.push_back(arch::generate_architecture(o, graph::builtin_generators(), arch::builtin_staging_policies()));
  }
  arch::NetworkOptions chain;
  chain.channel_limit = 96;
  out.push_back(arch::chain_architecture(30, arch::StagingOptions{}, chain, 108));
  return out;
}

DeviceCalibration calibrate_device(const DeviceCalibrationOptions& o) {
  CONCNAS_CHECK(o.cores >= 1, "calibration needs at least one core, not {}", o.cores);
  CONCNAS_CHECK(o.runs >= 1 && o.warmup >= 0, "calibration needs runs >= 1 and warmup >= 0");
  CONCNAS_CHECK(o.batch >= 1, "calibration needs a batch of at least 1 image, not {}", o.batch);
  torch::manual_seed(0);
  const auto nets = calibration_networks();
  const int total = static_cast<int>(nets.size());
  std::vector<sim::TimedWork> samples;
  std::vector<double> one_core, rest, in_steps;
  for (int i = 0; i < total; ++i) {
    if (o.progress) o.progress("1 core", i, total);
    Bench b(nets[i], 1, o.batch);
    const auto t = time_network(b, nets[i], o, samples);
    one_core.push_back(t.whole_s);
    rest.push_back(t.rest_s);
    if (t.steps_s > 0) in_steps.push_back((t.whole_s - t.rest_s) / t.steps_s);
  }
  DeviceCalibration c;
  c.ops = sim::fit_op_costs(samples);
  c.steps_timed = static_cast<int>(samples.size());
  std::vector<double> errors;
  for (double e : sim::relative_errors(c.ops, samples)) errors.push_back(std::abs(e));
  c.median_step_error = median(errors);
  // The prices are of the steps' medians; inside a whole inference the steps take more (on
  // this host a step's times are skewed to the right, so the sum of medians falls short of
  // a typical whole): the prices are scaled by the median ratio of the whole's time in
  // steps to that sum. What the steps leave out (the engine's start and end of an
  // inference, the partial sum and the head, going from step to step) is measured
  // inference by inference. (Not the whole inference less the fitted prices: that also
  // takes in the fit's error on the typical network and carries it to every other one.)
  if (!in_steps.empty()) c.ops = sim::scaled_prices(c.ops, median(in_steps));
  c.ops.inference_s = std::max(0.0, median(rest));
  for (int i = 0; i < total; ++i) {
    c.networks.push_back({nets[i].name, 1, one_core[i], predicted(nets[i], c.ops, 1)});
    c.flops_one_core += static_cast<double>(arch::compute_cost(nets[i]).total.flops);
  }
  if (o.cores > 1) {
    std::vector<double> many;
    for (int i = 0; i < total; ++i) {
      if (o.progress) o.progress(fmt::format("{} cores", o.cores), i, total);
      Bench b(nets[i], o.cores, o.batch);
      for (int w = 0; w < o.warmup; ++w) b.infer();
      std::vector<double> whole;
      for (int r = 0; r < o.runs; ++r) whole.push_back(b.infer());
      many.push_back(median(whole));
    }
    c.ops.parallel_slowdown = fit_slowdown(nets, many, c.ops, o.cores);
    for (int i = 0; i < total; ++i)
      c.networks.push_back({nets[i].name, o.cores, many[i], predicted(nets[i], c.ops, o.cores)});
  }
  if (o.progress) o.progress("done", total, total);
  return c;
}

}  // namespace concnas::deploy
