#include "concnas/common/rng.h"

#include "concnas/common/error.h"

namespace concnas {

std::uint64_t Rng::below(std::uint64_t n) {
  CONCNAS_CHECK(n > 0, "Rng::below needs a positive bound");
  // Reject the top partial block so that every residue is equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t x = next();
  while (x >= limit) x = next();
  return x % n;
}

std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

Rng Rng::derive(std::uint64_t seed, std::uint64_t stream) {
  return Rng(mix_seed(mix_seed(seed) ^ mix_seed(stream + 0x5851f42d4c957f2dULL)));
}

}  // namespace concnas
