// Scoring: partitioning an architecture for n units with three balance bounds and
// computing every metric and the predicted latency (what search does per candidate).
#include <benchmark/benchmark.h>

#include "concnas/arch/architecture.h"
#include "concnas/partition/score.h"

namespace {

concnas::arch::Architecture make(const char* generator, int nodes, std::uint64_t seed) {
  concnas::arch::GenerateOptions o;
  o.generator = generator;
  o.nodes = nodes;
  o.seed = seed;
  return concnas::arch::generate_architecture(o, concnas::graph::builtin_generators(),
                                              concnas::arch::builtin_staging_policies());
}

void BM_ScoreArchitecture(benchmark::State& state, const char* generator, const char* partitioner) {
  const auto partitioners = concnas::partition::builtin_partitioners();
  std::vector<concnas::arch::Architecture> archs;
  for (int s = 0; s < 16; ++s) archs.push_back(make(generator, static_cast<int>(state.range(0)), s));
  concnas::partition::ScoreOptions o;
  o.units = static_cast<int>(state.range(1));
  o.partitioner = partitioner;
  std::size_t i = 0;
  double cs = 0;
  for (auto _ : state) {
    cs += concnas::partition::score_architecture(archs[i++ % archs.size()], o, partitioners).best().metrics.cs;
  }
  benchmark::DoNotOptimize(cs);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_ScoreArchitecture, dp_metis, "dp", "metis")->Args({40, 4})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ScoreArchitecture, er_metis, "er", "metis")->Args({40, 4})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ScoreArchitecture, dp_metis_unrefined, "dp", "metis-unrefined")->Args({40, 4})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_ScoreArchitecture, dp_components, "dp", "components")->Args({40, 4})->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
