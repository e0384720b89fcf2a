#include "infer_kernels.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

// One clone per instruction set, picked at load time (GCC's ifunc dispatch).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CONCNAS_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CONCNAS_CLONES
#endif

namespace concnas::deploy::kernels {
namespace {

// out[0..n) += w * in[0..n): the inner loop of every convolution tap.
inline void axpy(float* __restrict out, const float* __restrict in, float w, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] += w * in[i];
}

CONCNAS_CLONES void weighted_sum_relu(const float* const* xs, const float* a, int k, bool sigmoid_inputs,
                                      int64_t offset, int64_t n, float* __restrict z) {
  const float* x0 = xs[0] + offset;
  if (sigmoid_inputs) {
    for (int64_t i = 0; i < n; ++i) z[i] = a[0] / (1.0F + std::exp(-x0[i]));
    for (int j = 1; j < k; ++j) {
      const float* x = xs[j] + offset;
      for (int64_t i = 0; i < n; ++i) z[i] += a[j] / (1.0F + std::exp(-x[i]));
    }
  } else {
    for (int64_t i = 0; i < n; ++i) z[i] = a[0] * x0[i];
    for (int j = 1; j < k; ++j) axpy(z, xs[j] + offset, a[j], n);
  }
  for (int64_t i = 0; i < n; ++i) z[i] = std::max(z[i], 0.0F);
}

// The 3x3 convolution of a zero-padded plane ((h + 2) x (w + 2)) at stride 1, into `full`
// (h x (w + 2)): the padded plane is read as one long row, so the nine taps of a run of
// outputs are summed in vector registers and stored once, where a 7-wide row would not
// fill a vector; the last two columns of each row are waste, dropped by the caller.
CONCNAS_CLONES void conv3x3_padded(const float* pad, Plane p, const float* w, float* __restrict full,
                                   bool accumulate = false) {
  const int64_t wp = p.width + 2, n = p.height * wp - 2;
  const float* r0 = pad;
  const float* r1 = pad + wp;
  const float* r2 = pad + 2 * wp;
  const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
  for (int64_t i = 0; i < n; ++i)
    full[i] = (accumulate ? full[i] : 0.0F) + w0 * r0[i] + w1 * r0[i + 1] + w2 * r0[i + 2] + w3 * r1[i] + w4 * r1[i + 1] + w5 * r1[i + 2] +
              w6 * r2[i] + w7 * r2[i + 1] + w8 * r2[i + 2];
}

// The maximum of a pooling window, NaN winning as in LibTorch, without a branch per value
// (on real activations the comparison's outcome is a coin toss the predictor loses).
struct WindowMax {
  float max = -std::numeric_limits<float>::infinity();
  bool nan = false;
  void add(float v) {
    max = std::max(max, v);
    nan |= v != v;
  }
  float value() const { return nan ? std::numeric_limits<float>::quiet_NaN() : max; }
};

// `plane` (h x w) into the interior of `pad` ((h + 2) x (w + 2)), whose border is zero.
void copy_into_padding(const float* plane, Plane p, float* pad) {
  const int64_t wp = p.width + 2;
  for (int64_t y = 0; y < p.height; ++y)
    std::copy(plane + y * p.width, plane + (y + 1) * p.width, pad + (y + 1) * wp + 1);
}

// Row y of the stride-`stride` output out of the stride-1 result on the padded grid.
void extract(const float* full, Plane p, int stride, float* out) {
  const int64_t wp = p.width + 2, oh = (p.height + stride - 1) / stride, ow = (p.width + stride - 1) / stride;
  for (int64_t y = 0; y < oh; ++y) {
    const float* row = full + y * stride * wp;
    if (stride == 1)
      std::copy(row, row + ow, out + y * ow);
    else
      for (int64_t x = 0; x < ow; ++x) out[y * ow + x] = row[x * stride];
  }
}

}  // namespace

std::int64_t conv3x3_scratch_size(int64_t in_channels, Plane p) {
  return (in_channels + 1) * (p.height + 2) * (p.width + 2);
}

void conv3x3(const float* in, int64_t in_channels, Plane p, const float* w, const float* bias,
             int64_t out_channels, float* scratch, float* out) {
  const int64_t padded = (p.height + 2) * (p.width + 2);
  float* full = scratch + in_channels * padded;
  std::fill(scratch, scratch + in_channels * padded, 0.0F);
  for (int64_t c = 0; c < in_channels; ++c) copy_into_padding(in + c * p.size(), p, scratch + c * padded);
  for (int64_t o = 0; o < out_channels; ++o) {
    for (int64_t c = 0; c < in_channels; ++c)
      conv3x3_padded(scratch + c * padded, p, w + (o * in_channels + c) * 9, full, c > 0);
    float* plane = out + o * p.size();
    extract(full, p, 1, plane);
    for (int64_t i = 0; i < p.size(); ++i) plane[i] += bias[o];
  }
}

std::int64_t depthwise_scratch_size(Plane p) {
  return (p.height + 2) * (p.width + 2) + p.height * (p.width + 2) + p.size();
}

void aggregate_relu_depthwise(const float* const* xs, const float* a, int k, bool sigmoid_inputs,
                              int64_t channels, Plane p, const float* w, int stride, float* scratch,
                              float* out) {
  const int64_t wp = p.width + 2;
  float* pad = scratch;                           // (h + 2) x wp, zero border
  float* full = pad + (p.height + 2) * wp;        // h x wp: the stride-1 result, two columns of waste a row
  float* z = full + p.height * wp;                // h x w: aggregation and ReLU
  std::fill(pad, pad + (p.height + 2) * wp, 0.0F);
  const int64_t oh = stride == 1 ? p.height : (p.height + 1) / 2, ow = stride == 1 ? p.width : (p.width + 1) / 2;
  for (int64_t c = 0; c < channels; ++c) {
    weighted_sum_relu(xs, a, k, sigmoid_inputs, c * p.size(), p.size(), z);
    copy_into_padding(z, p, pad);
    conv3x3_padded(pad, p, w + 9 * c, full);
    extract(full, p, stride, out + c * oh * ow);
  }
}

std::int64_t channel_last_scratch_size(int64_t channels, Plane p) { return 2 * channels * p.size(); }

CONCNAS_CLONES void aggregate_relu_depthwise_channel_last(const float* const* xs, const float* a, int k,
                                                          bool sigmoid_inputs, int64_t channels, Plane p,
                                                          const float* wt, int stride, float* scratch,
                                                          float* out_hwc) {
  float* z = scratch;                           // p.size() x channels
  float* planes = scratch + channels * p.size();  // channels x p.size(), as the inputs
  weighted_sum_relu(xs, a, k, sigmoid_inputs, 0, channels * p.size(), planes);
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t i = 0; i < p.size(); ++i) z[i * channels + c] = planes[c * p.size() + i];
  const int64_t oh = (p.height + stride - 1) / stride, ow = (p.width + stride - 1) / stride;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      float* __restrict o = out_hwc + (oy * ow + ox) * channels;
      std::fill(o, o + channels, 0.0F);
      // Taps in the order of the padded kernel (rows, then columns); a tap on the zero
      // border adds nothing and is skipped.
      for (int64_t dy = 0; dy < 3; ++dy) {
        const int64_t iy = oy * stride + dy - 1;
        if (iy < 0 || iy >= p.height) continue;
        for (int64_t dx = 0; dx < 3; ++dx) {
          const int64_t ix = ox * stride + dx - 1;
          if (ix < 0 || ix >= p.width) continue;
          const float* __restrict zr = z + (iy * p.width + ix) * channels;
          const float* __restrict wr = wt + (dy * 3 + dx) * channels;
          for (int64_t c = 0; c < channels; ++c) o[c] += wr[c] * zr[c];
        }
      }
    }
}

namespace {

// out (rows x n) = weight (rows x k) * in, plus bias[r] on row r when it is given; `in` is
// k x n, or n x k with `transposed`. oneDNN's GEMM is row-major and adds to `out` (the
// bias) when beta is 1.
void sgemm_bias(bool transposed, const float* weight, const float* bias, const float* in, int64_t rows, int64_t k,
                int64_t n, float* out) {
  if (bias != nullptr)
    for (int64_t r = 0; r < rows; ++r) std::fill(out + r * n, out + (r + 1) * n, bias[r]);
  const dnnl_status_t status = dnnl_sgemm('N', transposed ? 'T' : 'N', rows, n, k, 1.0F, weight, k, in,
                                          transposed ? k : n, bias != nullptr ? 1.0F : 0.0F, out, n);
  if (status != dnnl_success)
    throw std::runtime_error("oneDNN's sgemm failed with status " + std::to_string(static_cast<int>(status)));
}

}  // namespace

void matmul_bias_transposed(const float* weight, const float* bias, const float* in_t, int64_t rows, int64_t k,
                            int64_t n, float* out) {
  sgemm_bias(true, weight, bias, in_t, rows, k, n, out);
}

void matmul_bias(const float* weight, const float* bias, const float* in, int64_t rows, int64_t k, int64_t n,
                 float* out) {
  sgemm_bias(false, weight, bias, in, rows, k, n, out);
}

CONCNAS_CLONES void adaptive_max_pool(const float* in, int64_t channels, Plane p, Plane to, float* out) {
  // Window bounds once per call, not per cell (with H a multiple of h, y0 = y * H / h and
  // y1 = y0 + H / h: plain pooling).
  std::vector<int64_t> y0(to.height), y1(to.height), x0(to.width), x1(to.width);
  for (int64_t y = 0; y < to.height; ++y) {
    y0[y] = y * p.height / to.height;
    y1[y] = ((y + 1) * p.height + to.height - 1) / to.height;
  }
  for (int64_t x = 0; x < to.width; ++x) {
    x0[x] = x * p.width / to.width;
    x1[x] = ((x + 1) * p.width + to.width - 1) / to.width;
  }
  for (int64_t c = 0; c < channels; ++c) {
    const float* plane = in + c * p.size();
    for (int64_t y = 0; y < to.height; ++y) {
      float* o = out + c * to.size() + y * to.width;
      for (int64_t x = 0; x < to.width; ++x) {
        WindowMax m;
        for (int64_t iy = y0[y]; iy < y1[y]; ++iy)
          for (int64_t ix = x0[x]; ix < x1[x]; ++ix) m.add(plane[iy * p.width + ix]);
        o[x] = m.value();
      }
    }
  }
}

CONCNAS_CLONES void add(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] += x[i];
}

void pooled_linear(const float* in, int64_t channels, Plane p, double scale, const float* weight,
                   const float* bias, int64_t classes, float* out) {
  std::vector<double> mean(static_cast<std::size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    double s = 0;
    for (int64_t i = 0; i < p.size(); ++i) s += in[c * p.size() + i];
    mean[static_cast<std::size_t>(c)] = s / static_cast<double>(p.size()) * scale;
  }
  for (int64_t j = 0; j < classes; ++j) {
    double s = bias[j];
    for (int64_t c = 0; c < channels; ++c) s += static_cast<double>(weight[j * channels + c]) * mean[c];
    out[j] = static_cast<float>(s);
  }
}

}  // namespace concnas::deploy::kernels
