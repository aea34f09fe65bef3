// Batch-norm CUDA kernels (float32) on contiguous N x C x HW arrays; twins of kernels/cpu/norm.h.
//
// Reductions are deterministic and atomic-free: each channel's M = N * HW elements are cut into
// bn_chunks(M) fixed chunks (a function of the shape only, never of the device); one block per
// (chunk, channel) writes a double partial with a fixed-order tree reduction; a second kernel
// adds the partials of each channel in order. The caller provides the double workspace
// (batch_norm_workspace_doubles) from the stream-ordered pool.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace bnas::kernels::cuda {

int64_t batch_norm_workspace_doubles(int64_t N, int64_t C, int64_t HW);

// Training statistics; updates running_mean / running_var in place when non-null.
void batch_norm_stats(const float* x, int64_t N, int64_t C, int64_t HW, double eps, double momentum,
                      float* mean, float* invstd, float* running_mean, float* running_var, double* workspace,
                      cudaStream_t s);
void batch_norm_eval_stats(const float* running_mean, const float* running_var, int64_t C, double eps,
                           float* mean, float* invstd, cudaStream_t s);
void batch_norm_apply(const float* x, const float* mean, const float* invstd, const float* weight,
                      const float* bias, float* y, int64_t N, int64_t C, int64_t HW, cudaStream_t s);
// gx, gweight, gbias may each be null. coef: 2 * C floats of scratch (used when gx && training).
void batch_norm_backward(const float* x, const float* gy, const float* mean, const float* invstd,
                         const float* weight, int64_t N, int64_t C, int64_t HW, bool training, float* gx,
                         float* gweight, float* gbias, double* workspace, float* coef, cudaStream_t s);

}  // namespace bnas::kernels::cuda
