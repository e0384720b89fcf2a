#pragma once
/// \file
/// One training step's batch split across threads, each running its rows with one
/// intra-op thread, with batch norm statistics taken over all of them.
///
///     concnas::nn::BatchSplit split(2);
///     split.run([&](int rank) {
///       auto rows = split.rows(batch, rank);                  // its slice of the batch
///       auto loss = loss_sum(net->forward(x.narrow(0, rows.first, rows.second))) / batch;
///       grads[rank] = torch::autograd::grad({loss}, params);  // summed in rank order after
///     });
///
/// Small convolutions and batch norms scale poorly over intra-op threads (two threads train
/// a DP-40 network only 1.7-1.8x as fast as one on the 2-core machine), so
/// threads that each run part of the batch alone might do more work per second. Measured
/// there, they did not reliably: 0.80-1.13x the unsplit step, median 0.95 (docs/results.md), so
/// `concnas train` splits only when asked (train.batch_split). The math is the step on the
/// whole batch: inside `run`,
/// `nn::batch_norm` normalises with the mean and variance of all ranks' rows and its
/// backward uses all ranks' sums, so only the floating-point summation order changes.
/// Every rank must run the same network on its rows (the batch norms meet in the same order).

#include <torch/torch.h>

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace concnas::nn {

class BatchSplit {
 public:
  /// `world` ranks: the calling thread is rank 0, `world - 1` helper threads start here.
  explicit BatchSplit(int world);
  ~BatchSplit();
  BatchSplit(const BatchSplit&) = delete;
  BatchSplit& operator=(const BatchSplit&) = delete;

  int world() const { return world_; }

  /// Whether LibTorch's intra-op threads can be set per thread (an OpenMP build), which
  /// a split needs: otherwise every rank would use all cores.
  static bool supported();

  /// The ranks a split setting asks for (train.batch_split): `requested` when positive,
  /// else one per intra-op thread where a split is supported and one otherwise.
  static int ranks_for(int requested);

  /// Calls `fn(rank)` for every rank at once, each on its thread with one intra-op thread,
  /// and returns when all have finished. An exception in any rank stops the others at
  /// their next exchange and the first one (by rank) is rethrown here.
  void run(const std::function<void(int rank)>& fn);

  /// (first row, row count) of `rank`'s slice of `batch` rows: contiguous, sizes differ by
  /// at most one.
  std::pair<int64_t, int64_t> rows(int64_t batch, int rank) const;

  /// Inside `run`: every rank's `values`, in rank order. All ranks must call it the same
  /// number of times.
  std::vector<std::vector<double>> all_gather(std::vector<double> values);

 private:
  void helper(int rank);
  void call(int rank);

  int world_;
  std::vector<std::thread> threads_;
  std::mutex mutex_;
  std::condition_variable job_cv_, done_cv_;
  const std::function<void(int)>* job_ = nullptr;
  std::int64_t job_id_ = 0;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::exception_ptr> errors_;
  std::atomic<bool> failed_{false};
  // Exchanges: two banks of slots used in turn; per rank (each on its own cache line) the
  // number of exchanges it has entered and the latest one whose values it has published.
  struct alignas(64) Count {
    std::int64_t value = 0;
  };
  struct alignas(64) Published {
    std::atomic<std::int64_t> value{0};
  };
  std::vector<std::vector<double>> slots_[2];
  std::vector<Count> exchanges_;
  std::vector<Published> published_;
  std::vector<Published> finished_;  ///< 1 once the rank's fn has returned or thrown
};

/// A BatchNorm2d module applied to `x`: as `bn.forward(x)`, except while training: inside a
/// multi-rank `BatchSplit::run` mean and variance (and the backward's sums) are over the
/// rows of every rank and the running statistics are updated once; outside one, concnas's
/// own loops run it (nn::batch_norm_train) unless nn::set_kernels chose LibTorch's.
torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x);

}  // namespace concnas::nn
