#pragma once
// One training of a command that trains several networks in one run folder (`concnas lcp`,
// `concnas stretch`): a line before it and one per epoch to `log`, carried on from its
// checkpoint with `resume` when its folder is there.
#include <functional>
#include <string>

#include "concnas/arch/architecture.h"
#include "concnas/config/train_config.h"
#include "concnas/train/trainer.h"

namespace concnas::search {

/// Trains `a` into `out`/`dir` with `cfg`; `setup`, when given, sets the trainer's hooks
/// first (a policy per step, initial weights).
train::TrainResult train_logged(const config::TrainConfig& cfg, const arch::Architecture& a, const std::string& out,
                                const std::string& dir, bool resume,
                                const std::function<void(const std::string&)>& log,
                                const std::function<void(train::Trainer&)>& setup = {});

}  // namespace concnas::search
