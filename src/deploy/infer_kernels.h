#pragma once
// The loops of concnas's inference engine (engine.cpp), free of torch headers. Every
// tensor is one image's planes, channel after channel, float32, contiguous. Each loop runs
// on the calling thread: the engine runs whole vertices concurrently instead of splitting
// one vertex over cores (a 7x7 plane is too little work to share).
//
// The loops are compiled once per instruction set (AVX-512, AVX2, baseline x86-64) and the
// best one the processor has is chosen when the library loads, so one build runs on any
// x86-64 machine at the speed of the one it runs on.

#include <cstdint>

namespace concnas::deploy::kernels {

struct Plane {
  int64_t height, width;
  int64_t size() const { return height * width; }
};

/// The stem: out[o] = bias[o] + Σ_c conv3x3(in[c], w[c][.][o]) over `in_channels` planes
/// of size `p` (one image, plane after plane), stride 1, zero padding 1, written
/// channel-last: each pixel's `out_channels` values together. `wt` is the weights as
/// in x 9 x out.
void conv3x3_channel_last(const float* in, int64_t in_channels, Plane p, const float* wt, const float* bias,
                          int64_t out_channels, float* out_hwc);

/// A vertex's aggregation, ReLU and depthwise convolution over `channels` planes:
/// z = max(0, Σ_i a[i] * f(xs[i])) with f the identity or, with `sigmoid_inputs`, the
/// logistic function, then out[c] = conv3x3(z[c], w + 9c) at `stride`, zero padding 1.
/// `scratch` holds `depthwise_scratch_size(p)` floats.
std::int64_t depthwise_scratch_size(Plane p);
void aggregate_relu_depthwise(const float* const* xs, const float* a, int k, bool sigmoid_inputs,
                              int64_t channels, Plane p, const float* w, int stride, float* scratch,
                              float* out);

/// The same on small planes, channels side by side: each input and `out_hwc` hold one
/// image's pixels with each pixel's `channels` values together (plane x channels), so that
/// the nine taps run over the channels in vector lanes instead of over a plane of a few
/// values. `wt` is the depthwise weights as 9 x channels. `scratch` holds
/// `channel_last_scratch_size(channels, p)` floats.
std::int64_t channel_last_scratch_size(int64_t channels, Plane p);
void aggregate_relu_depthwise_channel_last(const float* const* xs, const float* a, int k, bool sigmoid_inputs,
                                           int64_t channels, Plane p, const float* wt, int stride, float* scratch,
                                           float* out_hwc);

/// out (rows x n) = weight (rows x k) * in (k x n), plus bias[r] on row r when it is given.
void matmul_bias(const float* weight, const float* bias, const float* in, int64_t rows, int64_t k, int64_t n,
                 float* out);
/// out (n x rows) = in (n x k) * weight_t (k x rows), plus bias[r] in column r when `bias` is
/// given: the pointwise convolution of `n` channel-last pixels, several images' at once,
/// written channel-last, with the weights given transposed.
void matmul_rows_bias(const float* in, const float* weight_t, const float* bias, int64_t n, int64_t k, int64_t rows,
                      float* out);

/// Max pooling of channel-last pixels from `p` to `to` (`in` is p.size() x channels, `out`
/// to.size() x channels), each output cell the maximum of its adaptive window (rows
/// floor(i*H/h) .. ceil((i+1)*H/h)); with H a multiple of h that is the plain H/h x W/w
/// pooling.
void adaptive_max_pool_channel_last(const float* in, int64_t channels, Plane p, Plane to, float* out);

/// out += x over `n` values.
void add(const float* x, int64_t n, float* out);

/// sums[c] += Σ of plane c of `in`, for `in` channel-last (pixel by pixel, `channels`
/// values each): a sink's share of the output, pooled before it travels.
void add_plane_sums(const float* in, int64_t channels, Plane p, double* sums);

/// The head's classifier: out[j] = bias[j] + scale * Σ_c weight[j][c] * in[c] (`weight`
/// is classes x channels).
void linear(const float* in, int64_t channels, double scale, const float* weight, const float* bias,
            int64_t classes, float* out);

}  // namespace concnas::deploy::kernels
