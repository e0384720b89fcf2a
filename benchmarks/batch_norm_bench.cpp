// Training batch norm, forward and backward, concnas's loops (nn::batch_norm_train)
// against LibTorch's (torch::batch_norm), on the map sizes of a DP-40 network at batch 128.
//   concnas_bench_batch_norm [--benchmark_filter=...] [--threads T]   (T intra-op threads, default 2)
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstring>

#include "concnas/nn/batch_norm.h"

namespace {

void BM_BatchNorm(benchmark::State& state, bool own) {
  const int64_t c = state.range(0), side = state.range(1);
  torch::manual_seed(0);
  const auto x = (torch::randn({128, c, side, side}) * 2 + 3).requires_grad_();
  const auto w = torch::ones({c}).requires_grad_();
  const auto b = torch::zeros({c}).requires_grad_();
  auto rm = torch::zeros({c}), rv = torch::ones({c}), tracked = torch::zeros({}, torch::kLong);
  const auto gy = torch::randn_like(x);
  for (auto _ : state) {
    auto y = own ? concnas::nn::batch_norm_train(x, w, b, rm, rv, tracked, 0.1, 1e-5)
                 : torch::batch_norm(x, w, b, rm, rv, true, 0.1, 1e-5, false);
    y.backward(gy);
  }
  state.SetItemsProcessed(state.iterations() * x.numel());
}

BENCHMARK_CAPTURE(BM_BatchNorm, concnas, true)->Args({64, 7})->Args({32, 14})->Args({16, 28})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_BatchNorm, libtorch, false)->Args({64, 7})->Args({32, 14})->Args({16, 28})->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  int threads = 2;
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
  at::set_num_threads(threads);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
