#include "concnas/nn/batch_split.h"

#include <ATen/Config.h>
#include <dlfcn.h>

#include <cmath>

#include "concnas/common/error.h"
#include "concnas/nn/ops.h"
#include "kernels.h"

namespace concnas::nn {
namespace {

// OpenMP's per-thread thread count, found at run time in the OpenMP runtime LibTorch
// loaded: at::set_num_threads also resizes process-wide pools, which a per-thread
// setting must not touch.
struct OpenMp {
  void (*set_num_threads)(int) = nullptr;
  int (*get_max_threads)() = nullptr;
  OpenMp() {
    set_num_threads = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    get_max_threads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  }
  bool usable() const { return set_num_threads && get_max_threads; }
};

const OpenMp& openmp() {
  static const OpenMp o;
  return o;
}

// LibTorch gives a thread its OpenMP thread count at the thread's first parallel call,
// through an inline function whose "done" flag may exist once in LibTorch and once here.
// Both run before a rank changes the count, so neither resets it later.
void settle_thread_count() {
  (void)at::get_num_threads();
  at::internal::lazy_init_num_threads();
}

struct Rank {
  BatchSplit* split = nullptr;
  int rank = 0;
};
thread_local Rank current;

// A rank that stops because another one failed.
struct Aborted : std::exception {
  const char* what() const noexcept override { return "another rank of the batch split failed"; }
};

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Batch norm over the rows of all ranks of a split (design: BatchSplit's comment).
struct SyncBatchNorm : torch::autograd::Function<SyncBatchNorm> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, const RunningStats& running,
                               double momentum, double eps) {
    // Local mean and biased variance (accumulated in double by LibTorch), then the
    // pooled ones: N = Σ n_r, mean = Σ n_r m_r / N, var = Σ n_r (v_r + (m_r - mean)²) / N.
    const auto [m, v] = at::batch_norm_update_stats(x, {}, {}, 0.0);
    const int64_t c = x.size(1);
    std::vector<double> local(1 + 2 * c);
    local[0] = static_cast<double>(x.numel() / c);
    const float* mp = m.data_ptr<float>();
    const float* vp = v.data_ptr<float>();
    for (int64_t i = 0; i < c; ++i) {
      local[1 + i] = mp[i];
      local[1 + c + i] = vp[i];
    }
    const auto all = current.split->all_gather(std::move(local));
    double total = 0;
    for (const auto& r : all) total += r[0];
    auto mean = torch::zeros({c}, torch::kDouble);
    auto var = torch::zeros({c}, torch::kDouble);
    double* mean_p = mean.data_ptr<double>();
    double* var_p = var.data_ptr<double>();
    for (const auto& r : all)
      for (int64_t i = 0; i < c; ++i) mean_p[i] += r[0] * r[1 + i];
    for (int64_t i = 0; i < c; ++i) mean_p[i] /= total;
    for (const auto& r : all)
      for (int64_t i = 0; i < c; ++i) {
        const double d = r[1 + i] - mean_p[i];
        var_p[i] += r[0] * (r[1 + c + i] + d * d);
      }
    for (int64_t i = 0; i < c; ++i) var_p[i] /= total;
    const auto mean_f = mean.to(torch::kFloat);
    const auto var_f = var.to(torch::kFloat);
    torch::Tensor y = std::get<0>(at::native_batch_norm(x, weight, bias, mean_f, var_f,
                                                        /*training=*/false, 0.0, eps));
    if (current.rank == 0) update_running_stats(running, mean_f.data_ptr<float>(), var_p, total, momentum);
    ctx->save_for_backward({x, weight, var, mean_f, var_f});
    ctx->saved_data["count"] = total;
    ctx->saved_data["eps"] = eps;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const auto& x = saved[0];
    const auto& weight = saved[1];
    const double* var = saved[2].data_ptr<double>();
    const auto& mean_f = saved[3];
    const double total = ctx->saved_data["count"].toDouble();
    const double eps = ctx->saved_data["eps"].toDouble();
    CONCNAS_CHECK(current.split != nullptr,
                  "a split batch norm's backward must run inside the BatchSplit::run that ran its forward");
    const torch::Tensor gy = grad_outputs[0].contiguous();
    // Local Σ gy·x̂ and Σ gy (LibTorch's eval-mode backward computes exactly these).
    auto [unused, gw, gb] = at::native_batch_norm_backward(
        gy, x, weight, mean_f, saved[4], {}, {}, /*train=*/false, eps, {false, true, true});
    const int64_t c = x.size(1);
    std::vector<double> local(2 * c);
    const float* gwp = gw.data_ptr<float>();
    const float* gbp = gb.data_ptr<float>();
    for (int64_t i = 0; i < c; ++i) {
      local[i] = gwp[i];
      local[c + i] = gbp[i];
    }
    const auto all = current.split->all_gather(std::move(local));
    // dx = a·(gy - Σgy/N - x̂·Σgy·x̂/N) with a = w·invstd and x̂ = (x - mean)·invstd,
    // written as a·gy + b·(x - mean) + d per channel (centred: b·x and d would nearly
    // cancel where |mean| is much larger than the spread).
    std::vector<float> ap(c), bp(c), dp(c);
    const float* w = weight.data_ptr<float>();
    for (int64_t i = 0; i < c; ++i) {
      double dot = 0, sum = 0;
      for (const auto& r : all) {
        dot += r[i];
        sum += r[c + i];
      }
      const double invstd = 1.0 / std::sqrt(var[i] + eps);
      const double ai = w[i] * invstd;
      ap[i] = static_cast<float>(ai);
      bp[i] = static_cast<float>(-ai * invstd * dot / total);
      dp[i] = static_cast<float>(-ai * sum / total);
    }
    torch::Tensor dx = torch::empty_like(x);
    kernels::grad_input(gy.data_ptr<float>(), x.data_ptr<float>(), dx.data_ptr<float>(),
                        {x.size(0), c, x.size(2) * x.size(3)}, mean_f.data_ptr<float>(), ap.data(),
                        bp.data(), dp.data(), at::get_num_threads());
    return {dx, gw, gb, {}, {}, {}, {}, {}};
  }
};

}  // namespace

int BatchSplit::ranks_for(int requested) {
  if (requested > 0) return requested;
  return supported() ? at::get_num_threads() : 1;
}

bool BatchSplit::supported() {
  // Per-thread counts only mean something where ATen runs its operators on OpenMP.
#if AT_PARALLEL_OPENMP
  return openmp().usable();
#else
  return false;
#endif
}

BatchSplit::BatchSplit(int world)
    : world_(world), errors_(world), exchanges_(world), published_(world), finished_(world) {
  CONCNAS_CHECK(world >= 1, "a batch split needs at least one rank, not {}", world);
  CONCNAS_CHECK(world == 1 || supported(),
                "this LibTorch has no per-thread thread count (OpenMP), which a batch split needs");
  slots_[0].resize(world);
  slots_[1].resize(world);
  for (int r = 1; r < world; ++r) threads_.emplace_back([this, r] { helper(r); });
}

BatchSplit::~BatchSplit() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  job_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::pair<int64_t, int64_t> BatchSplit::rows(int64_t batch, int rank) const {
  const int64_t base = batch / world_, extra = batch % world_;
  return {rank * base + std::min<int64_t>(rank, extra), base + (rank < extra ? 1 : 0)};
}

void BatchSplit::call(int rank) {
  current = {this, rank};
  try {
    (*job_)(rank);
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    errors_[rank] = std::current_exception();
    failed_.store(true);
  }
  finished_[rank].value.store(1, std::memory_order_release);
  current = {};
}

void BatchSplit::helper(int rank) {
  settle_thread_count();
  if (openmp().usable()) openmp().set_num_threads(1);
  std::int64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      job_cv_.wait(lock, [&] { return stopping_ || job_id_ != seen; });
      if (stopping_) return;
      seen = job_id_;
    }
    call(rank);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--running_ == 0) done_cv_.notify_all();
    }
  }
}

void BatchSplit::run(const std::function<void(int rank)>& fn) {
  CONCNAS_CHECK(current.split == nullptr, "BatchSplit::run cannot be nested");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    running_ = world_ - 1;
    failed_.store(false);
    for (int r = 0; r < world_; ++r) {
      exchanges_[r].value = 0;
      published_[r].value.store(0);
      finished_[r].value.store(0);
    }
    std::fill(errors_.begin(), errors_.end(), nullptr);
    ++job_id_;
  }
  job_cv_.notify_all();
  settle_thread_count();
  const int threads = world_ > 1 ? openmp().get_max_threads() : 0;
  if (world_ > 1) openmp().set_num_threads(1);
  call(0);
  if (world_ > 1) openmp().set_num_threads(threads);
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [&] { return running_ == 0; });
    job_ = nullptr;
  }
  // The first real error by rank; the others stopped because of it.
  for (const auto& e : errors_) {
    if (!e) continue;
    try {
      std::rethrow_exception(e);
    } catch (const Aborted&) {
      continue;
    } catch (...) {
      throw;
    }
  }
}

std::vector<std::vector<double>> BatchSplit::all_gather(std::vector<double> values) {
  CONCNAS_CHECK(current.split == this, "BatchSplit::all_gather called outside run()");
  const int rank = current.rank;
  if (world_ == 1) return {std::move(values)};
  // Publish into this exchange's bank, then wait for every rank's. A bank is written again
  // two exchanges later, which no rank reaches before all have read this one.
  const std::int64_t g = ++exchanges_[rank].value;
  auto& bank = slots_[g % 2];
  bank[rank] = std::move(values);
  published_[rank].value.store(g, std::memory_order_release);
  for (int r = 0; r < world_; ++r) {
    // The ranks run in step on their own cores: spin briefly, then yield the core.
    for (int spins = 0; published_[r].value.load(std::memory_order_acquire) < g; ++spins) {
      if (failed_.load(std::memory_order_relaxed)) throw Aborted();
      if (finished_[r].value.load(std::memory_order_acquire) && published_[r].value.load() < g)
        throw Error(fmt::format("batch split rank {} returned after {} exchanges; rank {} is at {}: "
                                "every rank must run the same batch norms",
                                r, published_[r].value.load(), rank, g));
      if (spins > 4096) std::this_thread::yield();
    }
  }
  return bank;
}

torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  if (!bn.is_training()) return bn.forward(x);
  const auto& o = bn.options;
  const double momentum = o.momentum() ? *o.momentum() : -1.0;  // -1: cumulative average
  const RunningStats running = o.track_running_stats()
                                   ? RunningStats{bn.running_mean, bn.running_var, bn.num_batches_tracked}
                                   : RunningStats{};
  if (current.split == nullptr || current.split->world() == 1) {
    if (kernels_in_use() == Kernels::kLibTorch || !o.affine() ||
        !own_kernels_take(x))
      return bn.forward(x);
    return batch_norm_train(x, bn.weight, bn.bias, running.mean, running.var,
                            running.batches_tracked, momentum, o.eps());
  }
  CONCNAS_CHECK(o.affine(), "a batch split needs affine batch norms");
  return SyncBatchNorm::apply(x.contiguous(), bn.weight, bn.bias, running, momentum, o.eps());
}

}  // namespace concnas::nn
