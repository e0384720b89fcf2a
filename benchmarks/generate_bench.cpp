// Generating, orienting, staging and costing one architecture: the inner loop of search.
#include <benchmark/benchmark.h>

#include "concnas/arch/architecture.h"
#include "concnas/arch/cost.h"

namespace {

void BM_GenerateArchitecture(benchmark::State& state, const char* generator) {
  const auto generators = concnas::graph::builtin_generators();
  const auto policies = concnas::arch::builtin_staging_policies();
  concnas::arch::GenerateOptions options;
  options.generator = generator;
  options.nodes = static_cast<int>(state.range(0));
  std::uint64_t seed = 0;
  std::int64_t flops = 0;
  for (auto _ : state) {
    options.seed = seed++;
    const auto arch = concnas::arch::generate_architecture(options, generators, policies);
    flops += concnas::arch::compute_cost(arch).total.flops;
  }
  benchmark::DoNotOptimize(flops);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_GenerateArchitecture, er, "er")->Arg(40)->Arg(80);
BENCHMARK_CAPTURE(BM_GenerateArchitecture, ba, "ba")->Arg(40)->Arg(80);
BENCHMARK_CAPTURE(BM_GenerateArchitecture, ws, "ws")->Arg(40)->Arg(80);
BENCHMARK_CAPTURE(BM_GenerateArchitecture, dp, "dp")->Arg(40)->Arg(80);

void BM_GenerateGraphOnly(benchmark::State& state) {
  const auto generators = concnas::graph::builtin_generators();
  const auto& er = generators.get("er");
  std::uint64_t seed = 0;
  for (auto _ : state) {
    auto g = er.generate(32, {}, seed++);
    auto dag = concnas::graph::orient(g, concnas::graph::Orientation::kDfs);
    benchmark::DoNotOptimize(dag);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GenerateGraphOnly);

}  // namespace

BENCHMARK_MAIN();
