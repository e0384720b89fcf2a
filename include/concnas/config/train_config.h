#pragma once
/// \file
/// The training config: plain structs with a documented default per field, parsed in
/// one place (`load_train_config`). Configs state only what differs from the defaults;
/// unknown keys and bad values are errors naming the file, line and key.
///
///     auto cfg = concnas::config::load_train_config("configs/train_fmnist.yaml",
///                                                   {"train.epochs=3"});
///     std::string resolved = concnas::config::to_yaml(cfg);  // every key, for run folders
///
/// docs/training.md lists every key.

#include <cstdint>
#include <string>
#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/common/param_map.h"
#include "concnas/data/dataset.h"

namespace concnas::config {

/// Where the architecture comes from: a file, or generator settings (generated and saved
/// in the run folder).
struct ArchSection {
  std::string file;                 ///< architecture YAML; empty: generate from below
  std::string generator = "dp";     ///< er | ba | ws | dp
  int nodes = 40;
  ParamMap params;                  ///< generator parameters (defaults: the generator's)
  std::string orientation = "dfs";  ///< dfs | index
  std::string staging = "probabilistic";
  double stage_probability = 0.5;
  std::uint64_t seed = 0;
  int stem_channels = 16;
  int channel_limit = 128;
  int min_resolution = 4;
  std::string aggregation = "randwire";  ///< randwire | sigmoid_inputs
  /// "chain" trains the sequential baseline (a chain of `nodes` vertices, same staging).
  std::string baseline;
};

struct DataSection {
  /// fashion-mnist | mnist | cifar10 | synthetic | idx (data::builtin_datasets)
  std::string dataset = "fashion-mnist";
  /// Folder of the data set; empty: Debian's Fashion-MNIST location for fashion-mnist
  /// (required for mnist and cifar10).
  std::string path;
  /// Training images used (after the validation split); 0 = all.
  std::int64_t train_subset = 0;
  /// Training images held out for validation (seeded). When a config does not give it,
  /// at most a tenth of a set whose size is known without reading files (the synthetic set).
  std::int64_t validation = 5000;
  bool augment = true;
  /// Zero padding before the random crop.
  int crop_padding = 2;
  /// Horizontal flips: "auto" (on for fashion-mnist and cifar10, off for mnist), "on", "off".
  std::string flip = "auto";
  /// Sizes of the synthetic set (dataset: synthetic): train, test, image side, classes.
  std::int64_t synthetic_train = 512;
  std::int64_t synthetic_test = 128;
  int synthetic_side = 16;
  int synthetic_classes = 4;
};

struct TrainSection {
  int epochs = 15;
  /// Stop after this many optimiser steps in all (0 = no limit), for quick runs.
  std::int64_t max_steps = 0;
  int batch_size = 128;
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-5;
  double label_smoothing = 0.1;
  /// Linear warm-up, then cosine decay to 0.
  double warmup_epochs = 1;
  /// Intra-op threads; 0 = all cores (Debian's LibTorch starts with one).
  int threads = 0;
  /// Whose loops train batch norms and vertex aggregations: "concnas" (nn/ops.h, faster
  /// than LibTorch 1.13's on this project's machine) or "libtorch" (its operators alone).
  std::string kernels = "concnas";
  std::uint64_t seed = 0;
  int eval_batch_size = 500;
};

struct TrainConfig {
  ArchSection arch;
  DataSection data;
  TrainSection train;
  /// Throws `InvalidArgument` naming the first bad key and value.
  void sanity_check() const;
};

/// Parses config text; `overrides` are `section.key=value` strings (CLI `--set`) applied
/// on top. `source` names the file in errors.
TrainConfig parse_train_config(const std::string& text, const std::string& source,
                               const std::vector<std::string>& overrides = {});
TrainConfig load_train_config(const std::string& path,
                              const std::vector<std::string>& overrides = {});

/// What `arch::generate_architecture` needs to build the network an arch section
/// describes, for images of `input` and `classes` classes. Throws `InvalidArgument` on an
/// unknown orientation or aggregation.
arch::GenerateOptions generate_options(const ArchSection& arch, const arch::Shape& input,
                                       int classes);

/// Every key with its value, as YAML (the resolved config of a run folder).
std::string to_yaml(const TrainConfig& config);
/// The given sections ("arch", "data", "train") with every key, as YAML.
std::string to_yaml(const TrainConfig& config, const std::vector<std::string>& sections);

/// Where the data section's data set is; the synthetic set draws from `seed`.
data::DatasetOptions dataset_options(const DataSection& data, std::uint64_t seed);

}  // namespace concnas::config
