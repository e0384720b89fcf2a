#pragma once
// A tiny network used by several tests: three compute vertices, 0 and 1 fed by the input,
// 2 fed by both; vertex 0 stages, so vertex 1's tensor needs a scaling block at vertex 2.

#include "concnas/arch/architecture.h"

namespace concnas::testing {

/// Input 1x8x8, stem 4 channels, channel limit 8, minimum resolution 2, 3 classes.
inline arch::NetworkOptions tiny_network_options() {
  arch::NetworkOptions o;
  o.input = {1, 8, 8};
  o.stem_channels = 4;
  o.channel_limit = 8;
  o.min_resolution = 2;
  o.classes = 3;
  return o;
}

/// A 10-vertex DP network with probabilistic staging, stem 8, channel limit 16, for the
/// Fashion-MNIST shape: small enough to train a step in milliseconds, with vertices that
/// aggregate several inputs.
inline arch::Architecture small_dp() {
  arch::GenerateOptions o;
  o.generator = "dp";
  o.nodes = 10;
  o.seed = 4;
  o.staging.policy = "probabilistic";
  o.network.stem_channels = 8;
  o.network.channel_limit = 16;
  return arch::generate_architecture(o, graph::builtin_generators(), arch::builtin_staging_policies());
}

/// Vertex 0 (staged): 4x8x8 -> 8x4x4; vertex 1: 4x8x8 -> 4x8x8; vertex 2 takes 0 and 1,
/// pooling vertex 1 to 4x4 and projecting it to 8 channels.
inline arch::Architecture tiny_network() {
  auto a = arch::rebuild_architecture(graph::Dag::from_compute_edges(3, {{0, 2}, {1, 2}}),
                                      tiny_network_options(), {true, false, false});
  a.name = "tiny";
  return a;
}

}  // namespace concnas::testing
