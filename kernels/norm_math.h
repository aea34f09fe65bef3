// Batch-norm arithmetic shared by kernels/cpu/norm.cpp and kernels/cuda/norm.cu, by the pool
// BatchNorms of the mixed edge (kernels/mixed_edge_math.h: K = the first element on both) and by
// the fused convolution branches (kernels/conv_branches_math.h: K = the exact mean on both).
//
// Layout: x is N x C x HW (HW = 1 for the 2-D N x C form); channel c owns M = N * HW elements.
// Statistics are accumulated in double from values shifted by a per-channel constant K
// (s1 = sum(x - K), s2 = sum((x - K)^2)), which keeps the variance exact to float precision even
// when |mean| >> std. The CPU takes K = the exact mean from a first pass (so s1 ~ 0); the GPU
// takes K = the channel's first element and needs a single pass. Both finish with bn_finalize.
#pragma once
#include <cmath>

#include "kernels/hd.h"

namespace bnas::kernels {

struct BnStats {
  double mean, var;  // biased batch variance
};

// From shifted sums over M elements; the variance is clamped at 0 against rounding.
BNAS_HD BnStats bn_finalize(double shift, double s1, double s2, double m) {
  const double d = s1 / m;
  double var = s2 / m - d * d;
  if (var < 0) var = 0;
  return {shift + d, var};
}

BNAS_HD double bn_invstd(double var, double eps) { return 1.0 / sqrt(var + eps); }

// PyTorch: running = (1 - momentum) * running + momentum * batch, with the UNBIASED variance.
BNAS_HD double bn_running_update(double running, double batch, double momentum) {
  return (1.0 - momentum) * running + momentum * batch;
}
BNAS_HD double bn_unbiased(double var, double m) { return var * m / (m - 1.0); }

// Mean and invstd of channel c of a BatchNorm. Training: the batch statistics from the shifted
// sums s1, s2 over m values, updating running_mean[c] / running_var[c] where given (PyTorch:
// unbiased variance, momentum); eval: the running statistics (required).
template <class T>
BNAS_HD void bn_channel_stats(bool training, double s1, double s2, double shift, double m, double eps, double momentum,
                              T* running_mean, T* running_var, int c, T& mean, T& invstd) {
  if (!training) {
    mean = running_mean[c];
    invstd = T(bn_invstd(double(running_var[c]), eps));
    return;
  }
  const BnStats st = bn_finalize(shift, s1, s2, m);
  if (running_mean) running_mean[c] = T(bn_running_update(double(running_mean[c]), st.mean, momentum));
  if (running_var) running_var[c] = T(bn_running_update(double(running_var[c]), bn_unbiased(st.var, m), momentum));
  mean = T(st.mean);
  invstd = T(bn_invstd(st.var, eps));
}

// Per-channel multiplier a = invstd * weight (weight 1 when not affine).
template <class T> BNAS_HD T bn_scale(T invstd, const T* weight, int64_t c) {
  return weight ? invstd * weight[c] : invstd;
}

// (x - mean) * a: the normalised value (a = invstd), or with the weight (a = bn_scale).
template <class T> BNAS_HD T bn_normalize(T x, T mean, T a) { return (x - mean) * a; }

// y = (x - mean) * a + b.
template <class T> BNAS_HD T bn_apply(T x, T mean, T a, const T* bias, int64_t c) {
  const T y = bn_normalize(x, mean, a);
  return bias ? y + bias[c] : y;
}

// Backward of one element.
//   training: dx = a * (gy - k1 - (x - mean) * k3), k1 = sum(gy) / M,
//             k3 = invstd^2 * sum(gy * (x - mean)) / M (the batch statistics depend on x);
//   eval:     dx = a * gy (running statistics are constants).
template <class T> BNAS_HD T bn_backward_elem(T gy, T x, T mean, T a, T k1, T k3, bool training) {
  return training ? a * (gy - k1 - (x - mean) * k3) : a * gy;
}
// k1 and k3 of one channel from sg = sum(gy) and sgx = sum(gy (x - mean)) over its m values
// (0 in eval, where bn_backward_elem ignores them).
template <class T>
BNAS_HD void bn_backward_coefs(bool training, double sg, double sgx, double m, T invstd, T& k1, T& k3) {
  k1 = training ? T(sg / m) : T(0);
  k3 = training ? T(double(invstd) * double(invstd) * sgx / m) : T(0);
}

}  // namespace bnas::kernels
