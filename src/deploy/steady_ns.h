#pragma once
// The time the deployment code stamps its steps and traces with (private to src/deploy).

#include <chrono>
#include <cstdint>

namespace concnas::deploy::detail {

/// Nanoseconds on the steady clock: the engine's `ran` hook, traces and calibration share it.
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace concnas::deploy::detail
