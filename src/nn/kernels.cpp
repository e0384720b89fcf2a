#include "kernels.h"

#include <algorithm>
#include <vector>

// Built with -fopenmp (src/CMakeLists.txt). The `omp simd` reductions let the compiler keep
// a float accumulator per vector lane, which it may not do for a plain float sum; the
// per-row loops are compiled for AVX-512, AVX2 and the baseline, chosen at load time.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CONCNAS_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CONCNAS_VECTOR_CLONES
#endif

namespace concnas::nn::kernels {
namespace row {

// Values summed in float before going into a double: bounds the float error on large planes.
constexpr int64_t kRun = 1024;

CONCNAS_VECTOR_CLONES
void moments(const float* x, int64_t channels, int64_t size, const float* shift, double* sum,
             double* squares) {
  for (int64_t c = 0; c < channels; ++c) {
    const float k = shift[c];
    for (int64_t at = c * size, end = at + size; at < end; at += kRun) {
      const float* p = x + at;
      const int64_t n = std::min(kRun, end - at);
      float s = 0, t = 0;
#pragma omp simd reduction(+ : s, t)
      for (int64_t i = 0; i < n; ++i) {
        const float d = p[i] - k;
        s += d;
        t += d * d;
      }
      sum[c] += s;
      squares[c] += t;
    }
  }
}

CONCNAS_VECTOR_CLONES
void affine(const float* x, float* y, int64_t channels, int64_t size, const float* a,
            const float* b) {
  for (int64_t c = 0; c < channels; ++c) {
    const float* p = x + c * size;
    float* q = y + c * size;
    const float ac = a[c], bc = b[c];
#pragma omp simd
    for (int64_t i = 0; i < size; ++i) q[i] = ac * p[i] + bc;
  }
}

CONCNAS_VECTOR_CLONES
void grad_sums(const float* dy, const float* x, int64_t channels, int64_t size,
               const float* mean, double* sum_dy, double* sum_dy_xc) {
  for (int64_t c = 0; c < channels; ++c) {
    const float m = mean[c];
    for (int64_t at = c * size, end = at + size; at < end; at += kRun) {
      const float* g = dy + at;
      const float* p = x + at;
      const int64_t n = std::min(kRun, end - at);
      float s = 0, t = 0;
#pragma omp simd reduction(+ : s, t)
      for (int64_t i = 0; i < n; ++i) {
        s += g[i];
        t += g[i] * (p[i] - m);
      }
      sum_dy[c] += s;
      sum_dy_xc[c] += t;
    }
  }
}

CONCNAS_VECTOR_CLONES
void grad_input(const float* dy, const float* x, float* dx, int64_t channels, int64_t size,
                const float* mean, const float* a, const float* b, const float* d) {
  for (int64_t c = 0; c < channels; ++c) {
    const float* g = dy + c * size;
    const float* p = x + c * size;
    float* q = dx + c * size;
    const float m = mean[c], ac = a[c], bc = b[c], dc = d[c];
#pragma omp simd
    for (int64_t i = 0; i < size; ++i) q[i] = ac * g[i] + bc * (p[i] - m) + dc;
  }
}

// Values [begin, end) of a weighted sum and ReLU.
CONCNAS_VECTOR_CLONES
void weighted_sum_relu(const float* const* xs, const float* s, int k, float* out,
                       int64_t begin, int64_t end) {
  const float* x0 = xs[0];
  const float s0 = s[0];
#pragma omp simd
  for (int64_t j = begin; j < end; ++j) out[j] = s0 * x0[j];
  for (int i = 1; i < k; ++i) {
    const float* xi = xs[i];
    const float si = s[i];
#pragma omp simd
    for (int64_t j = begin; j < end; ++j) out[j] += si * xi[j];
  }
  // As LibTorch's ReLU: negatives and zeros to 0, a NaN stays a NaN.
#pragma omp simd
  for (int64_t j = begin; j < end; ++j) out[j] = out[j] <= 0 ? 0 : out[j];
}

CONCNAS_VECTOR_CLONES
void weighted_sum_relu_backward(const float* g, const float* out, const float* const* xs,
                                const float* s, int k, float* const* dxs, double* ds,
                                int64_t begin, int64_t end) {
  for (int i = 0; i < k; ++i) {
    const float* xi = xs[i];
    float* di = dxs[i];
    const float si = s[i];
    float t = 0;
#pragma omp simd reduction(+ : t)
    for (int64_t j = begin; j < end; ++j) {
      const float gj = out[j] <= 0 ? 0 : g[j];  // LibTorch's mask: a NaN output passes it
      di[j] = si * gj;
      t += gj * xi[j];
    }
    ds[i] += t;
  }
}

}  // namespace row

namespace {

constexpr int64_t kRowsPerGroup = 4;   // rows whose sums are taken together
constexpr int64_t kMinValues = 1 << 15;  // per thread, below which fewer threads run

int threads_for(int64_t values, int threads) {
  return static_cast<int>(std::clamp<int64_t>(values / kMinValues, 1, std::max(1, threads)));
}

int threads_for(Layout l, int threads) { return threads_for(l.rows * l.channels * l.size, threads); }

// Per-channel totals of add(row, first, second) over all rows: per group of rows on any
// thread, then over the groups in order.
template <typename Add>
void totals(Layout l, int threads, double* first, double* second, Add add) {
  const int64_t groups = (l.rows + kRowsPerGroup - 1) / kRowsPerGroup;
  std::vector<double> partial(static_cast<std::size_t>(groups * 2 * l.channels), 0.0);
#pragma omp parallel for num_threads(threads_for(l, threads)) schedule(static)
  for (int64_t g = 0; g < groups; ++g) {
    double* a = partial.data() + g * 2 * l.channels;
    for (int64_t r = g * kRowsPerGroup; r < std::min(l.rows, (g + 1) * kRowsPerGroup); ++r)
      add(r, a, a + l.channels);
  }
  std::fill(first, first + l.channels, 0.0);
  std::fill(second, second + l.channels, 0.0);
  for (int64_t g = 0; g < groups; ++g)
    for (int64_t c = 0; c < l.channels; ++c) {
      first[c] += partial[(g * 2) * l.channels + c];
      second[c] += partial[(g * 2 + 1) * l.channels + c];
    }
}

}  // namespace

void moments(const float* x, Layout l, const float* shift, double* sum, double* squares,
             int threads) {
  const int64_t n = l.channels * l.size;
  totals(l, threads, sum, squares, [&](int64_t r, double* s, double* t) {
    row::moments(x + r * n, l.channels, l.size, shift, s, t);
  });
}

void affine(const float* x, float* y, Layout l, const float* a, const float* b, int threads) {
  const int64_t n = l.channels * l.size;
#pragma omp parallel for num_threads(threads_for(l, threads)) schedule(static)
  for (int64_t r = 0; r < l.rows; ++r) row::affine(x + r * n, y + r * n, l.channels, l.size, a, b);
}

void grad_sums(const float* dy, const float* x, Layout l, const float* mean, double* sum_dy,
               double* sum_dy_xc, int threads) {
  const int64_t n = l.channels * l.size;
  totals(l, threads, sum_dy, sum_dy_xc, [&](int64_t r, double* s, double* t) {
    row::grad_sums(dy + r * n, x + r * n, l.channels, l.size, mean, s, t);
  });
}

void grad_input(const float* dy, const float* x, float* dx, Layout l, const float* mean,
                const float* a, const float* b, const float* d, int threads) {
  const int64_t n = l.channels * l.size;
#pragma omp parallel for num_threads(threads_for(l, threads)) schedule(static)
  for (int64_t r = 0; r < l.rows; ++r)
    row::grad_input(dy + r * n, x + r * n, dx + r * n, l.channels, l.size, mean, a, b, d);
}

namespace {
// Values per block of the aggregation loops: the block's k inputs, output and gradients
// stay in the first-level cache while every input is visited.
constexpr int64_t kBlock = 1024;
}  // namespace

void weighted_sum_relu(const float* const* xs, const float* s, int k, float* out, int64_t n,
                       int threads) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for num_threads(threads_for(n, threads)) schedule(static)
  for (int64_t b = 0; b < blocks; ++b)
    row::weighted_sum_relu(xs, s, k, out, b * kBlock, std::min(n, (b + 1) * kBlock));
}

void weighted_sum_relu_backward(const float* g, const float* out, const float* const* xs,
                                const float* s, int k, float* const* dxs, double* ds,
                                int64_t n, int threads) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<std::size_t>(blocks * k), 0.0);
#pragma omp parallel for num_threads(threads_for(n, threads)) schedule(static)
  for (int64_t b = 0; b < blocks; ++b)
    row::weighted_sum_relu_backward(g, out, xs, s, k, dxs, partial.data() + b * k, b * kBlock,
                                    std::min(n, (b + 1) * kBlock));
  std::fill(ds, ds + k, 0.0);
  for (int64_t b = 0; b < blocks; ++b)
    for (int i = 0; i < k; ++i) ds[i] += partial[b * k + i];
}

}  // namespace concnas::nn::kernels
