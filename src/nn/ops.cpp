#include "concnas/nn/ops.h"

#include <algorithm>
#include <atomic>
#include <cmath>

#include "kernels.h"
#include "concnas/common/error.h"

namespace concnas::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

kernels::Layout layout_of(const torch::Tensor& x) {
  return {x.size(0), x.size(1), x.size(2) * x.size(3)};
}

double count_of(kernels::Layout l) { return static_cast<double>(l.rows * l.size); }

// Per-channel vectors the loops read and write through raw pointers.
bool plain_vector(const torch::Tensor& t, int64_t n) {
  return t.numel() == n && t.is_contiguous() && t.scalar_type() == torch::kFloat &&
         t.device().is_cpu();
}

struct BatchNormTrain : torch::autograd::Function<BatchNormTrain> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input,
                               const torch::Tensor& weight, const torch::Tensor& bias,
                               const RunningStats& running, double momentum, double eps) {
    const torch::Tensor x = input.contiguous();
    const kernels::Layout s = layout_of(x);
    const double count = count_of(s);
    const int threads = at::get_num_threads();
    CONCNAS_CHECK(s.rows * s.size > 1,
                  "batch norm in training needs more than one value per channel, got {} rows of "
                  "{} values",
                  s.rows, s.size);
    const float* xp = x.data_ptr<float>();
    // Moments around the mean of each channel's first plane: the sums of (x - k) stay small
    // unless that plane is far from the rest.
    std::vector<float> shift(s.channels);
    for (int64_t c = 0; c < s.channels; ++c) {
      double first = 0;
      for (int64_t i = 0; i < s.size; ++i) first += xp[c * s.size + i];
      shift[c] = static_cast<float>(first / s.size);
    }
    std::vector<double> sum(s.channels), squares(s.channels);
    kernels::moments(xp, s, shift.data(), sum.data(), squares.data(), threads);
    auto mean = torch::empty({s.channels}, x.options());
    auto invstd = torch::empty({s.channels}, x.options());
    std::vector<double> var(s.channels);
    std::vector<float> scale(s.channels), offset(s.channels);
    float* mp = mean.data_ptr<float>();
    float* ip = invstd.data_ptr<float>();
    const float* wp = weight.data_ptr<float>();
    const float* bp = bias.data_ptr<float>();
    for (int64_t c = 0; c < s.channels; ++c) {
      const double d = sum[c] / count;
      // Rounding can make the difference slightly negative; a NaN stays a NaN, as in LibTorch.
      var[c] = squares[c] / count - d * d;
      if (var[c] < 0) var[c] = 0;
      const double m = shift[c] + d, is = 1.0 / std::sqrt(var[c] + eps);
      mp[c] = static_cast<float>(m);
      ip[c] = static_cast<float>(is);
      scale[c] = static_cast<float>(wp[c] * is);
      offset[c] = static_cast<float>(bp[c] - m * wp[c] * is);
    }
    torch::Tensor y = torch::empty_like(x);
    float* yp = y.data_ptr<float>();
    kernels::affine(xp, yp, s, scale.data(), offset.data(), threads);
    update_running_stats(running, mp, var.data(), count, momentum);
    ctx->save_for_backward({x, weight, mean, invstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    CONCNAS_CHECK(!torch::GradMode::is_enabled(),
                  "concnas's batch norm has no double backward (set train.kernels: libtorch)");
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const float* xp = x.data_ptr<float>();
    const float* wp = saved[1].data_ptr<float>();
    const float* mp = saved[2].data_ptr<float>();
    const float* ip = saved[3].data_ptr<float>();
    const torch::Tensor gy = grad_outputs[0].contiguous();
    const float* gp = gy.data_ptr<float>();
    const kernels::Layout s = layout_of(x);
    const double count = count_of(s);
    const int threads = at::get_num_threads();
    std::vector<double> sum_dy(s.channels), sum_dy_xc(s.channels);
    kernels::grad_sums(gp, xp, s, mp, sum_dy.data(), sum_dy_xc.data(), threads);
    // dx = w·invstd·(gy - Σgy/N - x̂·Σ(gy·x̂)/N) with x̂ = (x - mean)·invstd.
    auto gw = torch::empty({s.channels}, x.options());
    auto gb = torch::empty({s.channels}, x.options());
    float* gwp = gw.data_ptr<float>();
    float* gbp = gb.data_ptr<float>();
    std::vector<float> a(s.channels), b(s.channels), d(s.channels);
    for (int64_t c = 0; c < s.channels; ++c) {
      const double is = ip[c], ac = wp[c] * is;
      gwp[c] = static_cast<float>(sum_dy_xc[c] * is);
      gbp[c] = static_cast<float>(sum_dy[c]);
      a[c] = static_cast<float>(ac);
      b[c] = static_cast<float>(-ac * is * is * sum_dy_xc[c] / count);
      d[c] = static_cast<float>(-ac * sum_dy[c] / count);
    }
    torch::Tensor dx = torch::empty_like(x);
    float* dxp = dx.data_ptr<float>();
    kernels::grad_input(gp, xp, dxp, s, mp, a.data(), b.data(), d.data(), threads);
    return {dx, gw, gb, {}, {}, {}, {}, {}};
  }
};

// max(0, Σ s_i x_i) (design: ops.h). Saves the inputs, the scales and the output, whose
// sign gives the ReLU's mask.
struct WeightedSumRelu : torch::autograd::Function<WeightedSumRelu> {
  // `args`: x_0 .. x_{k-1}, then the scales; a TensorList, which Function::apply takes as
  // variables (a std::vector it would take as one plain value).
  static variable_list forward(AutogradContext* ctx, at::TensorList args) {
    const int k = static_cast<int>(args.size()) - 1;
    variable_list saved;
    std::vector<const float*> xs(k);
    for (int i = 0; i < k; ++i) {
      saved.push_back(args[i].contiguous());
      xs[i] = saved.back().data_ptr<float>();
    }
    saved.push_back(args[k].contiguous());
    torch::Tensor out = torch::empty_like(saved[0]);
    kernels::weighted_sum_relu(xs.data(), saved[k].data_ptr<float>(), k, out.data_ptr<float>(),
                               out.numel(), at::get_num_threads());
    saved.push_back(out);
    ctx->save_for_backward(saved);
    return {out};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    CONCNAS_CHECK(!torch::GradMode::is_enabled(),
                  "concnas's weighted sum has no double backward (set train.kernels: libtorch)");
    const auto saved = ctx->get_saved_variables();
    const int k = static_cast<int>(saved.size()) - 2;
    const torch::Tensor& scale = saved[k];
    const torch::Tensor& out = saved[k + 1];
    const torch::Tensor g = grad_outputs[0].contiguous();
    std::vector<const float*> xs(k);
    std::vector<float*> dxs(k);
    variable_list grads(k + 1);
    for (int i = 0; i < k; ++i) {
      xs[i] = saved[i].data_ptr<float>();
      grads[i] = torch::empty_like(saved[i]);
      dxs[i] = grads[i].data_ptr<float>();
    }
    std::vector<double> ds(k);
    kernels::weighted_sum_relu_backward(g.data_ptr<float>(), out.data_ptr<float>(), xs.data(),
                                        scale.data_ptr<float>(), k, dxs.data(), ds.data(),
                                        out.numel(), at::get_num_threads());
    grads[k] = torch::tensor(std::vector<float>(ds.begin(), ds.end()));
    return grads;
  }
};

std::atomic<Kernels> selected{Kernels::kConcnas};

}  // namespace

void update_running_stats(const RunningStats& running, const float* mean, const double* var,
                          double count, double momentum) {
  if (running.batches_tracked.defined()) running.batches_tracked.add_(1);
  if (!running.mean.defined()) return;
  const double f = momentum >= 0 ? momentum : 1.0 / running.batches_tracked.item<double>();
  const double unbias = count / std::max(1.0, count - 1);
  float* rm = running.mean.data_ptr<float>();
  float* rv = running.var.data_ptr<float>();
  for (int64_t c = 0; c < running.mean.numel(); ++c) {
    rm[c] = static_cast<float>((1 - f) * rm[c] + f * mean[c]);
    rv[c] = static_cast<float>((1 - f) * rv[c] + f * var[c] * unbias);
  }
}

void set_kernels(Kernels kernels) { selected.store(kernels); }
Kernels kernels_in_use() { return selected.load(); }

bool own_kernels_take(const torch::Tensor& x) {
  return x.dim() == 4 && x.numel() > 0 && x.scalar_type() == torch::kFloat && x.device().is_cpu();
}

torch::Tensor weighted_sum_relu(const std::vector<torch::Tensor>& inputs,
                                const torch::Tensor& scale) {
  CONCNAS_CHECK(!inputs.empty() && scale.dim() == 1 &&
                    plain_vector(scale.contiguous(), static_cast<int64_t>(inputs.size())),
                "a weighted sum of {} inputs needs {} float CPU scales, given {}", inputs.size(),
                inputs.size(), scale.numel());
  for (std::size_t i = 0; i < inputs.size(); ++i)
    CONCNAS_CHECK(own_kernels_take(inputs[i]) && inputs[i].sizes() == inputs[0].sizes(),
                  "weighted sum input {}: needs a 4-D float CPU tensor shaped like input 0", i);
  variable_list args(inputs.begin(), inputs.end());
  args.push_back(scale);
  return WeightedSumRelu::apply(at::TensorList(args))[0];
}

torch::Tensor batch_norm_train(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::Tensor running_mean,
                               torch::Tensor running_var, torch::Tensor batches_tracked,
                               double momentum, double eps) {
  CONCNAS_CHECK(own_kernels_take(x),
                "concnas's batch norm takes non-empty 4-D float CPU tensors, not {}-D {} of {} values",
                x.dim(), std::string(c10::toString(x.scalar_type())), x.numel());
  const int64_t c = x.size(1);
  CONCNAS_CHECK(plain_vector(weight, c) && plain_vector(bias, c),
                "batch norm of {} channels needs {} contiguous float weights and biases, given "
                "{} and {}",
                c, c, weight.numel(), bias.numel());
  CONCNAS_CHECK(running_mean.defined() == running_var.defined() &&
                    (!running_mean.defined() ||
                     (plain_vector(running_mean, c) && plain_vector(running_var, c))),
                "batch norm of {} channels needs running statistics of {} contiguous floats", c, c);
  CONCNAS_CHECK(!running_mean.defined() || momentum >= 0 || batches_tracked.defined(),
                "a cumulative average (no momentum) needs a batch counter");
  return BatchNormTrain::apply(x, weight, bias,
                               RunningStats{running_mean, running_var, batches_tracked},
                               momentum, eps);
}

torch::Tensor batch_norm(torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
  if (!bn.is_training()) return bn.forward(x);
  const auto& o = bn.options;
  if (kernels_in_use() == Kernels::kLibTorch || !o.affine() || !own_kernels_take(x)) return bn.forward(x);
  const double momentum = o.momentum() ? *o.momentum() : -1.0;  // -1: cumulative average
  const RunningStats running = o.track_running_stats()
                                   ? RunningStats{bn.running_mean, bn.running_var, bn.num_batches_tracked}
                                   : RunningStats{};
  return batch_norm_train(x, bn.weight, bn.bias, running.mean, running.var, running.batches_tracked,
                          momentum, o.eps());
}

}  // namespace concnas::nn
