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

namespace concnas::deploy {
namespace {

// The q-quantile of `v` (nearest rank).
double percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const auto at = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(at, v.size() - 1)];
}

}  // namespace

torch::Tensor normalise(const data::ImageSet& set, const InputSpec& input, std::size_t first, std::size_t count) {
  CONCNAS_CHECK(first + count <= set.size(), "images {}..{} outside the {} of the set", first, first + count,
                set.size());
  const int c = set.channels;
  auto x = torch::from_blob(const_cast<std::uint8_t*>(set.image(first)),
                            {static_cast<std::int64_t>(count), c, set.height, set.width}, torch::kUInt8)
               .to(torch::kFloat)
               .div_(255.0);
  std::vector<float> mean(c, 0.0F), std(c, 1.0F);
  for (int i = 0; i < c && i < static_cast<int>(input.mean.size()); ++i) mean[i] = static_cast<float>(input.mean[i]);
  for (int i = 0; i < c && i < static_cast<int>(input.std.size()); ++i) std[i] = static_cast<float>(input.std[i]);
  return x.sub_(torch::tensor(mean).view({1, c, 1, 1})).div_(torch::tensor(std).view({1, c, 1, 1}));
}

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

BenchmarkReport run_benchmark(Worker& worker, const Deployment& d, const data::ImageSet& set,
                              const BenchmarkOptions& options, bool fp16) {
  const auto& in = d.arch.network.input;
  CONCNAS_CHECK(set.channels == in.channels && set.height == in.height && set.width == in.width,
                "the input images are {}x{}x{}; architecture '{}' takes {}x{}x{}", set.channels, set.height,
                set.width, d.arch.name, in.channels, in.height, in.width);
  CONCNAS_CHECK(set.size() >= 1, "the input set has no images");
  CONCNAS_CHECK(options.batch >= 1 && static_cast<std::size_t>(options.batch) <= set.size(),
                "--batch {} must be in 1..{} (the images in the set)", options.batch, set.size());
  CONCNAS_CHECK(options.all || options.runs >= 1, "--runs must be at least 1");
  CONCNAS_CHECK(options.warmup >= 0, "--warmup must be at least 0");
  const std::size_t batch = static_cast<std::size_t>(options.batch);
  const std::int64_t runs = options.all ? static_cast<std::int64_t>((set.size() + batch - 1) / batch) : options.runs;
  std::optional<LocalExecutor> reference;
  if (options.check) reference.emplace(d.arch, d.plan, d.dir);
  std::unique_ptr<Worker> base;
  if (!options.baseline.empty()) {
    const auto b = read_baseline(d, options.baseline);
    WorkerOptions o;
    o.cores = worker.cores();
    o.fp16 = fp16;
    base = std::make_unique<Worker>(b, o);
  }
  std::ofstream csv;
  const std::string csv_tmp = options.logits_csv + ".tmp";
  if (!options.logits_csv.empty()) {
    csv.open(csv_tmp);
    if (!csv) throw IoError("cannot write " + csv_tmp);
    csv << "image,label";
    for (int k = 0; k < d.arch.network.classes; ++k) csv << ",logit" << k;
    csv << "\n";
  }
  auto slice = [&](std::int64_t i) {
    std::size_t first = (static_cast<std::size_t>(i) * batch) % set.size();
    std::size_t count = std::min(batch, set.size() - first);
    return std::pair{first, count};
  };
  for (int i = 0; i < options.warmup; ++i) {
    const auto [first, count] = slice(i);
    const auto x = normalise(set, d.input, first, count);
    worker.infer(x);
    if (base) base->infer(x);
  }
  // The baseline runs the same images in blocks, before the deployment's block or after
  // it in turn: a peer idle for a whole baseline inference wakes slowly on a virtual
  // machine, which alternating every inference would charge to the deployment.
  constexpr std::int64_t kBlock = 10;
  auto baseline_first = [](std::int64_t i) { return (i / kBlock) % 2 == 1; };
  std::vector<double> base_ms, ratios;
  std::vector<torch::Tensor> block_logits, base_logits;
  double base_diff = 0;
  auto run_base_block = [&](std::int64_t begin) {
    base_logits.clear();
    for (std::int64_t i = begin; i < std::min(begin + kBlock, runs); ++i) {
      const auto [first, count] = slice(i);
      const auto x = normalise(set, d.input, first, count);
      const auto t0 = std::chrono::steady_clock::now();
      base_logits.push_back(base->infer(x));
      base_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  };
  BenchmarkReport r;
  r.worker0_cpus = cpus_of_this_process();
  r.units = d.plan.num_units;
  r.batch = options.batch;
  r.fp16 = fp16;
  r.bytes_per_image = fp16 ? d.plan.bytes_per_image() / 2 : d.plan.bytes_per_image();
  std::vector<double> ms;
  std::int64_t correct = 0;
  double max_diff = 0;
  double busy_s = 0;
  for (std::int64_t i = 0; i < runs; ++i) {
    const auto [first, count] = slice(i);
    const auto x = normalise(set, d.input, first, count);
    const std::int64_t block = i - i % kBlock;
    const bool base_first = baseline_first(i);
    if (base && i == block && base_first) run_base_block(block);
    const auto t0 = std::chrono::steady_clock::now();
    const auto logits = worker.infer(x);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    busy_s += s;
    ms.push_back(s * 1e3);
    if (base) {
      block_logits.push_back(logits);
      if (i + 1 == std::min(block + kBlock, runs)) {
        if (!base_first) run_base_block(block);
        for (std::size_t k = 0; k < block_logits.size(); ++k) {
          const std::size_t at = static_cast<std::size_t>(block) + k;
          ratios.push_back(base_ms[at] / ms[at]);
          base_diff = std::max(base_diff, (block_logits[k] - base_logits[k]).abs().max().item<double>());
        }
        block_logits.clear();
      }
    }
    r.images += static_cast<std::int64_t>(count);
    const auto predicted = logits.argmax(1);
    for (std::size_t k = 0; k < count; ++k)
      correct += predicted[static_cast<std::int64_t>(k)].item<std::int64_t>() == set.labels[first + k];
    if (reference) max_diff = std::max(max_diff, (logits - reference->forward(x)).abs().max().item<double>());
    if (csv.is_open()) {
      const auto rows = logits.contiguous();
      const float* p = rows.data_ptr<float>();
      for (std::size_t k = 0; k < count; ++k) {
        csv << first + k << "," << static_cast<int>(set.labels[first + k]);
        for (int c = 0; c < d.arch.network.classes; ++c)
          csv << "," << fmt::format("{:.9g}", p[k * d.arch.network.classes + c]);
        csv << "\n";
      }
    }
  }
  worker.finish();
  if (csv.is_open()) {
    csv.close();
    if (!csv) throw IoError("cannot write " + csv_tmp);
    std::rename(csv_tmp.c_str(), options.logits_csv.c_str());
  }
  if (!options.latencies_csv.empty()) {
    std::string rows = base ? "inference,ms,baseline_ms,baseline_first,baseline_compute_ms,w0_compute_ms\n"
                            : "inference,ms,w0_compute_ms\n";
    // Both workers count the untimed inferences too, and run one call per inference.
    const auto& compute = worker.compute_ms();
    const auto warmup = static_cast<std::size_t>(options.warmup);
    CONCNAS_CHECK(compute.size() == warmup + ms.size() && (!base || base->compute_ms().size() == compute.size()),
                  "worker 0 timed {} computations for {} inferences", compute.size(), warmup + ms.size());
    for (std::size_t i = 0; i < ms.size(); ++i) {
      rows += fmt::format("{},{:.6f}", i, ms[i]);
      if (base)
        rows += fmt::format(",{:.6f},{:d},{:.6f}", base_ms[i], baseline_first(static_cast<std::int64_t>(i)),
                            base->compute_ms()[warmup + i]);
      rows += fmt::format(",{:.6f}\n", compute[warmup + i]);
    }
    write_file_atomic(options.latencies_csv, rows);
  }
  r.inferences = runs;
  r.p50_ms = percentile(ms, 0.5);
  r.p95_ms = percentile(ms, 0.95);
  if (base) {
    BaselineReport b;
    b.dir = options.baseline;
    b.p50_ms = percentile(base_ms, 0.5);
    b.p95_ms = percentile(base_ms, 0.95);
    b.speedup = b.p50_ms / r.p50_ms;
    b.paired_speedup = percentile(ratios, 0.5);
    b.max_abs_diff = base_diff;
    r.baseline = b;
  }
  r.min_ms = *std::min_element(ms.begin(), ms.end());
  double total = 0;
  for (double v : ms) total += v;
  r.mean_ms = total / static_cast<double>(ms.size());
  r.images_per_s = busy_s > 0 ? static_cast<double>(r.images) / busy_s : 0;
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
                           {"worker0_cpus", worker0_cpus}};
  j["accuracy"] = accuracy ? nlohmann::ordered_json(*accuracy) : nlohmann::ordered_json();
  j["max_abs_diff"] = max_abs_diff ? nlohmann::ordered_json(*max_abs_diff) : nlohmann::ordered_json();
  if (baseline)
    j["baseline"] = {{"plan", baseline->dir},
                     {"latency_ms", {{"p50", baseline->p50_ms}, {"p95", baseline->p95_ms}}},
                     {"speedup_p50", baseline->speedup},
                     {"paired_speedup_median", baseline->paired_speedup},
                     {"max_abs_diff", baseline->max_abs_diff}};
  return j.dump(2) + "\n";
}

std::string BenchmarkReport::to_text() const {
  std::string s = fmt::format("{} unit{}, batch {}{}: {} inferences, latency p50 {:.3f} ms, p95 {:.3f} ms, "
                              "{:.1f} images/s, {} bytes per image between units",
                              units, units == 1 ? "" : "s", batch, fp16 ? ", fp16 activations" : "", inferences,
                              p50_ms, p95_ms, images_per_s, bytes_per_image);
  if (accuracy) s += fmt::format(", accuracy {:.2f}%", *accuracy * 100);
  if (max_abs_diff) s += fmt::format(", max |logit - single process| {:.2e}", *max_abs_diff);
  if (baseline)
    s += fmt::format("\nbaseline {} (1 unit, alternating): p50 {:.3f} ms, p95 {:.3f} ms; speedup {:.2f}x at p50, "
                     "{:.2f}x median per inference; max |logit difference| {:.2e}",
                     baseline->dir, baseline->p50_ms, baseline->p95_ms, baseline->speedup, baseline->paired_speedup,
                     baseline->max_abs_diff);
  return s + "\n";
}

}  // namespace concnas::deploy
