// Batch-norm CPU kernels (T = float or double) on contiguous N x C x HW arrays (HW = 1 for the
// 2-D N x C form). Per-channel loops, statistics accumulated in double (kernels/norm_math.h).
#pragma once
#include <cstdint>

namespace bnas::kernels::cpu {

// Batch statistics of every channel: mean[c] and invstd[c] = 1 / sqrt(biased var + eps). When
// running_mean / running_var are non-null they are updated in place (PyTorch semantics, unbiased
// variance; needs N * HW > 1).
template <class T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t HW, double eps, double momentum,
                      T* mean, T* invstd, T* running_mean, T* running_var);
// Eval mode: mean = running_mean, invstd = 1 / sqrt(running_var + eps).
template <class T>
void batch_norm_eval_stats(const T* running_mean, const T* running_var, int64_t C, double eps, T* mean, T* invstd);
// y = (x - mean) * invstd * weight + bias (weight / bias may be null).
template <class T>
void batch_norm_apply(const T* x, const T* mean, const T* invstd, const T* weight, const T* bias, T* y,
                      int64_t N, int64_t C, int64_t HW);
// Gradients; gx, gweight, gbias may each be null (not asked for). training selects the
// backward through the batch statistics.
template <class T>
void batch_norm_backward(const T* x, const T* gy, const T* mean, const T* invstd, const T* weight,
                         int64_t N, int64_t C, int64_t HW, bool training, T* gx, T* gweight, T* gbias);

}  // namespace bnas::kernels::cpu
