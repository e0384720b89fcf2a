#include "concnas/nn/ops.h"

#include <gtest/gtest.h>

#include <limits>
#include <set>

#include "concnas/arch/architecture.h"
#include "concnas/common/error.h"
#include "concnas/nn/network.h"
#include "support/tiny_network.h"

namespace concnas::nn {
namespace {

struct Result {
  torch::Tensor y, dx, dw, db, running_mean, running_var, tracked;
};

// One forward and backward of a batch norm over `x` with output gradient `gy`, through
// concnas's loops or LibTorch's.
Result run(bool own, const torch::Tensor& x, const torch::Tensor& gy, double momentum = 0.1,
           bool running = true) {
  const int64_t c = x.size(1);
  torch::manual_seed(3);
  Result r;
  auto input = x.clone().requires_grad_();
  auto w = (torch::rand({c}) + 0.5).to(x.scalar_type()).requires_grad_();
  auto b = torch::randn({c}).to(x.scalar_type()).requires_grad_();
  if (running) {
    r.running_mean = torch::randn({c}).to(x.scalar_type());
    r.running_var = (torch::rand({c}) + 0.5).to(x.scalar_type());
  }
  r.tracked = torch::zeros({}, torch::kLong);
  if (own) {
    r.y = batch_norm_train(input, w, b, r.running_mean, r.running_var, r.tracked, momentum, 1e-5);
  } else {
    // torch::nn::BatchNorm2d's bookkeeping: count, then momentum or a cumulative average.
    r.tracked += 1;
    const double f = momentum >= 0 ? momentum : 1.0 / r.tracked.item<double>();
    r.y = torch::batch_norm(input, w, b, r.running_mean, r.running_var, true, f, 1e-5, false);
  }
  r.y.backward(gy);
  r.dx = input.grad();
  r.dw = w.grad();
  r.db = b.grad();
  return r;
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const std::string& what,
                  double rtol = 1e-4, double atol = 1e-5) {
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  EXPECT_TRUE(torch::allclose(a, b, rtol, atol))
      << what << ": max difference " << (a - b).abs().max().item<double>();
}

void expect_like_libtorch(const torch::Tensor& x, double momentum = 0.1, bool running = true) {
  torch::manual_seed(5);
  const auto gy = torch::randn_like(x);
  const Result own = run(true, x, gy, momentum, running);
  const Result ref = run(false, x, gy, momentum, running);
  const std::string shape = fmt::format("[{}, {}, {}, {}]", x.size(0), x.size(1), x.size(2), x.size(3));
  expect_close(own.y, ref.y, "output " + shape);
  expect_close(own.dx, ref.dx, "input gradient " + shape);
  expect_close(own.dw, ref.dw, "weight gradient " + shape, 1e-4, 1e-4);
  expect_close(own.db, ref.db, "bias gradient " + shape, 1e-4, 1e-4);
  expect_close(own.running_mean, ref.running_mean, "running mean " + shape);
  expect_close(own.running_var, ref.running_var, "running variance " + shape);
  EXPECT_TRUE(torch::equal(own.tracked, ref.tracked)) << shape;
}

TEST(ABatchNorm, MatchesLibTorchInOutputGradientsAndRunningStatistics) {
  torch::manual_seed(1);
  expect_like_libtorch(torch::randn({2, 3, 5, 7}) * 2 + 1);
  expect_like_libtorch(torch::randn({16, 8, 7, 7}));
  expect_like_libtorch(torch::randn({5, 4, 14, 14}) * 0.1 - 3);
  // Planes over 1024 values, which are summed in several float runs.
  expect_like_libtorch(torch::randn({3, 2, 40, 41}));
  // One row: the statistics come from one plane per channel.
  expect_like_libtorch(torch::randn({1, 6, 3, 3}));
}

TEST(ABatchNorm, KeepsACumulativeAverageWithoutMomentumAndMayRunWithoutRunningStatistics) {
  // Three batches into the same running statistics: the average weighs them 1, 1/2, 1/3.
  torch::manual_seed(2);
  const auto w = torch::rand({3}) + 0.5, b = torch::randn({3});
  torch::Tensor mean[2], var[2], tracked[2];
  for (int own = 0; own < 2; ++own) {
    mean[own] = torch::randn({3});
    var[own] = torch::rand({3}) + 0.5;
    tracked[own] = torch::zeros({}, torch::kLong);
  }
  mean[1].copy_(mean[0]);
  var[1].copy_(var[0]);
  for (int batch = 0; batch < 3; ++batch) {
    const auto x = torch::randn({4, 3, 6, 6}) * (batch + 1) + batch;
    batch_norm_train(x, w, b, mean[1], var[1], tracked[1], -1, 1e-5);
    tracked[0] += 1;
    torch::batch_norm(x, w, b, mean[0], var[0], true, 1.0 / tracked[0].item<double>(), 1e-5, false);
  }
  expect_close(mean[1], mean[0], "running mean");
  expect_close(var[1], var[0], "running variance");
  EXPECT_EQ(tracked[1].item<int64_t>(), 3);
  expect_like_libtorch(torch::randn({4, 3, 6, 6}), 0.1, /*running=*/false);
}

TEST(ABatchNorm, TakesChannelsLastInputsAndExpandedGradients) {
  torch::manual_seed(12);
  const auto x = torch::randn({4, 5, 6, 6}).contiguous(torch::MemoryFormat::ChannelsLast);
  const auto gy = torch::ones({1}).expand({4, 5, 6, 6});  // what y.sum().backward() hands over
  ASSERT_FALSE(x.is_contiguous());
  const Result own = run(true, x, gy);
  const Result ref = run(false, x, gy);
  expect_close(own.y, ref.y, "output");
  expect_close(own.dx, ref.dx, "input gradient");
  expect_close(own.dw, ref.dw, "weight gradient", 1e-4, 1e-4);
}

TEST(ABatchNorm, CarriesANaNThroughAsLibTorchDoes) {
  auto x = torch::randn({4, 2, 3, 3});
  x[1][0][2][2] = std::numeric_limits<float>::quiet_NaN();
  const Result own = run(true, x, torch::randn_like(x));
  // Channel 0 is NaN throughout, as are its running statistics; channel 1 is untouched.
  EXPECT_TRUE(own.y.select(1, 0).isnan().all().item<bool>());
  EXPECT_TRUE(own.running_var[0].isnan().item<bool>());
  EXPECT_FALSE(own.y.select(1, 1).isnan().any().item<bool>());
}

TEST(ABatchNorm, StaysAccurateFarFromZero) {
  // Mean 1000, spread 0.01: sums of squares around zero would lose every digit of the
  // variance in float. The reference is LibTorch's batch norm in double.
  torch::manual_seed(4);
  const auto x = torch::randn({8, 4, 7, 7}) * 0.01 + 1000;
  const auto gy = torch::randn_like(x);
  const Result own = run(true, x, gy);
  const Result exact = run(false, x.to(torch::kDouble), gy.to(torch::kDouble));
  // The float input itself is only good to ~6e-5 at 1000, i.e. ~6e-3 of the spread.
  expect_close(own.y.to(torch::kDouble), exact.y, "output", 0, 2e-2);
  expect_close(own.running_var.to(torch::kDouble), exact.running_var, "running variance", 1e-3, 0);
  const double scale = exact.dx.abs().max().item<double>();
  expect_close(own.dx.to(torch::kDouble), exact.dx, "input gradient", 0, 2e-2 * scale);
  expect_close(own.dw.to(torch::kDouble), exact.dw, "weight gradient", 2e-2, 1e-2);
}

TEST(ABatchNorm, GivesTheSameBitsForAnyThreadCount) {
  torch::manual_seed(6);
  const auto x = torch::randn({32, 16, 14, 14});  // enough values to run on several threads
  const auto gy = torch::randn_like(x);
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const Result one = run(true, x, gy);
  at::set_num_threads(2);
  const Result two = run(true, x, gy);
  at::set_num_threads(before);
  for (const auto& [a, b, what] :
       {std::tuple{one.y, two.y, "output"}, {one.dx, two.dx, "input gradient"},
        {one.dw, two.dw, "weight gradient"}, {one.db, two.db, "bias gradient"},
        {one.running_mean, two.running_mean, "running mean"},
        {one.running_var, two.running_var, "running variance"}})
    EXPECT_TRUE(torch::equal(a, b)) << what;
}

TEST(ABatchNorm, RefusesOneValuePerChannelAndOtherTensors) {
  const auto w = torch::ones({3}), b = torch::zeros({3});
  EXPECT_THROW(batch_norm_train(torch::randn({1, 3, 1, 1}), w, b, {}, {}, {}, 0.1, 1e-5), Error);
  EXPECT_THROW(batch_norm_train(torch::randn({4, 3, 5}), w, b, {}, {}, {}, 0.1, 1e-5), Error);
  EXPECT_THROW(batch_norm_train(torch::randn({4, 3, 5, 5}, torch::kDouble), w, b, {}, {}, {}, 0.1, 1e-5), Error);
  EXPECT_THROW(batch_norm_train(torch::randn({4, 2, 5, 5}), w, b, {}, {}, {}, 0.1, 1e-5), Error);
}

// max(0, Σ sigmoid(w_i) x_i) and its gradients, through concnas's operator or LibTorch's.
std::vector<torch::Tensor> aggregate(bool own, const std::vector<torch::Tensor>& inputs,
                                     const torch::Tensor& w, const torch::Tensor& g) {
  std::vector<torch::Tensor> xs;
  for (const auto& x : inputs) xs.push_back(x.clone().requires_grad_());
  auto weight = w.clone().requires_grad_();
  torch::Tensor out;
  if (own) {
    out = weighted_sum_relu(xs, torch::sigmoid(weight));
  } else {
    const auto s = torch::sigmoid(weight);
    out = xs[0] * s[0];
    for (std::size_t i = 1; i < xs.size(); ++i) out = out + xs[i] * s[static_cast<int64_t>(i)];
    out = torch::relu(out);
  }
  out.backward(g);
  std::vector<torch::Tensor> result{out.detach(), weight.grad()};
  for (const auto& x : xs) result.push_back(x.grad());
  return result;
}

TEST(AWeightedSumRelu, MatchesLibTorchInOutputAndGradients) {
  torch::manual_seed(7);
  // One input; blocks that do not divide the size; many blocks on two threads.
  for (const auto& [k, shape] : {std::pair{1, std::vector<int64_t>{2, 3, 5, 5}},
                                 {2, {4, 8, 7, 7}},
                                 {3, {3, 5, 9, 11}},
                                 {5, {8, 32, 16, 16}}}) {
    std::vector<torch::Tensor> inputs;
    for (int i = 0; i < k; ++i) inputs.push_back(torch::randn(shape));
    const auto w = torch::randn({k});
    const auto g = torch::randn(shape);
    const auto own = aggregate(true, inputs, w, g);
    const auto ref = aggregate(false, inputs, w, g);
    expect_close(own[0], ref[0], fmt::format("output, {} inputs", k));
    expect_close(own[1], ref[1], fmt::format("weight gradient, {} inputs", k), 1e-4, 1e-4);
    for (int i = 0; i < k; ++i)
      expect_close(own[2 + i], ref[2 + i], fmt::format("gradient of input {} of {}", i, k));
  }
}

TEST(AWeightedSumRelu, MasksExactZerosAndCarriesNaNsAsLibTorchsReluDoes) {
  torch::manual_seed(13);
  const auto x0 = torch::randn({2, 3, 4, 4});
  auto x1 = -x0.clone();  // equal scales: the sum is exactly 0 everywhere but one value
  x1[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  const auto w = torch::zeros({2});
  const auto g = torch::randn({2, 3, 4, 4});
  const auto own = aggregate(true, {x0, x1}, w, g);
  const auto ref = aggregate(false, {x0, x1}, w, g);
  for (std::size_t i = 0; i < own.size(); ++i) {
    EXPECT_TRUE(torch::equal(own[i].isnan(), ref[i].isnan())) << "NaNs of result " << i;
    EXPECT_TRUE(torch::allclose(own[i].nan_to_num(0), ref[i].nan_to_num(0))) << "result " << i;
  }
  EXPECT_EQ(own[2].eq(0).sum().item<int64_t>(), x0.numel() - 1);  // no gradient through 0
}

TEST(AWeightedSumRelu, GivesTheSameBitsForAnyThreadCount) {
  torch::manual_seed(8);
  const std::vector<torch::Tensor> inputs{torch::randn({8, 32, 16, 16}), torch::randn({8, 32, 16, 16})};
  const auto w = torch::randn({2});
  const auto g = torch::randn({8, 32, 16, 16});
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const auto one = aggregate(true, inputs, w, g);
  at::set_num_threads(2);
  const auto two = aggregate(true, inputs, w, g);
  at::set_num_threads(before);
  for (std::size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(torch::equal(one[i], two[i])) << i;
}

TEST(AWeightedSumRelu, RefusesInputsOfOtherShapesAndAWrongScaleCount) {
  const auto a = torch::randn({2, 3, 4, 4});
  EXPECT_THROW(weighted_sum_relu({a, torch::randn({2, 3, 4, 5})}, torch::ones({2})), Error);
  EXPECT_THROW(weighted_sum_relu({a, a}, torch::ones({3})), Error);
  EXPECT_THROW(weighted_sum_relu({a, a.to(torch::kDouble)}, torch::ones({2})), Error);
  EXPECT_THROW(weighted_sum_relu({}, torch::ones({0})), Error);
}

TEST(ANetwork, TrainsWithConcnasKernelsAsWithLibTorchs) {
  const auto arch = testing::small_dp();
  struct Restore {
    ~Restore() { set_kernels(Kernels::kConcnas); }
  } restore;
  std::set<std::string> nodes[2];  // autograd node names under each setting
  auto grads_with = [&](Kernels kernels) {
    set_kernels(kernels);
    torch::manual_seed(9);
    Network net(arch);
    net->train();
    const auto x = torch::randn({6, 1, 28, 28});
    const auto loss = torch::nn::functional::cross_entropy(net->forward(x), torch::randint(10, {6}, torch::kLong));
    auto& names = nodes[kernels == Kernels::kConcnas ? 0 : 1];
    std::vector<torch::autograd::Node*> todo{loss.grad_fn().get()};
    std::set<torch::autograd::Node*> seen;
    while (!todo.empty()) {
      torch::autograd::Node* n = todo.back();
      todo.pop_back();
      if (!n || !seen.insert(n).second) continue;
      const std::string name = n->name();
      names.insert(name.find("BatchNormTrain") != std::string::npos    ? "own batch norm"
                   : name.find("WeightedSumRelu") != std::string::npos ? "own aggregation"
                                                                       : name);
      for (const auto& e : n->next_edges()) todo.push_back(e.function.get());
    }
    loss.backward();
    std::vector<torch::Tensor> out;
    for (const auto& p : net->parameters()) out.push_back(p.grad().clone());
    for (const auto& b : net->buffers()) out.push_back(b.clone());
    return out;
  };
  const auto own = grads_with(Kernels::kConcnas);
  const auto ref = grads_with(Kernels::kLibTorch);
  // Each setting ran its own operators, and only those.
  EXPECT_EQ(nodes[0].count("own batch norm"), 1u);
  EXPECT_EQ(nodes[0].count("own aggregation"), 1u);
  EXPECT_EQ(nodes[1].count("own batch norm") + nodes[1].count("own aggregation"), 0u);
  ASSERT_EQ(own.size(), ref.size());
  bool differ = false;
  for (std::size_t i = 0; i < own.size(); ++i) differ = differ || !torch::equal(own[i], ref[i]);
  EXPECT_TRUE(differ) << "the two settings gave the same bits: the switch changed nothing";
  for (std::size_t i = 0; i < own.size(); ++i)
    expect_close(own[i].to(torch::kDouble), ref[i].to(torch::kDouble), fmt::format("parameter or buffer {}", i), 1e-3, 1e-5);
}

}  // namespace
}  // namespace concnas::nn
