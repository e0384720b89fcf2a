#include "infer_kernels.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
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
    for (int64_t i = 0; i < n; ++i) z[i] = std::max(z[i], 0.0F);
    return;
  }
  // The ReLU rides on the last input's pass (the sum's order is the same).
  if (k == 1) {
    for (int64_t i = 0; i < n; ++i) z[i] = std::max(a[0] * x0[i], 0.0F);
    return;
  }
  for (int64_t i = 0; i < n; ++i) z[i] = a[0] * x0[i];
  for (int j = 1; j + 1 < k; ++j) axpy(z, xs[j] + offset, a[j], n);
  const float* last = xs[k - 1] + offset;
  const float w = a[k - 1];
  for (int64_t i = 0; i < n; ++i) z[i] = std::max(z[i] + w * last[i], 0.0F);
}

// The 3x3 convolution of a zero-padded plane ((h + 2) x (w + 2)) at stride 1, into `full`
// (h x (w + 2)): the padded plane is read as one long row, so the nine taps of a run of
// outputs are summed in vector registers and stored once, where a 7-wide row would not
// fill a vector; the last two columns of each row are waste, dropped by the caller.
CONCNAS_CLONES void conv3x3_padded(const float* pad, Plane p, const float* w, float* __restrict full) {
  const int64_t wp = p.width + 2, n = p.height * wp - 2;
  const float* r0 = pad;
  const float* r1 = pad + wp;
  const float* r2 = pad + 2 * wp;
  const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
  for (int64_t i = 0; i < n; ++i)
    full[i] = w0 * r0[i] + w1 * r0[i + 1] + w2 * r0[i + 2] + w3 * r1[i] + w4 * r1[i + 1] + w5 * r1[i + 2] +
              w6 * r2[i] + w7 * r2[i + 1] + w8 * r2[i + 2];
}

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


// The taps of a 3x3 window at (y, x) that fall inside the plane: each one's offset in
// pixels from the plane's start and its index in the kernel (row-major), in kernel order.
struct Window {
  int64_t offset[9];
  int tap[9];
  int count = 0;
};

[[gnu::always_inline]] inline Window window_at(Plane p, int64_t y, int64_t x) {
  Window w;
  if (y > 0 && y + 1 < p.height && x > 0 && x + 1 < p.width) {  // inside: all nine, without a branch
    for (int t = 0; t < 9; ++t) {
      w.offset[t] = (y + t / 3 - 1) * p.width + x + t % 3 - 1;
      w.tap[t] = t;
    }
    w.count = 9;
    return w;
  }
  for (int64_t dy = 0; dy < 3; ++dy)
    for (int64_t dx = 0; dx < 3; ++dx) {
      const int64_t iy = y + dy - 1, ix = x + dx - 1;
      if (iy < 0 || iy >= p.height || ix < 0 || ix >= p.width) continue;
      w.offset[w.count] = iy * p.width + ix;
      w.tap[w.count++] = static_cast<int>(dy * 3 + dx);
    }
  return w;
}

// Sums run in registers across taps, kLanes floats to a vector (one AVX-512 register, two
// AVX2 ones, four SSE ones). A sum of nine taps is a chain of dependent FMAs, so the
// depthwise loop runs four vectors at once (independent channels) and the stem four pixels.
constexpr int64_t kLanes = 16;
typedef float Vec __attribute__((vector_size(kLanes * sizeof(float))));
typedef float UnalignedVec __attribute__((vector_size(kLanes * sizeof(float)), aligned(alignof(float)), may_alias));
// Half a vector, for the last 8 to 15 channels (24 is a common width).
typedef float HalfVec __attribute__((vector_size(kLanes / 2 * sizeof(float))));
typedef float UnalignedHalfVec
    __attribute__((vector_size(kLanes / 2 * sizeof(float)), aligned(alignof(float)), may_alias));

// The kLanes floats from p on, as one vector.
inline const UnalignedVec& lanes_at(const float* p) { return *reinterpret_cast<const UnalignedVec*>(p); }
inline UnalignedVec& lanes_at(float* p) { return *reinterpret_cast<UnalignedVec*>(p); }
// The kLanes / 2 floats from p on.
inline const UnalignedHalfVec& half_at(const float* p) { return *reinterpret_cast<const UnalignedHalfVec*>(p); }
inline UnalignedHalfVec& half_at(float* p) { return *reinterpret_cast<UnalignedHalfVec*>(p); }

// Channels [c, c + V * kLanes) of one channel-last output pixel of the depthwise
// convolution: o[j] = Σ_taps wt[tap][j] * z[pixel][j]. A window inside the plane has its
// nine taps unrolled.
template <int V>
[[gnu::always_inline]] inline void depthwise_vectors(const float* z, const float* wt, int64_t channels,
                                                     const Window& w, int64_t c, float* o) {
  Vec acc[V] = {};
  auto tap = [&](int t) {
    const float* zr = z + w.offset[t] * channels + c;
    const float* wr = wt + w.tap[t] * channels + c;
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[v] += lanes_at(wr + v * kLanes) * lanes_at(zr + v * kLanes);
  };
  if (w.count == 9) {
#pragma GCC unroll 9
    for (int t = 0; t < 9; ++t) tap(t);
  } else {
    for (int t = 0; t < w.count; ++t) tap(t);
  }
#pragma GCC unroll 4
  for (int v = 0; v < V; ++v) lanes_at(o + c + v * kLanes) = acc[v];
}

// Channels [c, c + kLanes) of two output pixels whose windows lie inside the plane: two
// independent chains of nine FMAs interleaved, where one pixel's chain alone would wait on
// each FMA's latency (a vertex of 16 to 63 channels has no second vector to interleave).
[[gnu::always_inline]] inline void depthwise_two_pixels(const float* z, const float* wt, int64_t channels,
                                                        const Window& w0, const Window& w1, int64_t c, float* o0,
                                                        float* o1) {
  Vec acc0 = {}, acc1 = {};
#pragma GCC unroll 9
  for (int t = 0; t < 9; ++t) {
    const Vec wv = lanes_at(wt + t * channels + c);
    acc0 += wv * lanes_at(z + w0.offset[t] * channels + c);
    acc1 += wv * lanes_at(z + w1.offset[t] * channels + c);
  }
  lanes_at(o0 + c) = acc0;
  lanes_at(o1 + c) = acc1;
}

// The same for the last channels [c, channels), fewer than kLanes: half a vector if 8 or
// more are left, then one at a time.
[[gnu::always_inline]] inline void depthwise_rest(const float* z, const float* wt, int64_t channels, const Window& w,
                                                  int64_t c, float* o) {
  if (c + kLanes / 2 <= channels) {
    HalfVec acc = {};
    for (int t = 0; t < w.count; ++t)
      acc += half_at(wt + w.tap[t] * channels + c) * half_at(z + w.offset[t] * channels + c);
    half_at(o + c) = acc;
    c += kLanes / 2;
  }
  for (; c < channels; ++c) {
    float acc = 0.0F;
    for (int t = 0; t < w.count; ++t) acc += wt[w.tap[t] * channels + c] * z[w.offset[t] * channels + c];
    o[c] = acc;
  }
}

// One channel-last pixel of the stem: bias plus every input plane's taps in `w`.
[[gnu::always_inline]] inline void stem_pixel(const float* in, int64_t in_channels, Plane p, const float* wt,
                                              const float* bias, int64_t out_channels, const Window& w, float* o) {
  int64_t k = 0;
  for (; k + kLanes <= out_channels; k += kLanes) {
    Vec acc = lanes_at(bias + k);
    for (int64_t c = 0; c < in_channels; ++c)
      for (int t = 0; t < w.count; ++t)
        acc += in[c * p.size() + w.offset[t]] * lanes_at(wt + (c * 9 + w.tap[t]) * out_channels + k);
    lanes_at(o + k) = acc;
  }
  for (; k < out_channels; ++k) {
    float acc = bias[k];
    for (int64_t c = 0; c < in_channels; ++c)
      for (int t = 0; t < w.count; ++t)
        acc += in[c * p.size() + w.offset[t]] * wt[(c * 9 + w.tap[t]) * out_channels + k];
    o[k] = acc;
  }
}

// The same for output channels [k, k + kLanes) of four pixels (x .. x + 3 of row y) whose
// windows lie inside the plane.
[[gnu::always_inline]] inline void stem_four_pixels(const float* in, int64_t in_channels, Plane p, const float* wt,
                                                    const float* bias, int64_t out_channels, int64_t y, int64_t x,
                                                    int64_t k, float* o) {
  Vec acc0 = lanes_at(bias + k), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  for (int64_t c = 0; c < in_channels; ++c)
    for (int64_t t = 0; t < 9; ++t) {
      const float* v = in + c * p.size() + (y + t / 3 - 1) * p.width + x + t % 3 - 1;
      const Vec wv = lanes_at(wt + (c * 9 + t) * out_channels + k);
      acc0 += v[0] * wv;
      acc1 += v[1] * wv;
      acc2 += v[2] * wv;
      acc3 += v[3] * wv;
    }
  lanes_at(o + k) = acc0;
  lanes_at(o + out_channels + k) = acc1;
  lanes_at(o + 2 * out_channels + k) = acc2;
  lanes_at(o + 3 * out_channels + k) = acc3;
}

}  // namespace

CONCNAS_CLONES void conv3x3_channel_last(const float* in, int64_t in_channels, Plane p, const float* wt,
                                         const float* bias, int64_t out_channels, float* out_hwc) {
  for (int64_t y = 0; y < p.height; ++y) {
    float* row = out_hwc + y * p.width * out_channels;
    int64_t x = 0;
    if (y > 0 && y + 1 < p.height && out_channels % kLanes == 0) {
      stem_pixel(in, in_channels, p, wt, bias, out_channels, window_at(p, y, 0), row);  // crosses the border
      for (x = 1; x + 4 < p.width; x += 4)  // x .. x + 3 inside the plane
        for (int64_t k = 0; k < out_channels; k += kLanes)
          stem_four_pixels(in, in_channels, p, wt, bias, out_channels, y, x, k, row + x * out_channels);
    }
    for (; x < p.width; ++x)
      stem_pixel(in, in_channels, p, wt, bias, out_channels, window_at(p, y, x), row + x * out_channels);
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

std::int64_t channel_last_scratch_size(int64_t channels, Plane p) { return channels * p.size(); }

CONCNAS_CLONES void aggregate_relu_depthwise_channel_last(const float* const* xs, const float* a, int k,
                                                          bool sigmoid_inputs, int64_t channels, Plane p,
                                                          const float* wt, int stride, float* scratch,
                                                          float* out_hwc) {
  float* z = scratch;  // p.size() x channels, as the inputs
  weighted_sum_relu(xs, a, k, sigmoid_inputs, 0, channels * p.size(), z);
  const int64_t oh = (p.height + stride - 1) / stride, ow = (p.width + stride - 1) / stride;
  const bool pairs = channels >= kLanes && channels < 4 * kLanes;
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      // Taps in the order of the padded kernel; a tap on the zero border adds nothing.
      const Window w = window_at(p, oy * stride, ox * stride);
      float* o = out_hwc + (oy * ow + ox) * channels;
      int64_t c = 0;
      if (pairs && w.count == 9 && ox + 1 < ow) {
        const Window next = window_at(p, oy * stride, (ox + 1) * stride);
        if (next.count == 9) {
          float* o_next = o + channels;
          for (; c + kLanes <= channels; c += kLanes) depthwise_two_pixels(z, wt, channels, w, next, c, o, o_next);
          if (c < channels) {
            depthwise_rest(z, wt, channels, w, c, o);
            depthwise_rest(z, wt, channels, next, c, o_next);
          }
          ++ox;
          continue;
        }
      }
      for (; c + 4 * kLanes <= channels; c += 4 * kLanes) depthwise_vectors<4>(z, wt, channels, w, c, o);
      for (; c + kLanes <= channels; c += kLanes) depthwise_vectors<1>(z, wt, channels, w, c, o);
      if (c < channels) depthwise_rest(z, wt, channels, w, c, o);
    }
}

namespace {

// out[i][j] += bias[j] for each of `n` rows of `rows` values: a loop, where filling the
// rows with the bias first cost a library call per row (512 a vertex at 4x4, batch 32).
CONCNAS_CLONES void add_to_rows(const float* bias, int64_t n, int64_t rows, float* __restrict out) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < rows; ++j) out[i * rows + j] += bias[j];
}

// oneDNN's row-major GEMM, c = op(a) * op(b) + beta * c, or an error.
void sgemm(char transa, char transb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
           int64_t ldb, float beta, float* c, int64_t ldc) {
  const dnnl_status_t status = dnnl_sgemm(transa, transb, m, n, k, 1.0F, a, lda, b, ldb, beta, c, ldc);
  if (status != dnnl_success)
    throw std::runtime_error("oneDNN's sgemm failed with status " + std::to_string(static_cast<int>(status)));
}

}  // namespace

void matmul_rows_bias(const float* in, const float* weight_t, const float* bias, int64_t n, int64_t k, int64_t rows,
                      float* out) {
  sgemm('N', 'N', n, rows, k, in, k, weight_t, rows, 0.0F, out, rows);
  if (bias != nullptr) add_to_rows(bias, n, rows, out);
}

void matmul_bias(const float* weight, const float* bias, const float* in, int64_t rows, int64_t k, int64_t n,
                 float* out) {
  if (bias != nullptr)
    for (int64_t r = 0; r < rows; ++r) std::fill(out + r * n, out + (r + 1) * n, bias[r]);
  sgemm('N', 'N', rows, n, k, weight, k, in, n, bias != nullptr ? 1.0F : 0.0F, out, n);
}

CONCNAS_CLONES void adaptive_max_pool_channel_last(const float* in, int64_t channels, Plane p, Plane to,
                                                   float* out) {
  for (int64_t y = 0; y < to.height; ++y) {
    const int64_t y0 = y * p.height / to.height, y1 = ((y + 1) * p.height + to.height - 1) / to.height;
    for (int64_t x = 0; x < to.width; ++x) {
      const int64_t x0 = x * p.width / to.width, x1 = ((x + 1) * p.width + to.width - 1) / to.width;
      float* __restrict o = out + (y * to.width + x) * channels;
      std::fill(o, o + channels, -std::numeric_limits<float>::infinity());
      // A NaN wins its window, as in LibTorch: once in `o`, no comparison replaces it.
      for (int64_t iy = y0; iy < y1; ++iy)
        for (int64_t ix = x0; ix < x1; ++ix) {
          const float* __restrict v = in + (iy * p.width + ix) * channels;
          for (int64_t c = 0; c < channels; ++c) o[c] = (v[c] != v[c] || o[c] < v[c]) ? v[c] : o[c];
        }
    }
  }
}

CONCNAS_CLONES void add(const float* x, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] += x[i];
}

void add_plane_sums(const float* in, int64_t channels, Plane p, double* sums) {
  for (int64_t i = 0; i < p.size(); ++i)
    for (int64_t c = 0; c < channels; ++c) sums[c] += in[i * channels + c];
}

void linear(const float* in, int64_t channels, double scale, const float* weight, const float* bias,
            int64_t classes, float* out) {
  // Channel by channel into every class at once: independent sums, not one long chain each.
  std::vector<double> acc(static_cast<std::size_t>(classes), 0.0);
  for (int64_t c = 0; c < channels; ++c) {
    const double x = in[c];
    for (int64_t j = 0; j < classes; ++j) acc[static_cast<std::size_t>(j)] += weight[j * channels + c] * x;
  }
  for (int64_t j = 0; j < classes; ++j) out[j] = static_cast<float>(bias[j] + scale * acc[static_cast<std::size_t>(j)]);
}

}  // namespace concnas::deploy::kernels
