#pragma once
/// \file
/// The config of `concnas lcp`: a training config whose `arch` section describes the chain
/// (its `nodes` are the depth of every branch; staging, seed, stem and channel limit), plus
/// an `lcp` section saying which branch counts to try and how to widen them.
///
///     auto cfg = concnas::config::load_lcp_config("configs/lcp_fmnist.yaml", {"lcp.branches=[2]"});
///     cfg.lcp.branches;  // {2}
///
/// docs/configuration.md lists every key.

#include <string>
#include <vector>

#include "concnas/config/train_config.h"

namespace concnas::config {

struct LcpSection {
  std::vector<int> branches{2, 4};  ///< K values, each searched on its own
  double width_start = 1.0;         ///< first W tried
  double width_step = 0.25;         ///< W grows by this until the accuracy is within tolerance
  double width_max = 2.0;           ///< the last W tried
  double tolerance = 1.0;           ///< percentage points of validation accuracy below the chain's
  int units = 0;                    ///< devices of the predicted latency (0: K, a branch each)
};

struct LcpConfig {
  TrainConfig base;  ///< arch (the chain), data, train
  LcpSection lcp;
  /// Throws `InvalidArgument` naming the first bad key.
  void sanity_check() const;
};

LcpConfig parse_lcp_config(const std::string& text, const std::string& source,
                           const std::vector<std::string>& overrides = {});
LcpConfig load_lcp_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Every key with its value, as YAML (the run folder's config.yaml).
std::string to_yaml(const LcpConfig& config);

}  // namespace concnas::config
