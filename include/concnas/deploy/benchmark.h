#pragma once
/// \file
/// Worker 0's benchmark harness: feeds a deployment the images of a set, times every
/// inference, checks the outputs and reports latency and accuracy (`concnas run`).

#include <torch/script.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "concnas/data/image_set.h"
#include "concnas/deploy/plan.h"
#include "concnas/deploy/worker.h"

namespace concnas::deploy {

struct BenchmarkOptions {
  int runs = 200;       ///< timed inferences (ignored with `all`)
  int warmup = 10;      ///< untimed inferences first
  int batch = 1;        ///< images per inference
  bool all = false;     ///< every image of the set once, in batches
  bool check = false;   ///< compare every output with the single-process execution
  bool labelled = true; ///< the set's labels are real (accuracy is reported)
  std::string logits_csv;  ///< when set, every output row (image index, label, logits)
  /// When set, every timed inference's latency as CSV (inference, ms, and with a baseline
  /// the same images' baseline ms, which of the two ran first in their block and the
  /// baseline's compute ms), and the milliseconds worker 0 computed in it (`w0_compute_ms`,
  /// `Worker::compute_ms`).
  std::string latencies_csv;
  /// When set, a one-unit deployment of the same architecture, run by worker 0 in its own
  /// process on the same images in blocks of 10 inferences, after (or before: the order
  /// alternates) each block of the deployment under test, so both are timed under the
  /// same conditions on a shared machine.
  std::string baseline;
};

/// Worker 0's one-process run of the baseline deployment, timed beside the one under test.
struct BaselineReport {
  std::string dir;
  double p50_ms = 0, p95_ms = 0;
  double speedup = 0;        ///< baseline p50 / p50 of the deployment under test
  double paired_speedup = 0; ///< median over inferences of baseline time / time, same input
  double max_abs_diff = 0;   ///< largest logit difference between the two
  std::optional<double> predicted_ms;  ///< the devices file's prediction (run --devices)
};

struct BenchmarkReport {
  int units = 1;
  int batch = 1;
  bool fp16 = false;
  std::int64_t inferences = 0;
  std::int64_t images = 0;
  double p50_ms = 0, p95_ms = 0, mean_ms = 0, min_ms = 0;
  double images_per_s = 0;
  std::int64_t bytes_per_image = 0;   ///< sent between units per image: the plan's (every transfer fp16 with fp16)
  /// What the workers handed to the transport between units, over every inference run
  /// (warm-up included), per image; -1 before `finish` collected it.
  double measured_bytes_per_image = -1;
  std::vector<int> worker0_cpus;      ///< the CPUs worker 0 (and a baseline) could run on
  std::optional<double> accuracy;     ///< over the images run, when the set has labels
  std::optional<double> max_abs_diff; ///< against the single-process execution (`check`)
  std::optional<BaselineReport> baseline;
  std::optional<double> predicted_ms;  ///< the devices file's prediction (run --devices)
  std::string to_json() const;
  std::string to_text() const;
};

/// Reads `dir` as a baseline for `deployment` (`BenchmarkOptions::baseline`): throws
/// naming `dir` unless it is a one-unit export of the same architecture with the same
/// input normalisation.
Deployment read_baseline(const Deployment& deployment, const std::string& dir);

/// Rank 0: runs the images of `set` through the deployment, timing each inference, then
/// calls `finish`. Needs every unit file locally when `check` is set.
BenchmarkReport run_benchmark(Worker& worker, const Deployment& deployment, const data::ImageSet& set,
                              const BenchmarkOptions& options, bool fp16);

}  // namespace concnas::deploy
