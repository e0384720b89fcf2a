#include "concnas/deploy/benchmark.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/deploy/export.h"
#include "concnas/nn/input.h"

namespace concnas::deploy {
namespace {

// The q-quantile of `v` (nearest rank).
double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(at, v.size() - 1)];
}

}  // namespace

Deployment read_baseline(const Deployment& d, const std::string& dir) {
  auto b = read_deployment(dir);
  CONCNAS_CHECK(b.plan.num_units == 1,
                "--baseline {} has {} units; the baseline runs in one process (export it with --units 1)", dir,
                b.plan.num_units);
  CONCNAS_CHECK(config::architecture_to_yaml(b.arch) == config::architecture_to_yaml(d.arch),
                "--baseline {} deploys architecture '{}', not the one of {} ('{}')", dir, b.arch.name, d.dir,
                d.arch.name);
  CONCNAS_CHECK(b.input.mean == d.input.mean && b.input.std == d.input.std,
                "--baseline {} normalises its input differently from {} (another training run?)", dir, d.dir);
  check_unit_file(b, 0);
  return b;
}

namespace {

void check_benchmark_input(const Deployment& d, const data::ImageSet& set, const BenchmarkOptions& options) {
  const auto& in = d.arch.network.input;
  CONCNAS_CHECK(set.channels == in.channels && set.height == in.height && set.width == in.width,
                "the input images are {}x{}x{}; architecture '{}' takes {}x{}x{}", set.channels, set.height,
                set.width, d.arch.name, in.channels, in.height, in.width);
  CONCNAS_CHECK(set.size() >= 1, "the input set has no images");
  CONCNAS_CHECK(options.batch >= 1 && static_cast<std::size_t>(options.batch) <= set.size(),
                "--batch {} must be in 1..{} (the images in the set)", options.batch, set.size());
  CONCNAS_CHECK(options.all || options.runs >= 1, "--runs must be at least 1");
  CONCNAS_CHECK(options.warmup >= 0, "--warmup must be at least 0");
}

// Every output row (image, label, logits), written to a temporary file and renamed when
// the run is complete.
class LogitsCsv {
 public:
  LogitsCsv(const std::string& path, int classes) : path_(path), classes_(classes) {
    if (path_.empty()) return;
    out_.open(path_ + ".tmp");
    if (!out_) throw IoError("cannot write " + path_ + ".tmp");
    out_ << "image,label";
    for (int k = 0; k < classes_; ++k) out_ << ",logit" << k;
    out_ << "\n";
  }
  void add(const torch::Tensor& logits, const data::ImageSet& set, std::size_t first, std::size_t count) {
    if (!out_.is_open()) return;
    const auto rows = logits.contiguous();
    const float* p = rows.data_ptr<float>();
    for (std::size_t k = 0; k < count; ++k) {
      out_ << first + k << "," << static_cast<int>(set.labels[first + k]);
      for (int c = 0; c < classes_; ++c) out_ << "," << fmt::format("{:.9g}", p[k * classes_ + c]);
      out_ << "\n";
    }
  }
  void commit() {
    if (!out_.is_open()) return;
    out_.close();
    if (!out_) throw IoError("cannot write " + path_ + ".tmp");
    std::rename((path_ + ".tmp").c_str(), path_.c_str());
  }

 private:
  std::string path_;
  int classes_;
  std::ofstream out_;
};

// The baseline runs the same images in blocks, before the deployment's block or after it
// in turn: a peer idle for a whole baseline inference wakes slowly on a virtual machine,
// which alternating every inference would charge to the deployment.
class BaselineBlocks {
 public:
  static constexpr std::int64_t kBlock = 10;
  static bool runs_first(std::int64_t i) { return (i / kBlock) % 2 == 1; }

  explicit BaselineBlocks(std::unique_ptr<Worker> base) : base_(std::move(base)) {}
  Worker& worker() { return *base_; }
  // Before inference `i` of the deployment.
  template <typename Input>
  void before(std::int64_t i, std::int64_t runs, const Input& input) {
    if (i % kBlock == 0 && runs_first(i)) run_block(i, runs, input);
  }
  // After inference `i`, whose output is `logits` and time `ms[i]`.
  template <typename Input>
  void after(std::int64_t i, std::int64_t runs, const torch::Tensor& logits, const std::vector<double>& ms,
             const Input& input) {
    const std::int64_t block = i - i % kBlock;
    block_logits_.push_back(logits);
    if (i + 1 != std::min(block + kBlock, runs)) return;
    if (!runs_first(i)) run_block(block, runs, input);
    for (std::size_t k = 0; k < block_logits_.size(); ++k) {
      const std::size_t at = static_cast<std::size_t>(block) + k;
      ratios_.push_back(base_ms_[at] / ms[at]);
      diff_ = std::max(diff_, (block_logits_[k] - base_logits_[k]).abs().max().item<double>());
    }
    block_logits_.clear();
  }
  const std::vector<double>& ms() const { return base_ms_; }
  BaselineReport report(const std::string& dir, double p50_ms) const {
    BaselineReport b;
    b.dir = dir;
    b.p50_ms = percentile(base_ms_, 0.5);
    b.p95_ms = percentile(base_ms_, 0.95);
    b.speedup = b.p50_ms / p50_ms;
    b.paired_speedup = percentile(ratios_, 0.5);
    b.max_abs_diff = diff_;
    return b;
  }

 private:
  template <typename Input>
  void run_block(std::int64_t begin, std::int64_t runs, const Input& input) {
    base_logits_.clear();
    for (std::int64_t i = begin; i < std::min(begin + kBlock, runs); ++i) {
      const auto x = input(i);
      const auto t0 = std::chrono::steady_clock::now();
      base_logits_.push_back(base_->infer(x));
      base_ms_.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::unique_ptr<Worker> base_;
  std::vector<double> base_ms_, ratios_;
  std::vector<torch::Tensor> block_logits_, base_logits_;
  double diff_ = 0;
};

// One row per timed inference: its latency, the baseline's, and what worker 0 computed.
void write_latencies_csv(const std::string& path, const std::vector<double>& ms, Worker& worker,
                         BaselineBlocks* base, int warmup_runs) {
  std::string rows = base ? "inference,ms,baseline_ms,baseline_first,baseline_compute_ms,w0_compute_ms\n"
                          : "inference,ms,w0_compute_ms\n";
  // Both workers count the untimed inferences too, and run one call per inference.
  const auto& compute = worker.compute_ms();
  const auto warmup = static_cast<std::size_t>(warmup_runs);
  CONCNAS_CHECK(compute.size() == warmup + ms.size() && (!base || base->worker().compute_ms().size() == compute.size()),
                "worker 0 timed {} computations for {} inferences", compute.size(), warmup + ms.size());
  for (std::size_t i = 0; i < ms.size(); ++i) {
    rows += fmt::format("{},{:.6f}", i, ms[i]);
    if (base)
      rows += fmt::format(",{:.6f},{:d},{:.6f}", base->ms()[i], BaselineBlocks::runs_first(static_cast<std::int64_t>(i)),
                          base->worker().compute_ms()[warmup + i]);
    rows += fmt::format(",{:.6f}\n", compute[warmup + i]);
  }
  write_file_atomic(path, rows);
}

void summarise(BenchmarkReport& r, const std::vector<double>& ms, double busy_s) {
  r.p50_ms = percentile(ms, 0.5);
  r.p95_ms = percentile(ms, 0.95);
  r.min_ms = *std::min_element(ms.begin(), ms.end());
  double total = 0;
  for (double v : ms) total += v;
  r.mean_ms = total / static_cast<double>(ms.size());
  r.images_per_s = busy_s > 0 ? static_cast<double>(r.images) / busy_s : 0;
}

std::unique_ptr<BaselineBlocks> open_baseline(const Deployment& d, const BenchmarkOptions& options, int cores,
                                              bool fp16) {
  if (options.baseline.empty()) return nullptr;
  const auto b = read_baseline(d, options.baseline);
  WorkerOptions o;
  o.cores = cores;
  o.fp16 = fp16;
  return std::make_unique<BaselineBlocks>(std::make_unique<Worker>(b, o));
}

}  // namespace

BenchmarkReport run_benchmark(Worker& worker, const Deployment& d, const data::ImageSet& set,
                              const BenchmarkOptions& options, bool fp16) {
  check_benchmark_input(d, set, options);
  const std::size_t batch = static_cast<std::size_t>(options.batch);
  const std::int64_t runs = options.all ? static_cast<std::int64_t>((set.size() + batch - 1) / batch) : options.runs;
  std::optional<LocalExecutor> reference;
  if (options.check) reference.emplace(d.arch, d.plan, d.dir);
  auto base = open_baseline(d, options, worker.cores(), fp16);
  LogitsCsv csv(options.logits_csv, d.arch.network.classes);
  auto slice = [&](std::int64_t i) {
    std::size_t first = (static_cast<std::size_t>(i) * batch) % set.size();
    return std::pair{first, std::min(batch, set.size() - first)};
  };
  auto input = [&](std::int64_t i) {
    const auto [first, count] = slice(i);
    return nn::input_tensor(set, {d.input.mean, d.input.std}, first, count);
  };
  for (int i = 0; i < options.warmup; ++i) {
    const auto x = input(i);
    worker.infer(x);
    if (base) base->worker().infer(x);
  }
  BenchmarkReport r;
  r.worker0_cpus = cpus_of_this_process();
  r.units = d.plan.num_units;
  r.batch = options.batch;
  r.fp16 = fp16;
  r.bytes_per_image = d.plan.bytes_per_image(fp16);
  std::vector<double> ms;
  std::int64_t correct = 0;
  double max_diff = 0, busy_s = 0;
  for (std::int64_t i = 0; i < runs; ++i) {
    const auto [first, count] = slice(i);
    const auto x = input(i);
    if (base) base->before(i, runs, input);
    const auto t0 = std::chrono::steady_clock::now();
    const auto logits = worker.infer(x);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    busy_s += s;
    ms.push_back(s * 1e3);
    if (base) base->after(i, runs, logits, ms, input);
    r.images += static_cast<std::int64_t>(count);
    const auto predicted = logits.argmax(1);
    for (std::size_t k = 0; k < count; ++k)
      correct += predicted[static_cast<std::int64_t>(k)].item<std::int64_t>() == set.labels[first + k];
    if (reference) max_diff = std::max(max_diff, (logits - reference->forward(x)).abs().max().item<double>());
    csv.add(logits, set, first, count);
  }
  worker.finish();
  r.measured_bytes_per_image = worker.bytes_sent_per_image();
  csv.commit();
  if (!options.latencies_csv.empty()) write_latencies_csv(options.latencies_csv, ms, worker, base.get(), options.warmup);
  r.inferences = runs;
  summarise(r, ms, busy_s);
  if (base) r.baseline = base->report(options.baseline, r.p50_ms);
  if (options.labelled) r.accuracy = static_cast<double>(correct) / static_cast<double>(r.images);
  if (reference) r.max_abs_diff = max_diff;
  return r;
}

std::string BenchmarkReport::to_json() const {
  nlohmann::ordered_json j{{"units", units},
                           {"batch", batch},
                           {"fp16", fp16},
                           {"inferences", inferences},
                           {"images", images},
                           {"latency_ms", {{"p50", p50_ms}, {"p95", p95_ms}, {"mean", mean_ms}, {"min", min_ms}}},
                           {"images_per_s", images_per_s},
                           {"bytes_per_image", bytes_per_image},
                           {"measured_bytes_per_image", measured_bytes_per_image},
                           {"worker0_cpus", worker0_cpus}};
  j["accuracy"] = accuracy ? nlohmann::ordered_json(*accuracy) : nlohmann::ordered_json();
  j["max_abs_diff"] = max_abs_diff ? nlohmann::ordered_json(*max_abs_diff) : nlohmann::ordered_json();
  if (predicted_ms) j["predicted_ms"] = *predicted_ms;
  if (baseline) {
    j["baseline"] = {{"plan", baseline->dir},
                     {"latency_ms", {{"p50", baseline->p50_ms}, {"p95", baseline->p95_ms}}},
                     {"speedup_p50", baseline->speedup},
                     {"paired_speedup_median", baseline->paired_speedup},
                     {"max_abs_diff", baseline->max_abs_diff}};
    if (baseline->predicted_ms) j["baseline"]["predicted_ms"] = *baseline->predicted_ms;
  }
  return j.dump(2) + "\n";
}

std::string BenchmarkReport::to_text() const {
  std::string s = fmt::format("{} unit{}, batch {}{}: {} inferences, latency p50 {:.3f} ms, p95 {:.3f} ms, "
                              "{:.1f} images/s, {} bytes per image between units (sent: {:.0f})",
                              units, units == 1 ? "" : "s", batch, fp16 ? ", fp16 activations" : "", inferences,
                              p50_ms, p95_ms, images_per_s, bytes_per_image, measured_bytes_per_image);
  if (accuracy) s += fmt::format(", accuracy {:.2f}%", *accuracy * 100);
  if (max_abs_diff) s += fmt::format(", max |logit - single process| {:.2e}", *max_abs_diff);
  if (predicted_ms) s += fmt::format("\npredicted by the devices file: {:.3f} ms ({:+.1f}% of the measured p50)", *predicted_ms,
                                     100 * (*predicted_ms / p50_ms - 1));
  if (baseline)
    s += fmt::format("\nbaseline {} (1 unit, alternating): p50 {:.3f} ms, p95 {:.3f} ms; speedup {:.2f}x at p50, "
                     "{:.2f}x median per inference; max |logit difference| {:.2e}",
                     baseline->dir, baseline->p50_ms, baseline->p95_ms, baseline->speedup, baseline->paired_speedup,
                     baseline->max_abs_diff);
  if (baseline && baseline->predicted_ms)
    s += fmt::format("\nbaseline predicted by the devices file: {:.3f} ms", *baseline->predicted_ms);
  return s + "\n";
}

}  // namespace concnas::deploy
