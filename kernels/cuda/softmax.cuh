// Softmax-family CUDA kernels (float32); twins of kernels/cpu/softmax.h. One warp per row.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace bnas::kernels::cuda {

void softmax_forward(const float* x, float* y, int64_t rows, int64_t K, bool log, cudaStream_t s);
void softmax_backward(const float* y, const float* gy, float* gx, int64_t rows, int64_t K, bool log,
                      cudaStream_t s);
// row_loss: device scratch of `rows` floats (per-row losses, summed by one block in a fixed
// order into loss[0]: deterministic, no atomics). Rows whose label is outside [0, K) contribute
// 0 to the sum (checking would need a device-to-host sync); the mean still divides by rows.
void cross_entropy_forward(const float* x, const int32_t* labels, float* logp, float* row_loss, float* loss,
                           int64_t rows, int64_t K, float smoothing, cudaStream_t s);
// gx = (exp(logp) - q) * gloss[0] / rows, gloss read on the device; zero rows for invalid labels.
void cross_entropy_backward(const float* logp, const int32_t* labels, const float* gloss, float* gx, int64_t rows,
                            int64_t K, float smoothing, cudaStream_t s);
// out[0] = number of rows whose first arg-max equals the label (invalid labels never match).
void count_correct(const float* x, const int32_t* labels, float* out, int64_t rows, int64_t K, cudaStream_t s);

}  // namespace bnas::kernels::cuda
