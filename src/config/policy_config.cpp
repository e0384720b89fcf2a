#include "concnas/config/policy_config.h"

#include "concnas/arch/sep.h"
#include "concnas/common/atomic_file.h"
#include "concnas/common/error.h"
#include "policy_schema.h"
#include "train_sections.h"

namespace concnas::config {
namespace {

using detail::field;
namespace d = detail;

std::vector<detail::Key<PolicyConfig>> network_keys() {
  using C = PolicyConfig;
  return {
      field<C>("policy", "groups", [](C& c) -> auto& { return c.policy.groups; },
               "G: groups, one per device", d::up_to(d::at_least(2), arch::kMaxSepGroups)),
      field<C>("policy", "depth", [](C& c) -> auto& { return c.policy.depth; },
               "D: blocks per group", d::up_to(d::at_least(2), 1000)),
      field<C>("policy", "alpha", [](C& c) -> auto& { return c.policy.alpha; },
               "A: an exchange step before blocks A, 2A, ... below D", d::up_to(d::at_least(1), 1000)),
      field<C>("policy", "width", [](C& c) -> auto& { return c.policy.width; },
               "W: each group W/G of the chain's channels", d::within(0, 64, true, false)),
      field<C>("policy", "share", [](C& c) -> auto& { return c.policy.share; },
               "of an exchanged tensor's channels, the first this share travel", d::within(0, 1, true, false)),
      field<C>("policy", "fp16", [](C& c) -> auto& { return c.policy.fp16; },
               "exchanged tensors travel as float16 (in training too)"),
  };
}

std::vector<detail::Key<PolicyConfig>> search_keys() {
  using C = PolicyConfig;
  return {
      field<C>("policy", "samples", [](C& c) -> auto& { return c.policy.samples; },
               "policies each search evaluates, per seed", d::up_to(d::at_least(1), 100000)),
      field<C>("policy", "seeds", [](C& c) -> auto& { return c.policy.seeds; },
               "search seeds 0..seeds-1: random and controller search once each", d::up_to(d::at_least(1), 100)),
      field<C>("policy", "penalty", [](C& c) -> auto& { return c.policy.penalty; },
               "reward = validation accuracy - penalty x traffic (fraction of full exchange's bytes)",
               d::within(0, 100, false, false)),
      field<C>("policy", "controller_hidden", [](C& c) -> auto& { return c.policy.controller_hidden; },
               "the controller LSTM's state size", d::up_to(d::at_least(1), 4096)),
      field<C>("policy", "controller_batch", [](C& c) -> auto& { return c.policy.controller_batch; },
               "policies per REINFORCE update", d::up_to(d::at_least(1), 10000)),
      field<C>("policy", "controller_lr", [](C& c) -> auto& { return c.policy.controller_lr; },
               "the controller's Adam learning rate", d::within(0, 10, true, false)),
      field<C>("policy", "baseline_decay", [](C& c) -> auto& { return c.policy.baseline_decay; },
               "decay of the moving average of rewards REINFORCE subtracts", d::within(0, 1, false, true)),
      field<C>("policy", "entropy_weight", [](C& c) -> auto& { return c.policy.entropy_weight; },
               "bonus on the entropy of the controller's choices", d::within(0, 10, false, false)),
      field<C>("policy", "eval_images", [](C& c) -> auto& { return c.policy.eval_images; },
               "validation images a sampled policy is scored on, a window moving with every sample (0: all)",
               d::not_below(0)),
      field<C>("policy", "finalists", [](C& c) -> auto& { return c.policy.finalists; },
               "each search's best-rewarded policies re-scored on every validation image; the best of them is "
               "the search's pick", d::up_to(d::at_least(1), 100000)),
      field<C>("policy", "bn_batches", [](C& c) -> auto& { return c.policy.bn_batches; },
               "training batches that re-estimate batch norm statistics per policy (0: keep the shared ones)",
               d::up_to(d::not_below(0), 10000)),
      field<C>("policy", "finetune_epochs", [](C& c) -> auto& { return c.policy.finetune_epochs; },
               "epochs fine-tuning each search's best policy from the shared weights", d::up_to(d::at_least(1), 10000)),
      field<C>("policy", "finetune_lr", [](C& c) -> auto& { return c.policy.finetune_lr; },
               "peak learning rate of the fine-tuning (cosine schedule, no warmup)", d::within(0, 10, true, false)),
      field<C>("policy", "baselines", [](C& c) -> auto& { return c.policy.baselines; },
               "also train full and no exchange for train.epochs + finetune_epochs (the same budget)"),
  };
}

std::vector<detail::Key<PolicyConfig>> policy_keys() {
  auto keys = network_keys();
  for (auto& k : search_keys()) keys.push_back(std::move(k));
  return keys;
}

}  // namespace

const detail::Schema<PolicyConfig>& detail::policy_schema() {
  static const Schema<PolicyConfig> s(policy_keys());
  return s;
}

void PolicyConfig::sanity_check() const {
  base.sanity_check();
  detail::policy_schema().check(*this);
  CONCNAS_CHECK(policy.alpha < policy.depth, "policy.alpha: {} leaves no exchange step in {} blocks (alpha must be "
                "below depth)", policy.alpha, policy.depth);
  CONCNAS_CHECK(base.arch.file.empty() && base.arch.baseline.empty(),
                "arch: `concnas policy` builds its separable networks from the policy section; drop arch.file and "
                "arch.baseline");
  CONCNAS_CHECK(base.data.validation > 0,
                "data.validation: policies are scored on held-out validation images; give some (e.g. 5000)");
}

PolicyConfig parse_policy_config(const std::string& text, const std::string& source,
                                 const std::vector<std::string>& overrides) {
  detail::Reader r(source);
  YAML::Node root = detail::load_config_root(text, source);
  r.check_map(root, "", {"arch", "data", "train", "policy"});
  const auto rest = detail::apply_section_overrides(root, overrides, "policy", source);
  PolicyConfig c;
  c.base = detail::parse_train_sections(root, source, rest);
  if (root["policy"]) detail::policy_schema().read(c, r, root["policy"], "policy");
  detail::check_at_key_line(root, source, [&] { c.sanity_check(); });
  return c;
}

PolicyConfig load_policy_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_policy_config(read_file(path), path, overrides);
}

std::string to_yaml(const PolicyConfig& c) {
  return "# resolved concnas policy config: every key (docs/configuration.md)\n" +
         detail::sections_to_yaml(c.base, {"arch", "data", "train"}) + detail::policy_schema().yaml(c, {"policy"});
}

}  // namespace concnas::config
