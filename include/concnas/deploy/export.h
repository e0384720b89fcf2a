#pragma once
/// \file
/// Per-unit TorchScript modules of a trained, partitioned network (docs/deploy.md).
///
///     auto plan = concnas::deploy::make_plan(arch, parts, 2);
///     concnas::deploy::export_deployment(arch, *net, plan, "deploy/");
///     concnas::deploy::LocalExecutor run(plan, "deploy/");
///     torch::Tensor logits = run.forward(images);  // equals net->forward(images) in eval mode
///
/// `deploy/unit_K.pt` is a self-contained TorchScript module (loadable by
/// `torch::jit::load` and Python's `torch.jit.load` without concnas) with one method per
/// vertex the unit runs: `stem(images)` and `head(partials)` on unit 0, `partial(sinks)`
/// on every unit holding sinks (its `UnitPlan::sinks`, scaled to the output's shape and
/// added up; `head` averages the units' partial sums, unit 0's first, then in unit
/// order), and `v<id>(xs)` for compute vertex <id>, `xs` being its inputs in
/// `arch.vertices[id].inputs` order (the stem output stands for the input vertex). A
/// one-unit export also has `forward(images)`, the whole network.
///
/// Every batch norm is folded into the convolution before it (inference statistics), so
/// the module holds, per vertex <id>: `v<id>_depthwise` (C x 1 x 3 x 3), `v<id>_pointwise`
/// (Cout x C x 1 x 1) and `v<id>_bias` (Cout), `v<id>_mix` (the aggregation's k
/// coefficients as applied: RandWire's sigmoids) when it has several inputs, and
/// `v<id>_project<from>` for an input projected by a 1x1 convolution; `stem_weight`,
/// `stem_bias`, `head_weight`, `head_bias` and `out_project<sink>`. concnas's engine
/// (deploy/engine.h) runs on these tensors. `deploy/plan.yaml` records the plan and a hash
/// of plan and weights.

#include <torch/script.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "concnas/deploy/plan.h"
#include "concnas/nn/network.h"

namespace concnas::deploy {

/// The tensors a deployment runs on, named as above, from the trained network `net`.
std::map<std::string, torch::Tensor> inference_tensors(const arch::Architecture& arch, nn::NetworkImpl& net);

/// The TorchScript module of `unit` (weights copied from `net`).
torch::jit::Module unit_module(const arch::Architecture& arch, nn::NetworkImpl& net, const Plan& plan,
                               int unit);

/// FNV-1a over the plan's text and every weight the units hold: what workers compare at
/// the handshake.
std::uint64_t deployment_hash(const std::string& plan_text, nn::NetworkImpl& net);

/// Writes unit_0.pt .. unit_{N-1}.pt, arch.yaml, plan.yaml (with `input`, the
/// normalisation the network was trained with, and every file's checksum) and parts.dot
/// into `dir` (created); returns the hash recorded in plan.yaml.
std::uint64_t export_deployment(const arch::Architecture& arch, nn::NetworkImpl& net, const Plan& plan,
                                const std::string& dir, const InputSpec& input = {});

/// Runs an exported deployment in one process, vertex by vertex in topological order,
/// handing tensors between the unit modules as the network would carry them.
class LocalExecutor {
 public:
  LocalExecutor(const arch::Architecture& arch, Plan plan, const std::string& dir);
  torch::Tensor forward(const torch::Tensor& images);

 private:
  arch::Architecture arch_;
  Plan plan_;
  std::vector<torch::jit::Module> units_;
};

}  // namespace concnas::deploy
