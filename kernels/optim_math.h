// Optimizer and gradient-norm math shared by kernels/cpu/optim.cpp and kernels/cuda/optim.cu.
//
// Multi-tensor apply: a parameter group is cut into chunks of at most kOptimChunk elements, each
// naming the same element range of a parameter, its gradient and up to two state buffers. The
// optimizer builds this table once (its pointers are stable) and, on the GPU, uploads it once;
// one launch then updates the whole group, one block per chunk. The CPU loops over the same
// table, calling the same per-element functions below.
//
// Every per-element formula follows PyTorch 1.13's single-tensor torch.optim code term by term
// (scalars such as 1 - beta1 are formed in double on the host, as Python does, then rounded to
// T), so float32 results agree with torch.optim to rounding.
//
// Scalars that change during training (the learning rate, the step count and Adam's bias
// corrections) are read from device memory, never passed by value, so a captured CUDA graph of
// a training step stays valid when they change.
#pragma once
#include <math.h>

#include <cstdint>

#include "kernels/hd.h"

namespace bnas::kernels {

// Elements per chunk (one CUDA block of 256 threads each, 16 elements per thread): small enough
// that a group of a few million parameters still fills every SM of a large GPU.
constexpr int64_t kOptimChunk = 4096;

// One chunk of a multi-tensor update. state0/state1 are null when the optimizer keeps no such
// state (SGD without momentum has none, SGD with momentum uses state0, Adam uses both).
template <class T> struct OptimChunk {
  T* param;
  T* grad;
  T* state0;
  T* state1;
  int64_t n;
};

// One chunk of a norm reduction (or of clipping, which scales x in place).
template <class T> struct NormChunk {
  T* x;
  int64_t n;
};

template <class T> struct SgdHyper {
  T momentum;      // 0: plain SGD, no buffer
  T weight_decay;  // L2 term added to the gradient
};

template <class T> struct AdamHyper {
  T beta1, beta2;
  T one_minus_beta1, one_minus_beta2;  // formed in double, then rounded (as torch does)
  T eps;
  T weight_decay;  // L2 term added to the gradient (torch.optim.Adam, not AdamW)
};

BNAS_HD float hd_sqrt(float x) { return sqrtf(x); }
BNAS_HD double hd_sqrt(double x) { return sqrt(x); }

// torch.optim.SGD (dampening 0, no Nesterov) for one element:
//   d = g + wd * p;  buf = first ? d : momentum * buf + d;  p -= lr * buf
// (with momentum 0 there is no buffer and p -= lr * d). `first` is true on the first step, when
// torch initialises the buffer with a clone of d.
template <class T> BNAS_HD void sgd_update(T& p, T g, T* buf, T lr, SgdHyper<T> h, bool first) {
  T d = h.weight_decay != T(0) ? g + h.weight_decay * p : g;
  if (buf) {
    d = first ? d : *buf * h.momentum + d;
    *buf = d;
  }
  p = p + (-lr) * d;
}

// torch.optim.Adam for one element, with step_size = lr / (1 - beta1^t) and
// bc2_sqrt = sqrt(1 - beta2^t) from adam_scalars:
//   g += wd * p;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
//   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
template <class T>
BNAS_HD void adam_update(T& p, T g, T& m, T& v, T step_size, T bc2_sqrt, AdamHyper<T> h) {
  if (h.weight_decay != T(0)) g = g + h.weight_decay * p;
  m = m * h.beta1 + h.one_minus_beta1 * g;
  v = v * h.beta2 + h.one_minus_beta2 * g * g;
  const T denom = hd_sqrt(v) / bc2_sqrt + h.eps;
  p = p + ((-step_size) * m) / denom;
}

// Adam's per-step scalars, computed in double like torch's Python code from the step count t
// (already advanced): out[0] = lr / (1 - beta1^t), out[1] = sqrt(1 - beta2^t).
template <class T> BNAS_HD void adam_scalars(int32_t t, T lr, double beta1, double beta2, T* out) {
  const double bc1 = 1.0 - pow(beta1, static_cast<double>(t));
  const double bc2 = 1.0 - pow(beta2, static_cast<double>(t));
  out[0] = static_cast<T>(static_cast<double>(lr) / bc1);
  out[1] = static_cast<T>(sqrt(bc2));
}

// The in-place moves of the weights in DARTS's second-order architecture step (nas/architect.h),
// over a table {param = w, grad = g (or v), state0 = the SGD's momentum buffer or null,
// state1 = the backup of w}. s is the move's scalar from unroll_scalar.
//   kVirtualStep: backup = w;  w = w - xi (mu m + (g + wd w))   (DARTS's unrolled weights, term
//                 by term: moment = mu m, dtheta = g + wd theta, theta - eta (moment + dtheta))
//   kPerturb:     w = backup + (alpha / ||v||) v                  (v in the grad slot)
//   kSave:        backup = w
//   kRestore:     w = backup
enum class UnrollMove : int32_t { kVirtualStep, kPerturb, kSave, kRestore };

// The scalar of a move, from the device value *v (xi for the virtual step, ||v|| for perturb):
// xi, alpha / ||v|| (0 when ||v|| == 0, so nothing is added), or 0 for the copies.
template <class T> BNAS_HD T unroll_scalar(UnrollMove move, const T* v, T alpha) {
  if (move == UnrollMove::kVirtualStep) return *v;
  if (move == UnrollMove::kPerturb) return *v != T(0) ? alpha / *v : T(0);
  return T(0);
}

template <class T> BNAS_HD void unroll_element(UnrollMove move, const OptimChunk<T>& k, int64_t i, T s, SgdHyper<T> h) {
  switch (move) {
    case UnrollMove::kVirtualStep: {
      const T p = k.param[i];
      k.state1[i] = p;
      const T d = h.weight_decay != T(0) ? k.grad[i] + h.weight_decay * p : k.grad[i];
      const T moment = k.state0 ? h.momentum * k.state0[i] : T(0);
      k.param[i] = p - s * (moment + d);
      break;
    }
    case UnrollMove::kPerturb: k.param[i] = k.state1[i] + s * k.grad[i]; break;
    case UnrollMove::kSave: k.state1[i] = k.param[i]; break;
    case UnrollMove::kRestore: k.param[i] = k.state1[i]; break;
  }
}

// torch.nn.utils.clip_grad_norm_'s factor: max_norm / (norm + 1e-6), clamped to at most 1
// (a NaN norm gives a NaN factor, as in torch).
template <class T> BNAS_HD T clip_coef(T norm, T max_norm) {
  const T c = max_norm / (norm + T(1e-6));
  return c > T(1) ? T(1) : c;
}

}  // namespace bnas::kernels
