#pragma once
/// \file
/// `concnas policy`: seed 001's search for a separable network's communication policy
/// (docs/policy.md).
///
///     auto cfg = concnas::config::load_policy_config("configs/policy_fmnist.yaml");
///     auto report = concnas::search::run_policy_search(cfg, "runs/policy", false, log);
///     report.picks[0].permutations;  // the controller's pick
///
/// 1. Trains one network of full exchange (`out/shared`) with a random policy per step:
///    the edges the step's policy leaves out are switched off (nn/weight_sharing.h).
/// 2. For each search seed, random search and the LSTM controller (search/
///    policy_controller.h) each score `samples` policies on the shared weights: validation
///    accuracy (batch norm re-estimated per policy; on a window of `eval_images` images
///    that moves with the sample number, the same for both searches) minus `penalty` x
///    traffic, the policy's exchange bytes per image over full exchange's (share 1, fp32;
///    search/policy_traffic.h). Each search's `finalists` best are then re-scored on every
///    validation image; the best of those is its pick. Every scored policy is a line of
///    `out/policies.jsonl`, appended as it is scored.
/// 3. Fine-tunes each search's best policy from the shared weights (`out/finetune-controller`,
///    `out/finetune-random`); writes the controller's as `out/best.yaml`.
/// 4. With `baselines`, trains full and no exchange from scratch for train.epochs +
///    finetune_epochs (`out/full`, `out/none`): the same number of steps.
/// `out/policy.json` and `out/report.html` (accuracy against traffic) are rewritten after
/// each stage. `resume` carries on every stage: training from checkpoints, the searches by
/// replaying the logged scores (the controller draws the same policies from the same seed
/// and rewards), so a killed search loses at most the policy or epoch in progress.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "concnas/config/policy_config.h"

namespace concnas::search {

/// One scored policy (a line of policies.jsonl).
struct PolicyRow {
  std::string search;              ///< "random" or "controller"
  int seed = 0;                    ///< search seed
  /// 0-based, in the order the search drew them; a finalist's rank among the finalists
  int sample = 0;
  std::vector<int> permutations;   ///< per exchange step, its index among the G! permutations
  std::string name;                ///< the architecture's name
  bool final = false;              ///< a finalist, re-scored on every validation image
  std::int64_t images = 0;         ///< validation images it was scored on
  double val_accuracy = 0;         ///< of the shared weights with this policy, on those images
  std::int64_t exchange_bytes = 0; ///< per image
  double traffic = 0;              ///< exchange_bytes / full exchange's
  double reward = 0;
};

/// A trained network: a search's fine-tuned pick, or a baseline.
struct PolicyModel {
  std::string what;                ///< "controller", "random", "full", "none"
  std::string dir;                 ///< run folder, relative to the output folder
  std::string name;
  std::vector<int> permutations;   ///< empty for full exchange
  double val_accuracy = 0, test_accuracy = 0;
  std::int64_t exchange_bytes = 0, plan_bytes = 0;
  double traffic = 0;
  /// The same weights with every exchanged tensor sent as float16 (when training did not
  /// already): test accuracy and traffic. Negative: not measured.
  double test_accuracy_fp16 = -1, traffic_fp16 = -1;
};

/// Per search seed, the best reward of each search's finalists (on every validation image).
struct SeedBest {
  int seed = 0;
  double random = 0, controller = 0;
};

struct PolicyReport {
  std::int64_t full_bytes = 0;     ///< full exchange's exchange bytes per image (share 1, fp32)
  double shared_val_accuracy = 0;  ///< the shared network with every edge on
  std::vector<PolicyRow> rows;     ///< every scored policy, in order
  std::vector<SeedBest> seeds;
  std::vector<PolicyModel> picks;  ///< controller's, then random search's
  std::vector<PolicyModel> baselines;  ///< full, none (with `baselines`)
};

/// Runs the search into folder `out`. Without `resume`, a folder holding a policy search is
/// refused. `log` gets one line per event.
PolicyReport run_policy_search(const config::PolicyConfig& config, const std::string& out, bool resume,
                               const std::function<void(const std::string&)>& log);

}  // namespace concnas::search
