// Linear layer on CUDA. cuBLAS is column-major: a row-major m x n matrix is, in its eyes, the
// n x m transpose, so row-major Y = X W^T is computed as column-major Y^T = W X^T, and likewise
// for the gradients. The bias add and the bias gradient are small kernels; the gradient sums
// each column in a fixed order (one thread per column, no atomics), the same order as the CPU.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/linear.cuh"
#include "kernels/cuda_check.h"
#include "kernels/linear_math.h"

namespace bnas::kernels::cuda {
namespace {

__global__ void add_bias_k(float* y, const float* b, int64_t n, int64_t out) {
  BNAS_GRID_STRIDE(i, n * out) y[i] += b[i % out];
}
__global__ void bias_grad_k(const float* gy, float* gb, int64_t n, int64_t out) {
  BNAS_GRID_STRIDE(j, out) gb[j] = column_sum(gy, n, out, j);
}

void prepare(cublasHandle_t h, cudaStream_t s) {
  CUBLAS_CHECK(cublasSetStream(h, s));
  CUBLAS_CHECK(cublasSetPointerMode(h, CUBLAS_POINTER_MODE_HOST));  // alpha/beta below live on the host
}

int to_int(int64_t v) {
  BNAS_CHECK(v >= 0 && v <= INT32_MAX, "linear: a dimension of ", v, " is too large for cuBLAS");
  return static_cast<int>(v);
}

}  // namespace

void linear_forward(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const float* b, float* y,
                    int64_t n, int64_t in, int64_t out) {
  if (n == 0 || out == 0) return;
  const float one = 1.f, zero = 0.f;
  if (in == 0) {
    CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(float) * n * out, s));
  } else {
    prepare(h, s);
    // Y^T (out x n) = W (out x in) X^T (in x n).
    CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, to_int(out), to_int(n), to_int(in), &one, w, to_int(in),
                             x, to_int(in), &zero, y, to_int(out)));
    CUDA_CHECK_LAUNCH(s);
  }
  if (b) {
    add_bias_k<<<blocks_for(n * out), kThreads, 0, s>>>(y, b, n, out);
    CUDA_CHECK_LAUNCH(s);
  }
}

void linear_backward(cublasHandle_t h, cudaStream_t s, const float* x, const float* w, const float* gy, float* gx,
                     float* gw, float* gb, int64_t n, int64_t in, int64_t out) {
  const float one = 1.f, zero = 0.f;
  if (gx && n * in > 0) {
    if (out == 0) {
      CUDA_CHECK(cudaMemsetAsync(gx, 0, sizeof(float) * n * in, s));
    } else {
      prepare(h, s);
      // gX^T (in x n) = W^T (in x out) gY^T (out x n).
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, to_int(in), to_int(n), to_int(out), &one, w,
                               to_int(in), gy, to_int(out), &zero, gx, to_int(in)));
      CUDA_CHECK_LAUNCH(s);
    }
  }
  if (gw && out * in > 0) {
    if (n == 0) {
      CUDA_CHECK(cudaMemsetAsync(gw, 0, sizeof(float) * out * in, s));
    } else {
      prepare(h, s);
      // gW^T (in x out) = X^T (in x n) gY (n x out).
      CUBLAS_CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_T, to_int(in), to_int(out), to_int(n), &one, x,
                               to_int(in), gy, to_int(out), &zero, gw, to_int(in)));
      CUDA_CHECK_LAUNCH(s);
    }
  }
  if (gb && out > 0) {
    bias_grad_k<<<blocks_for(out), kThreads, 0, s>>>(gy, gb, n, out);
    CUDA_CHECK_LAUNCH(s);
  }
}

}  // namespace bnas::kernels::cuda
