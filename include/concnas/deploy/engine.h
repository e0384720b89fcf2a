#pragma once
/// \file
/// concnas's inference engine: runs one unit of an exported deployment with loops of its
/// own instead of one TorchScript call per vertex.
///
///     auto d = concnas::deploy::read_deployment("deploy/");
///     auto module = torch::jit::load("deploy/unit_0.pt");
///     concnas::deploy::EngineOptions o;
///     o.cores = 2;                                   // two vertices at a time
///     concnas::deploy::Engine engine(d.arch, d.plan, 0, module, o);
///     torch::Tensor logits = engine.forward(images); // a one-unit deployment
///
/// A vertex is one pass of fused loops (aggregation, ReLU and depthwise convolution per
/// channel plane) and one matrix product (the pointwise convolution with its batch norm
/// folded in at export). With `cores` > 1 the unit runs independent vertices at the same
/// time: a ready list ordered by each vertex's longest path to the output (its own work
/// plus the most expensive chain after it), as Opara and HiDP schedule a device's
/// operators (docs/deploy.md, "The engine"). Weights are the unit file's tensors
/// (deploy/export.h names them).

#include <torch/script.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "concnas/deploy/plan.h"

namespace concnas::deploy {

struct EngineOptions {
  int cores = 1;  ///< threads running this unit's vertices (the calling thread is one of them)
};

/// What the engine asks of the process it runs in, during `Engine::run`.
struct EngineHooks {
  /// Blocks until the output of `vertex`, computed on another unit, is here; returns it as
  /// a float N x C x H x W tensor (channels-last or contiguous). For the input vertex: the
  /// batch's normalised images, on which this unit runs the stem itself. Called from any of
  /// the engine's threads.
  std::function<torch::Tensor(int vertex)> receive;
  /// A vertex this unit computed (or the stem, as the input vertex) is ready; called from
  /// the thread that computed it, right away, so that a send can start. (The input vertex
  /// sends the images, not the stem's output: the caller has those before `run`.)
  std::function<void(int vertex, const torch::Tensor& output)> computed;
  /// A step ran from `begin_ns` to now (steady clock) on engine thread `thread`: `vertex`
  /// is a compute vertex, the input vertex (stem) or the output vertex (partial sum).
  std::function<void(int vertex, int thread, std::int64_t begin_ns)> ran;
};

class Engine {
 public:
  /// Compiles unit `unit` of `plan` with the tensors of its unit file `weights`; throws
  /// `Error` naming a tensor the file lacks or whose shape differs from the architecture.
  Engine(const arch::Architecture& arch, const Plan& plan, int unit, const torch::jit::Module& weights,
         EngineOptions options = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// This unit's part of one inference of `batch` images (unit 0 passes the normalised
  /// images): the stem on unit 0, then its vertices; returns its partial sum of sinks
  /// pooled over the plane, batch x C x 1 x 1 (undefined when it holds none).
  torch::Tensor run(std::int64_t batch, const torch::Tensor* images, const EngineHooks& hooks);

  /// Unit 0: the logits from every unit's pooled partial sum (unit 0's first, then by unit).
  torch::Tensor head(const std::vector<torch::Tensor>& partials) const;

  /// A one-unit deployment's whole forward pass.
  torch::Tensor forward(const torch::Tensor& images);

  int cores() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace concnas::deploy
