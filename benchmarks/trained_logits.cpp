// The trained network's own logits on Fashion-MNIST's test set, for comparing a
// deployment's outputs (`concnas run --all --logits`) with them: nn::Network in eval mode,
// the images normalised as `concnas run` does (input_mean and input_std of the run's
// eval.json). Writes CSV in `concnas run --logits`'s format and prints the accuracy.
//
//   concnas_trained_logits RUN_DIR OUT.csv     (RUN_DIR: arch.yaml, weights.pt, eval.json)
#include <torch/torch.h>

#include <cstdio>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "concnas/common/atomic_file.h"
#include "concnas/config/architecture_yaml.h"
#include "concnas/data/image_set.h"
#include "concnas/deploy/benchmark.h"
#include "concnas/nn/input.h"
#include "concnas/nn/network.h"

namespace {

concnas::deploy::InputSpec normalisation_of(const std::string& eval_json) {
  std::ifstream in(eval_json);
  if (!in) throw std::runtime_error("cannot read " + eval_json);
  const auto j = nlohmann::json::parse(in);
  return {j.at("input_mean").get<std::vector<double>>(), j.at("input_std").get<std::vector<double>>()};
}

int run(const std::string& dir, const std::string& out) {
  torch::NoGradGuard no_grad;
  const auto arch = concnas::config::load_architecture(dir + "/arch.yaml");
  concnas::nn::Network net(arch);
  torch::load(net, dir + "/weights.pt");
  net->eval();
  const auto input = normalisation_of(dir + "/eval.json");
  const auto set = concnas::data::load_mnist_format(concnas::data::kFashionMnistDir, concnas::data::Split::kTest);
  std::string rows = "image,label";
  for (int k = 0; k < arch.network.classes; ++k) rows += fmt::format(",logit{}", k);
  rows += "\n";
  std::size_t correct = 0;
  constexpr std::size_t kBatch = 100;
  for (std::size_t first = 0; first < set.size(); first += kBatch) {
    const std::size_t count = std::min(kBatch, set.size() - first);
    const auto logits = net->forward(concnas::nn::input_tensor(set, {input.mean, input.std}, first, count)).contiguous();
    const float* p = logits.data_ptr<float>();
    for (std::size_t i = 0; i < count; ++i) {
      const int label = set.labels[first + i];
      rows += fmt::format("{},{}", first + i, label);
      int best = 0;
      for (int k = 0; k < arch.network.classes; ++k) {
        rows += fmt::format(",{:.9g}", p[i * arch.network.classes + k]);
        if (p[i * arch.network.classes + k] > p[i * arch.network.classes + best]) best = k;
      }
      rows += "\n";
      correct += best == label;
    }
  }
  concnas::write_file_atomic(out, rows);
  std::printf("{\"images\": %zu, \"accuracy\": %.6f}\n", set.size(), static_cast<double>(correct) / set.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: concnas_trained_logits RUN_DIR OUT.csv\n");
    return 2;
  }
  try {
    return run(argv[1], argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "concnas_trained_logits: %s\n", e.what());
    return 1;
  }
}
