#pragma once
/// \file
/// Seed 001's policy controller: an LSTM that chooses, step by step, one of `choices`
/// options per exchange step (the G! permutations of the groups), trained with REINFORCE.
///
///     concnas::search::PolicyController c(/*steps=*/3, /*choices=*/24, options, /*seed=*/0);
///     auto p = c.sample();               // {7, 0, 23}: one choice per step
///     c.learn({p, q}, {0.91, 0.88});     // one update from these policies' rewards
///
/// Step s's LSTM input is the embedding of step s - 1's choice (a start token at step 0);
/// a linear layer turns its state into the logits of step s's choice. `learn` takes one
/// Adam step on -(R - b)·log p(policy), averaged over the policies, minus
/// entropy_weight·(the choices' entropy), where b is a moving average of earlier rewards
/// (the first batch's mean at first). Choices are drawn from the softmax with concnas's
/// own Rng, and the weights start from `seed` (LibTorch's global generator is left as it
/// was), so the same seed and the same rewards give
/// the same policies: a killed search replays its logged rewards to where it stopped.

#include <cstdint>
#include <memory>
#include <vector>

namespace concnas::search {

struct ControllerOptions {
  int hidden = 32;               ///< LSTM state size (and embedding size)
  double lr = 0.1;               ///< Adam's learning rate
  double baseline_decay = 0.8;   ///< b <- decay·b + (1 - decay)·mean(R)
  double entropy_weight = 0.001;
};

class PolicyController {
 public:
  /// Throws `InvalidArgument` on fewer than one step or choice, or a bad option.
  PolicyController(int steps, int choices, const ControllerOptions& options, std::uint64_t seed);
  ~PolicyController();
  PolicyController(const PolicyController&) = delete;
  PolicyController& operator=(const PolicyController&) = delete;

  /// One policy: a choice in [0, choices) per step.
  std::vector<int> sample();
  /// The probability of each choice at every step for `policy`'s earlier steps, for reports.
  /// Throws `InvalidArgument` as `learn`.
  std::vector<std::vector<double>> probabilities(const std::vector<int>& policy);
  /// One REINFORCE update. Throws `InvalidArgument` on sizes that do not match or a choice
  /// out of range.
  void learn(const std::vector<std::vector<int>>& policies, const std::vector<double>& rewards);
  /// The reward baseline b (0 before the first update).
  double baseline() const;

 private:
  void check(const std::vector<int>& policy) const;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace concnas::search
