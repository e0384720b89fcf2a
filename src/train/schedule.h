#pragma once
// The learning-rate schedule of a training run (private to src/train): linear warm-up,
// then cosine decay to 0 over the run's steps.

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "concnas/config/train_config.h"

namespace concnas::train::detail {

/// The largest share of a run's steps that warm up.
inline constexpr double kMaxWarmupShare = 0.2;

struct Schedule {
  std::int64_t steps_per_epoch = 0;
  std::int64_t total_steps = 0;  ///< epochs x steps per epoch, capped by max_steps
  double warmup = 0;             ///< warm-up steps
  double lr = 0;                 ///< the peak rate

  static Schedule of(const config::TrainSection& t, std::int64_t images) {
    Schedule s;
    s.steps_per_epoch = (images + t.batch_size - 1) / t.batch_size;
    s.total_steps = s.steps_per_epoch * t.epochs;
    if (t.max_steps > 0) s.total_steps = std::min(s.total_steps, t.max_steps);
    // At most a fifth of the run: a one-epoch run with a one-epoch warm-up would never
    // leave it (and train near chance).
    s.warmup = std::min<double>(t.warmup_epochs * s.steps_per_epoch, kMaxWarmupShare * s.total_steps);
    s.lr = t.lr;
    return s;
  }

  double lr_at(std::int64_t step) const {
    if (step < warmup) return lr * (step + 1) / warmup;
    const double progress = (step - warmup) / std::max(1.0, total_steps - warmup);
    return lr * 0.5 * (1.0 + std::cos(M_PI * std::min(1.0, progress)));
  }
};

}  // namespace concnas::train::detail
