#pragma once
// Scores communication policies on one shared network's weights (private to src/search,
// `concnas policy`): validation accuracy with the policy's edges on, batch norm
// re-estimated for the policy first.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "concnas/arch/sep.h"
#include "concnas/config/policy_config.h"
#include "concnas/nn/network.h"
#include "concnas/train/evaluation.h"

namespace concnas::search::detail {

class PolicyScorer {
 public:
  /// `shared`: the network of full exchange, `weights` its trained weights file.
  PolicyScorer(const config::PolicyConfig& config, const arch::Architecture& shared, const std::string& weights,
               const train::LabelledImages& images);
  /// Validation accuracy (fraction) of the shared weights computing as `policy`, on
  /// `count` validation images from `first` on (0: all of them).
  double accuracy(const arch::SepOptions& policy, std::int64_t first = 0, std::int64_t count = 0);
  std::int64_t validation_images() const { return images_.val_x.size(0); }
  /// The same with every edge on.
  double full_accuracy();

 private:
  double evaluate(std::int64_t first, std::int64_t count);
  const config::PolicyConfig& config_;
  const train::LabelledImages& images_;
  nn::Network net_;
};

}  // namespace concnas::search::detail
