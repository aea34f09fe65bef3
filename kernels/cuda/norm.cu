// Batch norm on CUDA. Three launches per direction:
//   partial  - grid (chunks, C): block (p, c) reduces chunk p of channel c into two doubles
//              (fixed-order shared-memory tree), written to workspace[(c * P + p) * 2 + {0, 1}];
//   finalize - one thread per channel adds its P partials in order and finishes the statistics
//              (and, forward, updates the running statistics on the device: no host sync);
//   apply    - one thread per element.
// The chunking depends on the shape only, so results are bitwise reproducible on any GPU.
#include <algorithm>

#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/norm.cuh"
#include "kernels/cuda_check.h"
#include "kernels/norm_math.h"

namespace bnas::kernels::cuda {
namespace {

constexpr int kBnThreads = 256;           // power of two (tree reduction)
constexpr int64_t kBnChunk = 2048;        // elements of one channel per partial block (8 per thread)
constexpr int64_t kBnMaxChunks = 4096;   // the finalize thread adds at most this many partials

int bn_chunks(int64_t m) { return static_cast<int>(std::min<int64_t>((m + kBnChunk - 1) / kBnChunk, kBnMaxChunks)); }

// Element m (0 <= m < N * HW) of channel c; sizes fit in 32 bits (checked by the caller).
__device__ __forceinline__ int64_t bn_addr(uint32_t m, uint32_t hw, uint32_t C, uint32_t c) {
  const uint32_t n = m / hw, j = m - n * hw;
  return (int64_t(n) * C + c) * hw + j;
}

__device__ __forceinline__ void chunk_range(uint32_t M, int P, int p, uint32_t& m0, uint32_t& m1) {
  const uint32_t len = static_cast<uint32_t>((uint64_t(M) + P - 1) / P);
  m0 = min(M, uint32_t(p) * len);
  m1 = min(M, m0 + len);
}

__global__ void stats_partial_k(const float* x, uint32_t M, uint32_t C, uint32_t hw, double* ws) {
  const uint32_t c = blockIdx.y;
  const int P = gridDim.x, p = blockIdx.x;
  const double shift = x[int64_t(c) * hw];  // the channel's first element
  uint32_t m0, m1;
  chunk_range(M, P, p, m0, m1);
  double s[2] = {0, 0};
  for (uint32_t m = m0 + threadIdx.x; m < m1; m += kBnThreads) {
    const double d = double(x[bn_addr(m, hw, C, c)]) - shift;
    s[0] += d;
    s[1] += d * d;
  }
  block_sum<kBnThreads>(s);
  if (threadIdx.x == 0) {
    ws[(int64_t(c) * P + p) * 2] = s[0];
    ws[(int64_t(c) * P + p) * 2 + 1] = s[1];
  }
}

__global__ void stats_finalize_k(const float* x, const double* ws, int P, uint32_t C, uint32_t hw, uint32_t M,
                                 double eps, double momentum, float* mean, float* invstd, float* rmean,
                                 float* rvar) {
  const uint32_t c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double s1 = 0, s2 = 0;
  for (int p = 0; p < P; ++p) {
    s1 += ws[(int64_t(c) * P + p) * 2];
    s2 += ws[(int64_t(c) * P + p) * 2 + 1];
  }
  const BnStats st = bn_finalize(double(x[int64_t(c) * hw]), s1, s2, double(M));
  mean[c] = float(st.mean);
  invstd[c] = float(bn_invstd(st.var, eps));
  if (rmean) rmean[c] = float(bn_running_update(rmean[c], st.mean, momentum));
  if (rvar) rvar[c] = float(bn_running_update(rvar[c], bn_unbiased(st.var, double(M)), momentum));
}

__global__ void eval_stats_k(const float* rmean, const float* rvar, uint32_t C, double eps, float* mean,
                             float* invstd) {
  const uint32_t c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  mean[c] = rmean[c];
  invstd[c] = float(bn_invstd(rvar[c], eps));
}

__global__ void apply_k(const float* x, const float* mean, const float* invstd, const float* w, const float* b,
                        float* y, int64_t n, uint32_t C, uint32_t hw) {
  BNAS_GRID_STRIDE(i, n) {
    const uint32_t c = (uint32_t(i) / hw) % C;
    y[i] = bn_apply(x[i], mean[c], bn_scale(invstd[c], w, c), b, c);
  }
}

__global__ void grad_partial_k(const float* x, const float* gy, const float* mean, uint32_t M, uint32_t C,
                               uint32_t hw, double* ws) {
  const uint32_t c = blockIdx.y;
  const int P = gridDim.x, p = blockIdx.x;
  const float mu = mean[c];
  uint32_t m0, m1;
  chunk_range(M, P, p, m0, m1);
  double s[2] = {0, 0};  // sum gy, sum gy (x - mean)
  for (uint32_t m = m0 + threadIdx.x; m < m1; m += kBnThreads) {
    const int64_t a = bn_addr(m, hw, C, c);
    const double g = gy[a];
    s[0] += g;
    s[1] += g * double(x[a] - mu);
  }
  block_sum<kBnThreads>(s);
  if (threadIdx.x == 0) {
    ws[(int64_t(c) * P + p) * 2] = s[0];
    ws[(int64_t(c) * P + p) * 2 + 1] = s[1];
  }
}

__global__ void grad_finalize_k(const double* ws, int P, uint32_t C, uint32_t M, const float* invstd, float* gw,
                                float* gb, float* coef) {
  const uint32_t c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= C) return;
  double sg = 0, sgx = 0;
  for (int p = 0; p < P; ++p) {
    sg += ws[(int64_t(c) * P + p) * 2];
    sgx += ws[(int64_t(c) * P + p) * 2 + 1];
  }
  const double is = invstd[c];
  if (gw) gw[c] = float(sgx * is);
  if (gb) gb[c] = float(sg);
  if (coef) {
    coef[c] = float(sg / double(M));
    coef[C + c] = float(is * is * sgx / double(M));
  }
}

__global__ void grad_input_k(const float* x, const float* gy, const float* mean, const float* invstd,
                             const float* w, const float* coef, bool training, float* gx, int64_t n, uint32_t C,
                             uint32_t hw) {
  BNAS_GRID_STRIDE(i, n) {
    const uint32_t c = (uint32_t(i) / hw) % C;
    const float k1 = training ? coef[c] : 0.f, k3 = training ? coef[C + c] : 0.f;
    gx[i] = bn_backward_elem(gy[i], x[i], mean[c], bn_scale(invstd[c], w, c), k1, k3, training);
  }
}

int channel_blocks(int64_t C) { return static_cast<int>((C + kBnThreads - 1) / kBnThreads); }

}  // namespace

int64_t batch_norm_workspace_doubles(int64_t N, int64_t C, int64_t HW) { return 2 * C * bn_chunks(N * HW); }

void batch_norm_stats(const float* x, int64_t N, int64_t C, int64_t HW, double eps, double momentum, float* mean,
                      float* invstd, float* running_mean, float* running_var, double* ws, cudaStream_t s) {
  const int64_t M = N * HW;
  const int P = bn_chunks(M);
  stats_partial_k<<<dim3(P, static_cast<unsigned>(C)), kBnThreads, 0, s>>>(x, uint32_t(M), uint32_t(C),
                                                                          uint32_t(HW), ws);
  CUDA_CHECK_LAUNCH(s);
  stats_finalize_k<<<channel_blocks(C), kBnThreads, 0, s>>>(x, ws, P, uint32_t(C), uint32_t(HW), uint32_t(M), eps,
                                                            momentum, mean, invstd, running_mean, running_var);
  CUDA_CHECK_LAUNCH(s);
}

void batch_norm_eval_stats(const float* running_mean, const float* running_var, int64_t C, double eps, float* mean,
                           float* invstd, cudaStream_t s) {
  eval_stats_k<<<channel_blocks(C), kBnThreads, 0, s>>>(running_mean, running_var, uint32_t(C), eps, mean, invstd);
  CUDA_CHECK_LAUNCH(s);
}

void batch_norm_apply(const float* x, const float* mean, const float* invstd, const float* weight, const float* bias,
                      float* y, int64_t N, int64_t C, int64_t HW, cudaStream_t s) {
  const int64_t n = N * C * HW;
  apply_k<<<blocks_for(n), kThreads, 0, s>>>(x, mean, invstd, weight, bias, y, n, uint32_t(C), uint32_t(HW));
  CUDA_CHECK_LAUNCH(s);
}

void batch_norm_backward(const float* x, const float* gy, const float* mean, const float* invstd, const float* weight,
                         int64_t N, int64_t C, int64_t HW, bool training, float* gx, float* gweight, float* gbias,
                         double* ws, float* coef, cudaStream_t s) {
  const int64_t M = N * HW, n = N * C * HW;
  if (M == 0) {  // an empty batch (eval mode only): zero parameter gradients, and no empty grid
    if (gweight) CUDA_CHECK(cudaMemsetAsync(gweight, 0, C * sizeof(float), s));
    if (gbias) CUDA_CHECK(cudaMemsetAsync(gbias, 0, C * sizeof(float), s));
    return;
  }
  const bool need_coef = gx && training;
  if (gweight || gbias || need_coef) {
    const int P = bn_chunks(M);
    grad_partial_k<<<dim3(P, static_cast<unsigned>(C)), kBnThreads, 0, s>>>(x, gy, mean, uint32_t(M), uint32_t(C),
                                                                            uint32_t(HW), ws);
    CUDA_CHECK_LAUNCH(s);
    grad_finalize_k<<<channel_blocks(C), kBnThreads, 0, s>>>(ws, P, uint32_t(C), uint32_t(M), invstd, gweight,
                                                             gbias, need_coef ? coef : nullptr);
    CUDA_CHECK_LAUNCH(s);
  }
  if (gx) {
    grad_input_k<<<blocks_for(n), kThreads, 0, s>>>(x, gy, mean, invstd, weight, coef, training, gx, n, uint32_t(C),
                                                    uint32_t(HW));
    CUDA_CHECK_LAUNCH(s);
  }
}

}  // namespace bnas::kernels::cuda
