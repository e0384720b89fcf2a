// concnas_host_probe: how fast this core reaches memory, sampled for a while, to see
// whether the host slows it down now and then (a latency benchmark on a shared virtual
// machine measures the host too). Every sample times dependent loads through a random
// cycle (Sattolo's shuffle, so no prefetcher helps) in a 1 MiB block and in a 256 MiB
// one, and a chain of integer multiplies as a control that needs no memory.
//
//   concnas_host_probe [SECONDS=20] [CPU]     (CPU: pin to it; default: wherever it runs)
//
// Prints one CSV row per sample: seconds since the start, ns per load for each block, ns
// per multiply. Run one per core at the same time to see whether the cores' slow spells
// coincide. docs/notes/runtime_2026-11.md (summary: docs/results.md, "Host noise").
#include <sched.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Where every chain's end goes, so the compiler keeps the loops.
volatile std::uint64_t sink = 0;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A single random cycle through `n` slots: following it visits every slot once.
std::vector<std::uint32_t> random_cycle(std::size_t n, std::mt19937_64& rng) {
  std::vector<std::uint32_t> next(n);
  std::iota(next.begin(), next.end(), 0U);
  for (std::size_t i = n - 1; i > 0; --i) std::swap(next[i], next[rng() % i]);
  return next;
}

double ns_per_load(const std::vector<std::uint32_t>& next, long loads, std::uint32_t* at) {
  std::uint32_t p = *at;
  const auto t = Clock::now();
  for (long i = 0; i < loads; ++i) p = next[p];
  const double ns = seconds_since(t) * 1e9 / static_cast<double>(loads);
  *at = p;
  sink = sink + p;
  return ns;
}

double ns_per_multiply(long steps, std::uint64_t* state) {
  std::uint64_t x = *state;
  const auto t = Clock::now();
  for (long i = 0; i < steps; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  const double ns = seconds_since(t) * 1e9 / static_cast<double>(steps);
  *state = x;
  sink = sink + x;
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  char* end = nullptr;
  const double duration = argc > 1 ? std::strtod(argv[1], &end) : 20.0;
  const bool bad_duration = argc > 1 && (*end != '\0' || !(duration > 0));
  const long cpu = argc > 2 ? std::strtol(argv[2], &end, 10) : -1;
  const bool bad_cpu = argc > 2 && (*end != '\0' || cpu < 0 || cpu >= CPU_SETSIZE);
  if (argc > 3 || bad_duration || bad_cpu) {
    std::fprintf(stderr, "usage: concnas_host_probe [SECONDS>0] [CPU]\n");
    return 2;
  }
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<int>(cpu), &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
      std::fprintf(stderr, "concnas_host_probe: cannot run on CPU %s\n", argv[2]);
      return 2;
    }
  }
  std::mt19937_64 rng(1);
  const auto small = random_cycle((1U << 20) / sizeof(std::uint32_t), rng);
  const auto large = random_cycle((256U << 20) / sizeof(std::uint32_t), rng);
  std::uint32_t at_small = 0, at_large = 0;
  std::uint64_t state = 1;
  std::printf("s,ns_per_load_1mib,ns_per_load_256mib,ns_per_multiply\n");
  const auto start = Clock::now();
  while (seconds_since(start) < duration) {
    const double a = ns_per_load(small, 200000, &at_small);
    const double b = ns_per_load(large, 20000, &at_large);
    const double c = ns_per_multiply(2000000, &state);
    std::printf("%.3f,%.2f,%.1f,%.3f\n", seconds_since(start), a, b, c);
  }
  return 0;
}
