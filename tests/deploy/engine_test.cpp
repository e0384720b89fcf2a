#include "concnas/deploy/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <thread>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>

#include "../src/deploy/infer_kernels.h"
#include "../src/deploy/ready_scheduler.h"
#include "concnas/deploy/export.h"
#include "support/deploy_network.h"
#include "support/version2_network.h"
#include "support/temp_dir.h"

namespace concnas::deploy {
namespace {

using testing::random_parts;

class TheEngine : public testing::TempDirTest {};

TEST_F(TheEngine, GivesTheTrainedNetworksLogitsOnOneAndTwoCores) {
  for (auto aggregation : {arch::Aggregation::kRandWire, arch::Aggregation::kSigmoidInputs})
  for (bool v2 : {false, true}) {
    const auto v1 = testing::deploy_architecture(aggregation);
    const auto a = v2 ? testing::with_version2_design(v1) : v1;
    auto net = testing::randomised_network(a);
    const auto images = torch::randn({5, 1, 12, 12});
    const auto expected = net->forward(images);
    const auto plan = make_plan(a, std::vector<int>(a.dag.num_vertices(), 0), 1);
    const std::string dir = path(fmt::format("one{}{}", static_cast<int>(aggregation), v2));
    export_deployment(a, *net, plan, dir);
    const auto module = torch::jit::load(dir + "/unit_0.pt");
    for (int cores : {1, 2, 3}) {
      EngineOptions o;
      o.cores = cores;
      Engine engine(a, plan, 0, module, o);
      for (int repeat = 0; repeat < 3; ++repeat)
        EXPECT_LT((engine.forward(images) - expected).abs().max().item<double>(), 1e-4) << cores << " cores";
    }
  }
}

// Every unit's engine in a thread of its own, handing vertex outputs over as a network would
// (only the channels and element type the plan's transfers carry).
class TheEngineOfAPlan : public testing::TempDirTest, public ::testing::WithParamInterface<bool> {};

TEST_P(TheEngineOfAPlan, RunsEachUnitOnItsOwnTensors) {
  const auto v1 = testing::deploy_architecture(arch::Aggregation::kRandWire);
  const auto a = GetParam() ? testing::with_version2_design(v1) : v1;
  auto net = testing::randomised_network(a);
  const auto images = torch::randn({2, 1, 12, 12});
  const auto expected = net->forward(images);
  const int units = 3;
  const auto plan = make_plan(a, random_parts(a, units, 7), units);
  std::map<int, const Transfer*> transfer_of;
  for (const auto& t : plan.transfers) transfer_of[t.vertex] = &t;
  export_deployment(a, *net, plan, path("d"));
  std::vector<std::unique_ptr<Engine>> engines;
  for (int u = 0; u < units; ++u) {
    EngineOptions o;
    o.cores = 1 + u % 2;
    engines.push_back(
        std::make_unique<Engine>(a, plan, u, torch::jit::load(path(fmt::format("d/unit_{}.pt", u))), o));
  }
  std::map<int, torch::Tensor> outputs;
  std::mutex m;
  std::condition_variable arrived;
  EngineHooks hooks;
  hooks.receive = [&](int v) {
    std::unique_lock<std::mutex> lock(m);
    const bool came = arrived.wait_for(lock, std::chrono::seconds(20), [&] { return outputs.count(v) > 0; });
    if (!came) throw Error(fmt::format("v{} never came", v));
    return outputs.at(v);
  };
  outputs[a.dag.input()] = images;  // the images go out as they are, as a worker sends them
  hooks.computed = [&](int v, const torch::Tensor& x) {
    std::lock_guard<std::mutex> lock(m);
    const auto it = transfer_of.find(v);
    if (it == transfer_of.end() || v == a.dag.input()) return;
    const Transfer& t = *it->second;
    outputs[v] = x.narrow(1, 0, t.shape.channels).to(t.half ? torch::kHalf : torch::kFloat).to(torch::kFloat).contiguous();
    arrived.notify_all();
  };
  std::vector<torch::Tensor> partials(units);
  std::vector<std::thread> threads;
  for (int u = 0; u < units; ++u)
    threads.emplace_back([&, u] { partials[u] = engines[u]->run(2, u == 0 ? &images : nullptr, hooks); });
  for (auto& t : threads) t.join();
  std::vector<torch::Tensor> sums;
  for (const auto& p : partials)
    if (p.defined()) {
      // Pooled over the plane: what the plan sends (C values per image), not H x W x C.
      EXPECT_EQ(p.sizes(), torch::IntArrayRef({2, a.output.in.channels, 1, 1}));
      sums.push_back(p);
    }
  ASSERT_GT(sums.size(), 1u) << "one unit holds every sink: the test checks no partial sums";
  EXPECT_LT((engines[0]->head(sums) - expected).abs().max().item<double>(), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Versions, TheEngineOfAPlan, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Version2" : "Version1"; });

TEST_F(TheEngine, NamesATensorTheUnitFileLacks) {
  const auto a = testing::deploy_architecture(arch::Aggregation::kRandWire);
  const auto plan = make_plan(a, std::vector<int>(a.dag.num_vertices(), 0), 1);
  torch::jit::Module empty("empty");
  try {
    Engine engine(a, plan, 0, empty);
    FAIL() << "an empty module was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tensor 'stem_weight'"), std::string::npos) << e.what();
  }
}

TEST(InferenceKernels, ConvolveAndPoolAsLibTorchOnOddAndEvenPlanes) {
  torch::manual_seed(3);
  // 16 and 32 output channels take the four-pixel path inside the plane; 3 the lane-by-lane one.
  for (auto [h, w] : {std::pair{7, 5}, std::pair{6, 11}, std::pair{3, 3}, std::pair{1, 4}})
    for (int64_t out : {3, 16, 32}) {
      const auto x = torch::randn({2, h, w});
      const auto k = torch::randn({out, 2, 3, 3});
      const auto bias = torch::randn({out});
      const auto expected = torch::conv2d(x.unsqueeze(0), k, bias, 1, 1).squeeze(0);
      auto got = torch::empty({h, w, out});                 // channel-last
      const auto wt = k.permute({1, 2, 3, 0}).contiguous();  // in x 3 x 3 x out
      kernels::conv3x3_channel_last(x.data_ptr<float>(), 2, {h, w}, wt.data_ptr<float>(), bias.data_ptr<float>(), out,
                                    got.data_ptr<float>());
      EXPECT_LT((got.permute({2, 0, 1}) - expected).abs().max().item<double>(), 1e-5) << h << "x" << w << " x" << out;
    }
  auto x = torch::randn({3, 7, 10});
  x[1][2][3] = std::numeric_limits<float>::quiet_NaN();  // a NaN wins its window, as in LibTorch
  for (auto [h, w] : {std::pair{3, 5}, std::pair{7, 2}, std::pair{2, 3}}) {
    const auto expected = std::get<0>(torch::adaptive_max_pool2d(x.unsqueeze(0), {h, w})).squeeze(0);
    const auto x_hwc = x.permute({1, 2, 0}).contiguous();
    auto got_hwc = torch::empty({h, w, 3});
    kernels::adaptive_max_pool_channel_last(x_hwc.data_ptr<float>(), 3, {7, 10}, {h, w}, got_hwc.data_ptr<float>());
    EXPECT_TRUE(torch::allclose(got_hwc.permute({2, 0, 1}), expected, 0, 0, /*equal_nan=*/true)) << h << "x" << w;
    EXPECT_GT(expected.isnan().sum().item<int>(), 0) << "the NaN is in no window";
  }
}

// Image `x` (C x H x W) with each pixel's channels together.
torch::Tensor channel_last_image(const torch::Tensor& x) { return x.permute({1, 2, 0}).contiguous(); }

TEST(InferenceKernels, AggregateReluAndDepthwiseAsLibTorch) {
  torch::manual_seed(5);
  const auto a = torch::tensor({0.3F, -1.2F, 0.7F});
  // 83 channels: four vectors, one vector and three lanes in the channel-last loop; 24: two
  // pixels at once inside the plane, then half a vector each.
  for (auto [h, w] : {std::pair{7, 5}, std::pair{6, 6}, std::pair{1, 1}, std::pair{28, 28}})
    for (int stride : {1, 2})
      for (bool sigmoid : {false, true})
        for (int64_t c : {3, 24, 83})
          for (int k : {1, 2, 3}) {
            std::vector<torch::Tensor> x;
            for (int i = 0; i < k; ++i) x.push_back(torch::randn({c, h, w}));
            auto f = [&](const torch::Tensor& v) { return sigmoid ? torch::sigmoid(v) : v; };
            auto sum = f(x[0]) * a[0];
            for (int i = 1; i < k; ++i) sum = sum + f(x[i]) * a[i];
            const auto weight = torch::randn({c, 1, 3, 3});
            const auto expected = torch::conv2d(torch::relu(sum).unsqueeze(0), weight, {}, stride, 1, 1, c).squeeze(0);
            const std::string what = fmt::format("{}x{} stride {} {} channels {} inputs{}", h, w, stride, c, k,
                                                 sigmoid ? " sigmoid" : "");
            auto got = torch::empty_like(expected);
            std::vector<float> scratch(static_cast<std::size_t>(kernels::depthwise_scratch_size({h, w})));
            std::vector<const float*> xs;
            for (const auto& v : x) xs.push_back(v.data_ptr<float>());
            kernels::aggregate_relu_depthwise(xs.data(), a.data_ptr<float>(), k, sigmoid, c, {h, w},
                                              weight.data_ptr<float>(), stride, scratch.data(), got.data_ptr<float>());
            EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5) << what;
            // Channel-last: each pixel's channels together, in and out; weights as 9 x C.
            std::vector<torch::Tensor> x_hwc;
            std::vector<const float*> xs_hwc;
            for (const auto& v : x) xs_hwc.push_back(x_hwc.emplace_back(channel_last_image(v)).data_ptr<float>());
            auto hwc = torch::empty({expected.size(1), expected.size(2), c});
            const auto wt = weight.view({c, 9}).t().contiguous();
            std::vector<float> last(static_cast<std::size_t>(kernels::channel_last_scratch_size(c, {h, w})));
            kernels::aggregate_relu_depthwise_channel_last(xs_hwc.data(), a.data_ptr<float>(), k, sigmoid, c, {h, w},
                                                           wt.data_ptr<float>(), stride, last.data(),
                                                           hwc.data_ptr<float>());
            EXPECT_LT((hwc.permute({2, 0, 1}) - expected).abs().max().item<double>(), 1e-5) << "channel-last " << what;
          }
}

TEST(InferenceKernels, MultiplyChannelLastPixelsByTheTransposedWeight) {
  torch::manual_seed(8);
  const auto w = torch::randn({5, 7}), x = torch::randn({12, 7}), bias = torch::randn({5});
  const auto expected = torch::matmul(x, w.t()) + bias;
  auto got = torch::empty({12, 5});
  const auto wt = w.t().contiguous();
  kernels::matmul_rows_bias(x.data_ptr<float>(), wt.data_ptr<float>(), bias.data_ptr<float>(), 12, 7, 5,
                            got.data_ptr<float>());
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-5);
}

// A diamond and a chain: 0 -> {1, 2} -> 3, 4 -> 5.
std::vector<std::vector<int>> small_dag() { return {{1, 2}, {3}, {3}, {}, {5}, {}}; }

TEST(AReadyScheduler, RunsEveryTaskOnceAfterItsPredecessorsOnSeveralThreads) {
  detail::ReadyScheduler scheduler(small_dag(), {4, 2, 3, 1, 9, 8}, 3);
  // The one-thread order: the highest priority among the ready tasks first.
  EXPECT_EQ(scheduler.serial_order(), (std::vector<int>{4, 5, 0, 2, 1, 3}));
  for (int round = 0; round < 50; ++round) {
    std::vector<std::atomic<int>> ran(6);
    std::atomic<int> order{0};
    std::vector<int> at(6, -1);
    std::set<int> threads;
    std::mutex m;
    scheduler.run([&](int task, int thread) {
      ran[task]++;
      std::lock_guard<std::mutex> lock(m);
      at[task] = order++;
      threads.insert(thread);
    });
    for (int t = 0; t < 6; ++t) EXPECT_EQ(ran[t].load(), 1) << t;
    EXPECT_LT(at[0], at[1]);
    EXPECT_LT(at[0], at[2]);
    EXPECT_LT(at[1], at[3]);
    EXPECT_LT(at[2], at[3]);
    EXPECT_LT(at[4], at[5]);
    for (int t : threads) EXPECT_TRUE(t >= 0 && t < 3) << t;
  }
}

TEST(AReadyScheduler, RethrowsATasksErrorAndRunsAgainAfterIt) {
  detail::ReadyScheduler scheduler(small_dag(), {1, 1, 1, 1, 1, 1}, 2);
  EXPECT_THROW(scheduler.run([](int task, int) {
    if (task == 2) throw std::runtime_error("task 2 failed");
  }),
               std::runtime_error);
  std::atomic<int> ran{0};
  scheduler.run([&](int, int) { ran++; });
  EXPECT_EQ(ran.load(), 6);
}

}  // namespace
}  // namespace concnas::deploy
