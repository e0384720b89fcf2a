#pragma once
/// \file
/// A random number generator whose output is the same on every platform.
///
/// The standard distributions differ between standard libraries, so concnas draws raw
/// 64-bit words from `std::mt19937_64` (which the standard fixes bit for bit) and turns
/// them into numbers itself.
///
///     concnas::Rng rng(42);
///     double u = rng.uniform();          // [0, 1)
///     int k = rng.below(10);             // 0..9
///     concnas::Rng staging = rng.fork(1);  // an independent stream

#include <cstdint>
#include <random>

namespace concnas {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}

  /// A raw 64-bit word.
  std::uint64_t next() { return engine_(); }
  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  /// True with probability `p` (p <= 0 never, p >= 1 always).
  bool bernoulli(double p) { return uniform() < p; }
  /// Uniform integer in [0, n); `n` must be positive. Unbiased (rejection sampling).
  std::uint64_t below(std::uint64_t n);

  /// A generator for an independent sub-stream, derived from `seed` and `stream` only.
  static Rng derive(std::uint64_t seed, std::uint64_t stream);

 private:
  std::mt19937_64 engine_;
};

/// SplitMix64 finaliser: a fixed bijective mix of 64 bits, used to derive seeds.
std::uint64_t mix_seed(std::uint64_t x);

}  // namespace concnas
