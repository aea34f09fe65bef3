// Per-element math of softmax, log_softmax and cross-entropy, shared by kernels/cpu/softmax.cpp
// and kernels/cuda/softmax.cu. Rows are reduced by the callers (max, sum of exponentials, dot
// products); these are the element-wise steps around those reductions.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace bnas::kernels {

// d softmax: gx = y * (gy - sum_k gy_k y_k).
template <class T> BNAS_HD T softmax_grad(T y, T gy, T dot) { return y * (gy - dot); }
// d log_softmax (y = log p): gx = gy - p * sum_k gy_k.
template <class T> BNAS_HD T log_softmax_grad(T p, T gy, T gsum) { return gy - p * gsum; }
// Smoothed target q_k = (1 - s) [k == label] + s / K (PyTorch's label_smoothing).
template <class T> BNAS_HD T smoothed_target(int64_t k, int64_t label, int64_t K, T s) {
  return (k == label ? T(1) - s : T(0)) + s / static_cast<T>(K);
}
// -sum_k q_k log p_k from log p[label] and sum_k log p_k.
template <class T> BNAS_HD T smoothed_nll(T logp_label, T logp_sum, int64_t K, T s) {
  return -((T(1) - s) * logp_label + s / static_cast<T>(K) * logp_sum);
}
// A label outside [0, K) contributes nothing (the GPU cannot throw without a sync; the CPU
// op checks labels before the kernels run).
BNAS_HD bool label_valid(int32_t label, int64_t K) { return label >= 0 && label < K; }

}  // namespace bnas::kernels
