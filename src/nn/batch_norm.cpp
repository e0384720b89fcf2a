#include "concnas/nn/batch_norm.h"

#include <atomic>
#include <cmath>

#include "batch_norm_kernels.h"
#include "concnas/common/error.h"

namespace concnas::nn {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

kernels::Layout layout_of(const torch::Tensor& x) {
  return {x.size(0), x.size(1), x.size(2) * x.size(3)};
}

double count_of(kernels::Layout l) { return static_cast<double>(l.rows * l.size); }

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
    // Moments around one value of each channel: the sums of (x - k) stay small.
    std::vector<float> shift(s.channels);
    for (int64_t c = 0; c < s.channels; ++c) shift[c] = xp[c * s.size];
    std::vector<double> sum(s.channels), squares(s.channels);
    kernels::moments(xp, s, shift.data(), sum.data(), squares.data(), threads);
    auto mean = torch::empty({s.channels});
    auto invstd = torch::empty({s.channels});
    std::vector<double> var(s.channels);
    std::vector<float> scale(s.channels), offset(s.channels);
    float* mp = mean.data_ptr<float>();
    float* ip = invstd.data_ptr<float>();
    const float* wp = weight.data_ptr<float>();
    const float* bp = bias.data_ptr<float>();
    for (int64_t c = 0; c < s.channels; ++c) {
      const double d = sum[c] / count;
      var[c] = std::max(0.0, squares[c] / count - d * d);
      const double m = shift[c] + d, is = 1.0 / std::sqrt(var[c] + eps);
      mp[c] = static_cast<float>(m);
      ip[c] = static_cast<float>(is);
      scale[c] = static_cast<float>(wp[c] * is);
      offset[c] = static_cast<float>(bp[c] - m * wp[c] * is);
    }
    torch::Tensor y = torch::empty_like(x);
    float* yp = y.data_ptr<float>();
    kernels::affine(xp, yp, s, scale.data(), offset.data(), threads);
    if (running.batches_tracked.defined()) running.batches_tracked.add_(1);
    if (running.mean.defined()) {
      const double f = momentum >= 0 ? momentum : 1.0 / running.batches_tracked.item<double>();
      const double unbias = count / (count - 1);
      float* rm = running.mean.data_ptr<float>();
      float* rv = running.var.data_ptr<float>();
      for (int64_t c = 0; c < s.channels; ++c) {
        rm[c] = static_cast<float>((1 - f) * rm[c] + f * mp[c]);
        rv[c] = static_cast<float>((1 - f) * rv[c] + f * var[c] * unbias);
      }
    }
    ctx->save_for_backward({x, weight, mean, invstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
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
    auto gw = torch::empty({s.channels});
    auto gb = torch::empty({s.channels});
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

std::atomic<BatchNormKernels> kernels_in_use{BatchNormKernels::kConcnas};

}  // namespace

void set_batch_norm_kernels(BatchNormKernels kernels) { kernels_in_use.store(kernels); }
BatchNormKernels batch_norm_kernels() { return kernels_in_use.load(); }

bool batch_norm_train_supported(const torch::Tensor& x) {
  return x.dim() == 4 && x.scalar_type() == torch::kFloat && x.device().is_cpu();
}

torch::Tensor batch_norm_train(const torch::Tensor& x, const torch::Tensor& weight,
                               const torch::Tensor& bias, torch::Tensor running_mean,
                               torch::Tensor running_var, torch::Tensor batches_tracked,
                               double momentum, double eps) {
  CONCNAS_CHECK(batch_norm_train_supported(x),
                "concnas's batch norm takes 4-D float CPU tensors, not {}-D {}", x.dim(),
                std::string(c10::toString(x.scalar_type())));
  const int64_t c = x.size(1);
  CONCNAS_CHECK(weight.numel() == c && bias.numel() == c,
                "batch norm of {} channels given {} weights and {} biases", c, weight.numel(),
                bias.numel());
  CONCNAS_CHECK(running_mean.defined() == running_var.defined() &&
                    (!running_mean.defined() ||
                     (running_mean.numel() == c && running_var.numel() == c)),
                "batch norm of {} channels given running statistics of another size", c);
  CONCNAS_CHECK(!running_mean.defined() || momentum >= 0 || batches_tracked.defined(),
                "a cumulative average (no momentum) needs a batch counter");
  return BatchNormTrain::apply(x, weight, bias,
                               RunningStats{running_mean, running_var, batches_tracked},
                               momentum, eps);
}

}  // namespace concnas::nn
