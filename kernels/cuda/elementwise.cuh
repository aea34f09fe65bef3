// Elementwise CUDA kernels (float32) on contiguous arrays; twins of kernels/cpu/elementwise.h.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

namespace bnas::kernels::cuda {
void relu_forward(const float* x, float* y, int64_t n, cudaStream_t s);
void relu_backward(const float* y, const float* gy, float* gx, int64_t n, cudaStream_t s);
void axpby(float a, const float* x, float b, const float* y, float* out, int64_t n, cudaStream_t s);
// y += (alpha * coef[0]) * x; coef is device memory.
void add_scaled(const float* x, const float* coef, float alpha, float* y, int64_t n,
                cudaStream_t s);
}  // namespace bnas::kernels::cuda
