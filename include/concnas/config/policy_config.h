#pragma once
/// \file
/// The config of `concnas policy`: a training config whose `arch` section gives what every
/// separable network shares (staging, seed, stem, channel limit), plus a `policy` section:
/// the separable network (groups, depth, alpha, width, share, fp16) and how its
/// communication policies are searched.
///
///     auto cfg = concnas::config::load_policy_config("configs/policy_fmnist.yaml",
///                                                    {"policy.samples=20"});
///     cfg.policy.samples;  // 20
///
/// docs/configuration.md lists every key.

#include <string>
#include <vector>

#include "concnas/config/train_config.h"

namespace concnas::config {

struct PolicySection {
  int groups = 4;                  ///< G, one per device
  int depth = 8;                   ///< D, blocks per group
  int alpha = 2;                   ///< A, blocks between exchange steps
  double width = 1.0;              ///< each group width / G of the chain's channels
  double share = 0.5;              ///< of an exchanged tensor's channels, the first this share travel
  bool fp16 = false;               ///< exchanged tensors travel as float16
  int samples = 60;                ///< policies each search evaluates, per search seed
  int seeds = 3;                   ///< search seeds: random and controller search run once per seed
  double penalty = 0.05;           ///< reward = validation accuracy - penalty x traffic (fraction of full)
  int controller_hidden = 32;      ///< LSTM state size
  int controller_batch = 4;        ///< policies per REINFORCE update
  double controller_lr = 0.1;      ///< Adam's learning rate
  double baseline_decay = 0.8;     ///< of the moving average of rewards that REINFORCE subtracts
  double entropy_weight = 0.001;   ///< bonus on the policy distribution's entropy
  /// Validation images a sampled policy is scored on, a window that moves with every sample
  /// (0: all of data.validation), as seed 001 scores its samples on mini-batches.
  int eval_images = 500;
  int finalists = 5;               ///< each search's best-rewarded policies re-scored on all validation images
  int bn_batches = 4;              ///< training batches re-estimating batch norm per policy (0: none)
  int finetune_epochs = 2;         ///< epochs fine-tuning each search's best from the shared weights
  double finetune_lr = 0.01;       ///< peak learning rate of the fine-tuning (cosine, no warmup)
  bool baselines = true;           ///< also train full and no exchange with the same budget
};

struct PolicyConfig {
  TrainConfig base;  ///< arch (what the groups share), data, train (the shared network's training)
  PolicySection policy;
  /// Throws `InvalidArgument` naming the first bad key.
  void sanity_check() const;
};

PolicyConfig parse_policy_config(const std::string& text, const std::string& source,
                                 const std::vector<std::string>& overrides = {});
PolicyConfig load_policy_config(const std::string& path, const std::vector<std::string>& overrides = {});

/// Every key with its value, as YAML (the run folder's config.yaml).
std::string to_yaml(const PolicyConfig& config);

}  // namespace concnas::config
