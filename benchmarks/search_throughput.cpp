// The sample-build-score stage of `concnas search`: candidates per second over the cores.
// Samples N 40-vertex candidates from a search config's space (default: the quickstart's),
// then builds, costs and scores them for its units and balance bounds, as `concnas search`
// does, once on one thread and once on T threads. Prints one JSON object.
//
//   concnas_search_throughput [CONFIG.yaml] [--candidates N] [--threads T] [--partitioner P]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "concnas/search/candidates.h"

int main(int argc, char** argv) {
  std::string config = std::string(CONCNAS_SOURCE_DIR) + "/configs/quickstart.yaml";
  int candidates = 2000, threads = 2;
  std::string partitioner;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--candidates") && has_value) candidates = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && has_value) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--partitioner") && has_value) partitioner = argv[++i];
    else if (argv[i][0] != '-') config = argv[i];
    else {
      std::fprintf(stderr, "usage: %s [CONFIG.yaml] [--candidates N] [--threads T] [--partitioner P]\n", argv[0]);
      return 2;
    }
  }
  auto cfg = concnas::search::load_search_config(config);
  cfg.search.candidates = candidates;
  cfg.space.baselines.clear();
  if (!partitioner.empty()) cfg.search.partitioner = partitioner;
  const concnas::arch::Shape input{1, 28, 28};
  auto timed = [&](int t) {
    cfg.search.threads = t;
    const auto start = std::chrono::steady_clock::now();
    const auto sampled = concnas::search::sample_candidates(cfg);
    const auto records = concnas::search::evaluate_candidates(cfg, sampled, input, 10);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return std::make_pair(s, records.size());
  };
  const auto [one_s, n] = timed(1);
  const auto [many_s, n2] = timed(threads);
  (void)n2;
  std::printf("{\"config\": \"%s\", \"partitioner\": \"%s\", \"units\": %d, \"epsilons\": %zu, "
              "\"candidates\": %zu, \"one_thread_per_s\": %.1f, \"threads\": %d, \"per_s\": %.1f, "
              "\"scaling\": %.2f}\n",
              config.c_str(), cfg.search.partitioner.c_str(), cfg.search.units, cfg.search.epsilons.size(), n,
              n / one_s, threads, n / many_s, one_s / many_s);
  return 0;
}
