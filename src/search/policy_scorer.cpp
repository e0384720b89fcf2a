#include "policy_scorer.h"

namespace concnas::search::detail {

PolicyScorer::PolicyScorer(const config::PolicyConfig& config, const arch::Architecture& shared,
                           const std::string& weights, const train::LabelledImages& images)
    : config_(config), images_(images), net_(shared) {
  train::load_weights(*net_, weights);
}

double PolicyScorer::evaluate(std::int64_t first, std::int64_t count) {
  train::recalibrate_batch_norm(net_, images_.train_x, config_.base.train.batch_size, config_.policy.bn_batches);
  const std::int64_t n = images_.val_x.size(0);
  first = std::clamp<std::int64_t>(first, 0, n);
  count = count > 0 ? std::min(count, n - first) : n - first;
  return train::evaluate(net_, images_.val_x.narrow(0, first, count), images_.val_y.narrow(0, first, count),
                         config_.base.train.eval_batch_size).second;
}

double PolicyScorer::accuracy(const arch::SepOptions& policy, std::int64_t first, std::int64_t count) {
  net_->set_inactive_edges(arch::edges_left_out(policy));
  return evaluate(first, count);
}

double PolicyScorer::full_accuracy() {
  net_->set_inactive_edges({});
  return evaluate(0, 0);
}

}  // namespace concnas::search::detail
