#pragma once
// A training run's folder (private to src/train): what it holds and how each file is
// written so that a run killed at any point resumes from its last finished epoch.

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "concnas/arch/architecture.h"
#include "concnas/nn/network.h"

namespace concnas::train::detail {

/// Where a run stands after a finished epoch; saved in the checkpoint.
struct RunProgress {
  int epoch = 0;
  std::int64_t step = 0;
  double seconds = 0;        ///< training time of every process of this run so far
  std::int64_t images = 0;   ///< training images of every process of this run so far
};

class RunFolder {
 public:
  explicit RunFolder(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string checkpoint_path() const { return dir_ + "/checkpoint.pt"; }

  /// Creates the folder and writes config.yaml and arch.yaml. A fresh start refuses a
  /// folder that holds a run. Returns whether there is a checkpoint to resume from: a
  /// resume of a run killed before its first checkpoint starts afresh.
  bool open(bool resume, const std::string& config_yaml, const arch::Architecture& arch) const;
  /// Loads weights and optimiser state; keeps the metrics of the epochs it covers.
  RunProgress resume(nn::Network& net, torch::optim::SGD& opt, const std::string& arch_name) const;
  /// Deletes the metrics of an earlier run (a fresh start).
  void clear_metrics() const;
  void append_metrics(const nlohmann::ordered_json& line) const;
  /// Writes the checkpoint to a temporary file and renames it over the last one.
  void save_checkpoint(nn::Network& net, torch::optim::SGD& opt, const RunProgress& at) const;
  void save_weights(nn::Network& net) const;
  void write_eval(const nlohmann::ordered_json& eval) const;

 private:
  std::string metrics_path() const { return dir_ + "/metrics.jsonl"; }
  void keep_metrics_up_to(int epochs) const;
  std::string dir_;
};

}  // namespace concnas::train::detail
