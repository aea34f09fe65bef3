// Linear layer on CUDA (float32, row-major): cuBLAS SGEMM in its default math mode (no TF32
// tensor-op math) plus small bias kernels; the twin of kernels/cpu/linear.h.
#pragma once
#include <cstdint>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

namespace bnas::kernels::cuda {

// y = x w^T (+ b when b is not null). x: n x in, w: out x in, y: n x out.
void linear_forward(cublasHandle_t handle, cudaStream_t stream, const float* x, const float* w,
                    const float* b, float* y, int64_t n, int64_t in, int64_t out);
// gx = gy w, gw = gy^T x, gb = column sums of gy (fixed order, no atomics); null outputs are
// skipped.
void linear_backward(cublasHandle_t handle, cudaStream_t stream, const float* x, const float* w,
                     const float* gy, float* gx, float* gw, float* gb, int64_t n, int64_t in, int64_t out);

}  // namespace bnas::kernels::cuda
