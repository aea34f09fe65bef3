// The differentiable op API. Every op runs on the CPU (float32 and float64) and on CUDA
// (float32), records an autograd node when an input requires a gradient, and never waits for the
// GPU. Inputs may be strided channel-slice views; outputs are fresh contiguous tensors.
// Shapes use NCHW: N batch, C channels, H x W spatial.
#pragma once
#include <vector>

#include "engine/rng.h"
#include "engine/tensor.h"

namespace bnas::ops {

// ---- convolution and linear -----------------------------------------------------------------
struct Conv2dArgs {
  int stride = 1, padding = 0, dilation = 1, groups = 1;
};
// x: N x Cin x H x W, w: Cout x (Cin / groups) x kh x kw (no bias) -> N x Cout x Ho x Wo,
// Ho = (H + 2p - d (kh - 1) - 1) / s + 1. Depthwise is groups == Cin == Cout.
Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dArgs& a = {});
// x: N x In, w: Out x In, b: Out or undefined -> N x Out (y = x w^T + b).
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b);

// ---- normalisation --------------------------------------------------------------------------
struct BatchNormArgs {
  bool training = true;
  double momentum = 0.1;
  double eps = 1e-5;
};
// x: N x C x H x W. weight, bias: [C] or undefined (affine = false). running_mean/var: [C] or
// undefined. Training normalises with the biased batch variance and updates the running stats
// in place with the unbiased one (PyTorch semantics); eval uses the running stats.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                  const Tensor& running_mean, const Tensor& running_var, const BatchNormArgs& a = {});

// ---- pooling --------------------------------------------------------------------------------
struct Pool2dArgs {
  int kernel = 3, stride = 1, padding = 1;
};
Tensor max_pool2d(const Tensor& x, const Pool2dArgs& a);  // padding acts as -inf
Tensor avg_pool2d(const Tensor& x, const Pool2dArgs& a);  // padding NOT counted in the divisor
Tensor global_avg_pool(const Tensor& x);                  // N x C x H x W -> N x C

// ---- elementwise and structure --------------------------------------------------------------
Tensor relu(const Tensor& x);
Tensor add(const Tensor& a, const Tensor& b);  // same shape
Tensor scale(const Tensor& x, double s);
// sum_i weights[i] * xs[i]; xs all of one shape; weights: [n] on the same device (read there,
// never copied to the host); gradients flow to every xs[i] and to weights.
Tensor weighted_sum(const std::vector<Tensor>& xs, const Tensor& weights);
// xs[0] + xs[1] + ..., added in that order (so two tensors give exactly add's result); xs all of
// one shape. One launch on CUDA for up to 8 tensors; the gradient passes to every xs[i] unchanged.
Tensor sum(const std::vector<Tensor>& xs);
Tensor concat_channels(const std::vector<Tensor>& xs);  // along dim 1
// x.narrow(dim, start, length) for dim 0 or 1 (a channel slice when dim == 1).
Tensor narrow(const Tensor& x, int dim, int64_t start, int64_t length);
Tensor reshape(const Tensor& x, const Shape& shape);  // same numel
// N x C x H x W viewed as N x g x C/g x H x W, dims 1 and 2 swapped, flattened back.
Tensor channel_shuffle(const Tensor& x, int groups);
// Zeros of shape N x C x ceil(H / s) x ceil(W / s) (the "none" op: x[:, :, ::s, ::s] * 0).
Tensor strided_zero(const Tensor& x, int stride);
// Per-sample drop-path (training): sample n kept with probability 1 - p and scaled by 1/(1 - p).
// The mask is drawn from gen (one value per sample), identical on CPU and GPU.
Tensor drop_path(const Tensor& x, double drop_prob, Generator& gen);

// ---- softmax and losses ---------------------------------------------------------------------
Tensor softmax(const Tensor& x);      // over the last dim of a 1-D or 2-D tensor
Tensor log_softmax(const Tensor& x);  // over the last dim of a 1-D or 2-D tensor
// Mean over the batch of -sum_k q_k log p_k, q = (1 - s) onehot + s / K. logits: N x K,
// labels: [N] int32 on the same device. Returns a one-element tensor.
Tensor cross_entropy(const Tensor& logits, const Tensor& labels, double label_smoothing = 0.0);
// Number of rows whose arg-max equals the label, as a one-element float32 tensor on the device
// (not differentiable).
Tensor count_correct(const Tensor& logits, const Tensor& labels);

// ---- in place, not differentiable (optimizers, the architect, gradient accumulation) --------
void add_(Tensor& y, const Tensor& x, double alpha = 1.0);  // y += alpha * x (same shape)
void scale_(Tensor& x, double s);                          // x *= s
// y += alpha * coef[0] * x, coef a one-element tensor of y's dtype on y's device, read there
// (never copied to the host): an axpy whose coefficient is a device scalar, e.g. a norm.
void add_scaled_(Tensor& y, const Tensor& x, const Tensor& coef, double alpha);

}  // namespace bnas::ops
