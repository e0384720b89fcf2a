// Training throughput of one architecture in C++: forward, loss, backward and SGD step on
// in-memory batches, the same work benchmarks/train_step.py does through PyTorch's Python
// frontend. Prints one JSON object.
//
//   concnas_train_step ARCH.yaml [--batch 128] [--steps 40] [--warmup 5] [--threads 2]
//                                [--kernels concnas|libtorch|both]
//
// --kernels: whose batch norm and aggregation loops train (train.kernels; concnas's own by
// default, libtorch: LibTorch's operators alone). "both" alternates them step by step in
// this one process, each timed apart, and prints the two rates and their ratio: the
// machine's drift then hits both alike.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "concnas/config/architecture_yaml.h"
#include "concnas/nn/ops.h"
#include "concnas/nn/network.h"
#include "concnas/train/step.h"
#include "concnas/train/trainer.h"

namespace {
int run(int argc, char** argv);
}  // namespace

int main(int argc, char** argv) {
  // Bad input (an unreadable or invalid architecture file) is one line and exit 2.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "concnas_train_step: %s\n", e.what());
    return 2;
  }
}

namespace {
int run(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ARCH.yaml [--batch B] [--steps N] [--warmup W] [--threads T] [--kernels concnas|libtorch|both]\n", argv[0]);
    return 2;
  }
  int batch = 128, steps = 40, warmup = 5, threads = 2;
  std::string kernels = "concnas";
  for (int i = 2; i + 1 < argc; i += 2) {
    const int v = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--kernels")) kernels = argv[i + 1];
    else if (!std::strcmp(argv[i], "--batch")) batch = v;
    else if (!std::strcmp(argv[i], "--steps")) steps = v;
    else if (!std::strcmp(argv[i], "--warmup")) warmup = v;
    else if (!std::strcmp(argv[i], "--threads")) threads = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  concnas::train::configure_cpu_runtime(threads);  // as concnas train does
  torch::manual_seed(0);
  const auto arch = concnas::config::load_architecture(argv[1]);
  concnas::nn::Network net(arch);
  torch::optim::SGD opt(net->parameters(),
                        torch::optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(5e-5));
  const auto& in = arch.network.input;
  const auto x = torch::randn({batch, in.channels, in.height, in.width});
  const auto y = torch::randint(arch.network.classes, {batch}, torch::kLong);
  if (kernels != "concnas" && kernels != "libtorch" && kernels != "both") {
    std::fprintf(stderr, "--kernels %s: must be concnas, libtorch or both\n", kernels.c_str());
    return 2;
  }
  auto use = [](bool own) {
    concnas::nn::set_kernels(own ? concnas::nn::Kernels::kConcnas : concnas::nn::Kernels::kLibTorch);
  };
  use(kernels != "libtorch");
  auto step = [&] {
    const auto r = concnas::train::forward_backward(net, x, y, 0.1);
    opt.step();
    return r.loss;
  };
  for (int i = 0; i < warmup; ++i) step();
  if (kernels == "both") {
    double seconds[2] = {0, 0};  // [0]: concnas's, [1]: LibTorch's
    for (int i = 0; i < 2 * steps; ++i) {
      const int which = (i / 2 + i) % 2;  // orders 01 10 01 10 ...: neither always goes first
      use(which == 0);
      const auto t = std::chrono::steady_clock::now();
      step();
      seconds[which] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
    }
    const double images = steps * static_cast<double>(batch);
    std::printf("{\"frontend\": \"libtorch-cpp\", \"architecture\": \"%s\", \"batch\": %d, "
                "\"steps\": %d, \"threads\": %d, \"kernels\": \"both\", "
                "\"images_per_s_concnas\": %.1f, \"images_per_s_libtorch\": %.1f, \"ratio\": %.3f}\n",
                arch.name.c_str(), batch, steps, threads, images / seconds[0],
                images / seconds[1], seconds[1] / seconds[0]);
    return 0;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"frontend\": \"libtorch-cpp\", \"architecture\": \"%s\", \"batch\": %d, "
              "\"steps\": %d, \"threads\": %d, \"kernels\": \"%s\", \"seconds\": %.4f, "
              "\"images_per_s\": %.1f}\n",
              arch.name.c_str(), batch, steps, threads, kernels.c_str(), s, steps * static_cast<double>(batch) / s);
  return 0;
}
}  // namespace
