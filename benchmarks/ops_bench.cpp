// concnas's own training operators (nn/ops.h), forward and backward, against the LibTorch
// operators they replace, on the map sizes of a DP-40 network at batch 128:
// batch norm, and a 3-input aggregation with ReLU.
//   concnas_bench_ops [--benchmark_filter=...] [--threads T]   (T intra-op threads, default 2)
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstring>

#include "concnas/nn/ops.h"

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

void BM_WeightedSumRelu(benchmark::State& state, bool own) {
  const int64_t c = state.range(0), side = state.range(1);
  torch::manual_seed(0);
  std::vector<torch::Tensor> xs;
  for (int i = 0; i < 3; ++i) xs.push_back(torch::randn({128, c, side, side}).requires_grad_());
  const auto w = torch::zeros({3}).requires_grad_();
  const auto g = torch::randn({128, c, side, side});
  for (auto _ : state) {
    const auto s = torch::sigmoid(w);
    torch::Tensor y;
    if (own) {
      y = concnas::nn::weighted_sum_relu(xs, s);
    } else {  // as nn::Aggregate does with LibTorch's operators
      y = xs[0] * s[0];
      for (int64_t i = 1; i < 3; ++i) y.addcmul_(xs[i], s[i]);
      y.relu_();
    }
    y.backward(g);
  }
  state.SetItemsProcessed(state.iterations() * g.numel());
}

BENCHMARK_CAPTURE(BM_WeightedSumRelu, concnas, true)->Args({64, 7})->Args({16, 28})->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_WeightedSumRelu, libtorch, false)->Args({64, 7})->Args({16, 28})->Unit(benchmark::kMicrosecond);

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
