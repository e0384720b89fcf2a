#include "concnas/search/policy_controller.h"

#include <torch/torch.h>

#include <cmath>

#include "concnas/common/error.h"
#include "concnas/common/rng.h"

namespace concnas::search {

struct PolicyController::Impl {
  Impl(int steps, int choices, const ControllerOptions& o, std::uint64_t seed)
      : steps(steps), choices(choices), options(o), rng(Rng::derive(seed, 0x706f6c6963ULL)) {
    {
      // The initial weights from `seed`, leaving LibTorch's global generator as it was.
      // (The generator's mutex is not held here: drawing the weights takes it.)
      auto generator = at::detail::getDefaultCPUGenerator();
      const auto state = generator.get_state();
      generator.set_current_seed(seed);
      embed = torch::nn::Embedding(choices + 1, o.hidden);  // choice `choices` is the start token
      cell = torch::nn::LSTMCell(o.hidden, o.hidden);
      head = torch::nn::Linear(o.hidden, choices);
      generator.set_state(state);
    }
    std::vector<torch::Tensor> params;
    for (auto* m : std::initializer_list<torch::nn::Module*>{embed.get(), cell.get(), head.get()})
      for (auto& p : m->parameters()) params.push_back(p);
    adam = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(o.lr));
  }

  // Per step, the logits of its choice given `policy`'s earlier choices ([steps, choices]).
  torch::Tensor logits(const std::vector<int>& policy) {
    auto h = torch::zeros({1, options.hidden});
    auto c = torch::zeros({1, options.hidden});
    int previous = choices;
    std::vector<torch::Tensor> out;
    for (int s = 0; s < steps; ++s) {
      std::tie(h, c) = cell(embed(torch::full({1}, previous, torch::kLong)), std::make_tuple(h, c));
      out.push_back(head(h));
      previous = s < static_cast<int>(policy.size()) ? policy[s] : 0;
    }
    return torch::cat(out, 0);
  }

  int steps, choices;
  ControllerOptions options;
  Rng rng;
  torch::nn::Embedding embed{nullptr};
  torch::nn::LSTMCell cell{nullptr};
  torch::nn::Linear head{nullptr};
  std::unique_ptr<torch::optim::Adam> adam;
  double baseline = 0;
  bool has_baseline = false;
};

PolicyController::PolicyController(int steps, int choices, const ControllerOptions& o, std::uint64_t seed) {
  CONCNAS_CHECK(steps >= 1 && choices >= 1, "policy controller: {} steps of {} choices", steps, choices);
  CONCNAS_CHECK(o.hidden >= 1 && o.lr > 0 && o.baseline_decay >= 0 && o.baseline_decay < 1 && o.entropy_weight >= 0,
                "policy controller: bad options (hidden {}, lr {}, baseline decay {}, entropy weight {})", o.hidden,
                o.lr, o.baseline_decay, o.entropy_weight);
  impl_ = std::make_unique<Impl>(steps, choices, o, seed);
}

PolicyController::~PolicyController() = default;

std::vector<int> PolicyController::sample() {
  torch::NoGradGuard no_grad;
  std::vector<int> policy;
  for (int s = 0; s < impl_->steps; ++s) {
    // Step s's distribution depends only on the choices before it.
    const auto p = torch::softmax(impl_->logits(policy)[s], 0).contiguous();
    const auto probability = p.accessor<float, 1>();
    const double u = impl_->rng.uniform();
    double sum = 0;
    int pick = impl_->choices - 1;
    for (int k = 0; k < impl_->choices; ++k) {
      sum += probability[k];
      if (u < sum) {
        pick = k;
        break;
      }
    }
    policy.push_back(pick);
  }
  return policy;
}

void PolicyController::check(const std::vector<int>& policy) const {
  CONCNAS_CHECK(static_cast<int>(policy.size()) == impl_->steps, "policy controller: a policy of {} steps, not {}",
                policy.size(), impl_->steps);
  for (int c : policy)
    CONCNAS_CHECK(c >= 0 && c < impl_->choices, "policy controller: choice {} outside 0..{}", c, impl_->choices - 1);
}

std::vector<std::vector<double>> PolicyController::probabilities(const std::vector<int>& policy) {
  check(policy);
  torch::NoGradGuard no_grad;
  const auto p = torch::softmax(impl_->logits(policy), 1).contiguous();
  const auto a = p.accessor<float, 2>();
  std::vector<std::vector<double>> out(impl_->steps);
  for (int s = 0; s < impl_->steps; ++s)
    for (int k = 0; k < impl_->choices; ++k) out[s].push_back(a[s][k]);
  return out;
}

void PolicyController::learn(const std::vector<std::vector<int>>& policies, const std::vector<double>& rewards) {
  CONCNAS_CHECK(!policies.empty() && policies.size() == rewards.size(), "policy controller: {} policies, {} rewards",
                policies.size(), rewards.size());
  double mean = 0;
  for (double r : rewards) mean += r / static_cast<double>(rewards.size());
  if (!impl_->has_baseline) impl_->baseline = mean, impl_->has_baseline = true;
  auto loss = torch::zeros({});
  for (std::size_t i = 0; i < policies.size(); ++i) {
    const auto& p = policies[i];
    check(p);
    const auto log_p = torch::log_softmax(impl_->logits(p), 1);
    const auto chosen = log_p.gather(1, torch::tensor(std::vector<int64_t>(p.begin(), p.end()), torch::kLong).unsqueeze(1));
    const auto entropy = -(log_p.exp() * log_p).sum();
    loss = loss - (rewards[i] - impl_->baseline) * chosen.sum() - impl_->options.entropy_weight * entropy;
  }
  impl_->adam->zero_grad();
  (loss / static_cast<double>(policies.size())).backward();
  impl_->adam->step();
  const double d = impl_->options.baseline_decay;
  impl_->baseline = d * impl_->baseline + (1 - d) * mean;
}

double PolicyController::baseline() const { return impl_->baseline; }

}  // namespace concnas::search
