#pragma once
// The loops of concnas's own training operators (ops.cpp, design in concnas/nn/ops.h),
// free of torch headers and run on OpenMP, LibTorch's own thread pool (ATen's at::parallel_for is inline OpenMP, which
// does nothing in a file built without -fopenmp).
//
// Batch norm: the tensor is NCHW float: `rows` batch rows of `channels` planes of `size` values. The
// loops walk it row by row, so reads are sequential; a channel-by-channel walk jumps a
// whole row ahead every `size` values, which defeats the hardware prefetcher at the 7x7
// planes where concnas networks spend most of their time. Sums are taken in float vector
// lanes within a plane and in double across planes, per fixed group of rows, then over
// the groups in order: the same bits for any thread count.

#include <cstdint>

namespace concnas::nn::kernels {

struct Layout {
  int64_t rows, channels, size;
};

/// Per channel: sum = Σ (x - shift[c]), squares = Σ (x - shift[c])².
void moments(const float* x, Layout l, const float* shift, double* sum, double* squares,
             int threads);

/// y = a[c] * x + b[c].
void affine(const float* x, float* y, Layout l, const float* a, const float* b, int threads);

/// Per channel: sum_dy = Σ dy, sum_dy_xc = Σ dy * (x - mean[c]).
void grad_sums(const float* dy, const float* x, Layout l, const float* mean, double* sum_dy,
               double* sum_dy_xc, int threads);

/// dx = a[c] * dy + b[c] * (x - mean[c]) + d[c].
void grad_input(const float* dy, const float* x, float* dx, Layout l, const float* mean,
                const float* a, const float* b, const float* d, int threads);

/// A vertex's aggregation and ReLU over `n` values: out = max(0, Σ_i s[i] * xs[i]).
void weighted_sum_relu(const float* const* xs, const float* s, int k, float* out, int64_t n,
                       int threads);

/// Its backward, given the output `out` and its gradient `g`: with g' = g where out > 0
/// and 0 elsewhere, dxs[i] = s[i] * g' and ds[i] = Σ g' * xs[i] (summed per fixed block,
/// then over the blocks in order).
void weighted_sum_relu_backward(const float* g, const float* out, const float* const* xs,
                                const float* s, int k, float* const* dxs, double* ds,
                                int64_t n, int threads);

}  // namespace concnas::nn::kernels
