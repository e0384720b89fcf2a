#pragma once
// A trained-looking network to deploy in tests: 24 DP vertices on 12x12 images with
// scaling blocks, staged vertices and several sinks; random weights and batch-norm
// statistics, so that a comparison of outputs can fail.

#include <torch/torch.h>

#include <vector>

#include "concnas/arch/architecture.h"
#include "concnas/common/rng.h"
#include "concnas/nn/network.h"

namespace concnas::testing {

inline arch::Architecture deploy_architecture(arch::Aggregation aggregation) {
  arch::GenerateOptions o;
  o.generator = "dp";
  o.nodes = 24;
  o.seed = 5;
  o.network.input = {1, 12, 12};
  o.network.stem_channels = 4;
  o.network.channel_limit = 16;
  o.network.min_resolution = 3;
  o.network.aggregation = aggregation;
  return arch::generate_architecture(o, graph::builtin_generators(), arch::builtin_staging_policies());
}

inline nn::Network randomised_network(const arch::Architecture& a, std::uint64_t seed = 11) {
  torch::manual_seed(seed);
  nn::Network net(a);
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.uniform_(-0.5, 0.5);
  for (auto& b : net->named_buffers())
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
    else if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.3, 0.3);
  net->eval();
  return net;
}

/// Compute vertices spread at random over `units`; input and output on unit 0.
inline std::vector<int> random_parts(const arch::Architecture& a, int units, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<int> parts(a.dag.num_vertices(), 0);
  for (int v = 0; v < a.dag.num_compute(); ++v) parts[v] = static_cast<int>(rng.below(units));
  return parts;
}

}  // namespace concnas::testing
