#include "kernels/cuda/elementwise.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda_check.h"
#include "kernels/elementwise_math.h"

namespace bnas::kernels::cuda {
namespace {
__global__ void relu_fwd_k(const float* x, float* y, int64_t n) { BNAS_GRID_STRIDE(i, n) y[i] = relu(x[i]); }
__global__ void relu_bwd_k(const float* y, const float* gy, float* gx, int64_t n) {
  BNAS_GRID_STRIDE(i, n) gx[i] = relu_grad(y[i], gy[i]);
}
__global__ void axpby_k(float a, const float* x, float b, const float* y, float* out, int64_t n) {
  BNAS_GRID_STRIDE(i, n) out[i] = kernels::axpby(a, x[i], b, y[i]);
}
__global__ void add_scaled_k(const float* x, const float* coef, float alpha, float* y, int64_t n) {
  const float f = alpha * coef[0];
  BNAS_GRID_STRIDE(i, n) y[i] += f * x[i];
}
}  // namespace

void relu_forward(const float* x, float* y, int64_t n, cudaStream_t s) {
  relu_fwd_k<<<blocks_for(n), kThreads, 0, s>>>(x, y, n);
  CUDA_CHECK_LAUNCH(s);
}
void relu_backward(const float* y, const float* gy, float* gx, int64_t n, cudaStream_t s) {
  relu_bwd_k<<<blocks_for(n), kThreads, 0, s>>>(y, gy, gx, n);
  CUDA_CHECK_LAUNCH(s);
}
void axpby(float a, const float* x, float b, const float* y, float* out, int64_t n, cudaStream_t s) {
  axpby_k<<<blocks_for(n), kThreads, 0, s>>>(a, x, b, y, out, n);
  CUDA_CHECK_LAUNCH(s);
}
void add_scaled(const float* x, const float* coef, float alpha, float* y, int64_t n, cudaStream_t s) {
  add_scaled_k<<<blocks_for(n), kThreads, 0, s>>>(x, coef, alpha, y, n);
  CUDA_CHECK_LAUNCH(s);
}
}  // namespace bnas::kernels::cuda
