#include "policy_scorer.h"

namespace concnas::search::detail {

PolicyScorer::PolicyScorer(const config::PolicyConfig& config, const arch::Architecture& shared,
                           const std::string& weights, const train::LabelledImages& images)
    : config_(config), images_(images), net_(shared) {
  train::load_weights(*net_, weights);
  const std::int64_t n = config.policy.eval_images > 0
                             ? std::min<std::int64_t>(config.policy.eval_images, images.val_x.size(0))
                             : images.val_x.size(0);
  val_x_ = images.val_x.narrow(0, 0, n);
  val_y_ = images.val_y.narrow(0, 0, n);
}

double PolicyScorer::evaluate() {
  train::recalibrate_batch_norm(net_, images_.train_x, config_.base.train.batch_size, config_.policy.bn_batches);
  return train::evaluate(net_, val_x_, val_y_, config_.base.train.eval_batch_size).second;
}

double PolicyScorer::accuracy(const arch::SepOptions& policy) {
  net_->set_inactive_edges(arch::edges_left_out(policy));
  return evaluate();
}

double PolicyScorer::full_accuracy() {
  net_->set_inactive_edges({});
  return evaluate();
}

}  // namespace concnas::search::detail
