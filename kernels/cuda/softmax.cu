// Softmax, log_softmax, cross-entropy and accuracy counting on CUDA, mirroring
// kernels/cpu/softmax.cpp. One warp per row (rows are short: K classes or a row of
// architecture weights); lanes stride over the row and combine with xor-butterfly shuffles,
// whose result is bitwise the same on every lane and on every run. The batch mean of the loss
// and the correct count are single-block reductions in a fixed order: no atomics anywhere.
#include <algorithm>
#include <cmath>

#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/softmax.cuh"
#include "kernels/cuda_check.h"
#include "kernels/softmax_math.h"

namespace bnas::kernels::cuda {
namespace {

constexpr int kWarp = 32;
constexpr int kWarpsPerBlock = kThreads / kWarp;

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int m = kWarp / 2; m > 0; m /= 2) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int m = kWarp / 2; m > 0; m /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, m));
  return v;
}

// Loops `row` over this warp's rows (whole warps stay together, so shuffles are safe).
#define BNAS_WARP_ROWS(row, rows)                                                                  \
  for (int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / kWarp; row < (rows);      \
       row += int64_t(gridDim.x) * blockDim.x / kWarp)

int warp_blocks(int64_t rows) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock, 65535)));
}

__global__ void softmax_fwd_k(const float* x, float* y, int64_t rows, int64_t K, bool log) {
  const int lane = threadIdx.x % kWarp;
  BNAS_WARP_ROWS(r, rows) {
    const float* xr = x + r * K;
    float* yr = y + r * K;
    float m = -INFINITY;
    for (int64_t k = lane; k < K; k += kWarp) m = fmaxf(m, xr[k]);
    m = warp_max(m);
    float s = 0.f;
    for (int64_t k = lane; k < K; k += kWarp) s += expf(xr[k] - m);
    s = warp_sum(s);
    if (log) {
      const float ls = logf(s);
      for (int64_t k = lane; k < K; k += kWarp) yr[k] = xr[k] - m - ls;
    } else {
      const float inv = 1.f / s;
      for (int64_t k = lane; k < K; k += kWarp) yr[k] = expf(xr[k] - m) * inv;
    }
  }
}

__global__ void softmax_bwd_k(const float* y, const float* gy, float* gx, int64_t rows, int64_t K, bool log) {
  const int lane = threadIdx.x % kWarp;
  BNAS_WARP_ROWS(r, rows) {
    const float* yr = y + r * K;
    const float* gr = gy + r * K;
    float* xr = gx + r * K;
    float acc = 0.f;
    if (log) {
      for (int64_t k = lane; k < K; k += kWarp) acc += gr[k];
      acc = warp_sum(acc);
      for (int64_t k = lane; k < K; k += kWarp) xr[k] = log_softmax_grad(expf(yr[k]), gr[k], acc);
    } else {
      for (int64_t k = lane; k < K; k += kWarp) acc += gr[k] * yr[k];
      acc = warp_sum(acc);
      for (int64_t k = lane; k < K; k += kWarp) xr[k] = softmax_grad(yr[k], gr[k], acc);
    }
  }
}

__global__ void ce_fwd_k(const float* x, const int32_t* labels, float* logp, float* row_loss, int64_t rows,
                         int64_t K, float smoothing) {
  const int lane = threadIdx.x % kWarp;
  BNAS_WARP_ROWS(r, rows) {
    const float* xr = x + r * K;
    float* lr = logp + r * K;
    float m = -INFINITY;
    for (int64_t k = lane; k < K; k += kWarp) m = fmaxf(m, xr[k]);
    m = warp_max(m);
    float s = 0.f;
    for (int64_t k = lane; k < K; k += kWarp) s += expf(xr[k] - m);
    const float ls = logf(warp_sum(s));
    float sum = 0.f;
    for (int64_t k = lane; k < K; k += kWarp) {
      lr[k] = xr[k] - m - ls;
      sum += lr[k];
    }
    sum = warp_sum(sum);
    if (lane == 0) {
      const int32_t label = labels[r];
      // log p[label] recomputed from the row's max and log-sum (another lane stored it).
      row_loss[r] = label_valid(label, K) ? smoothed_nll(xr[label] - m - ls, sum, K, smoothing) : 0.f;
    }
  }
}

// One block: loss[0] = (sum of row_loss in a fixed tree order) / rows.
__global__ void mean_k(const float* row_loss, int64_t rows, float* loss) {
  float acc[1] = {0.f};
  for (int64_t r = threadIdx.x; r < rows; r += kThreads) acc[0] += row_loss[r];
  block_sum<kThreads>(acc);
  if (threadIdx.x == 0) loss[0] = rows > 0 ? acc[0] / static_cast<float>(rows) : 0.f;
}

__global__ void ce_bwd_k(const float* logp, const int32_t* labels, const float* gloss, float* gx, int64_t rows,
                         int64_t K, float smoothing) {
  const float g = gloss[0] / static_cast<float>(rows);
  BNAS_GRID_STRIDE(e, rows * K) {
    const int64_t r = e / K, k = e - r * K;
    const int32_t label = labels[r];
    gx[e] = label_valid(label, K) ? (expf(logp[e]) - smoothed_target<float>(k, label, K, smoothing)) * g : 0.f;
  }
}

constexpr int kCountThreads = 512;

// One block: warps take rows in turn; lanes find the first maximum of their strided elements,
// then the warp keeps the larger value (the smaller index on ties).
__global__ void count_k(const float* x, const int32_t* labels, float* out, int64_t rows, int64_t K) {
  const int lane = threadIdx.x % kWarp, warp = threadIdx.x / kWarp;
  long long correct[1] = {0};
  for (int64_t r = warp; r < rows; r += kCountThreads / kWarp) {
    const float* xr = x + r * K;
    float bv = 0.f;
    long long bi = -1;
    for (int64_t k = lane; k < K; k += kWarp)
      if (bi < 0 || xr[k] > bv) {
        bv = xr[k];
        bi = k;
      }
#pragma unroll
    for (int m = kWarp / 2; m > 0; m /= 2) {
      const float ov = __shfl_xor_sync(0xffffffffu, bv, m);
      const long long oi = __shfl_xor_sync(0xffffffffu, bi, m);
      if (oi >= 0 && (bi < 0 || ov > bv || (ov == bv && oi < bi))) {
        bv = ov;
        bi = oi;
      }
    }
    if (lane == 0 && bi >= 0 && labels[r] == bi) ++correct[0];
  }
  block_sum<kCountThreads>(correct);  // integers: exact in any order
  if (threadIdx.x == 0) out[0] = static_cast<float>(correct[0]);
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t rows, int64_t K, bool log, cudaStream_t s) {
  if (rows == 0 || K == 0) return;
  softmax_fwd_k<<<warp_blocks(rows), kThreads, 0, s>>>(x, y, rows, K, log);
  CUDA_CHECK_LAUNCH(s);
}

void softmax_backward(const float* y, const float* gy, float* gx, int64_t rows, int64_t K, bool log,
                      cudaStream_t s) {
  if (rows == 0 || K == 0) return;
  softmax_bwd_k<<<warp_blocks(rows), kThreads, 0, s>>>(y, gy, gx, rows, K, log);
  CUDA_CHECK_LAUNCH(s);
}

void cross_entropy_forward(const float* x, const int32_t* labels, float* logp, float* row_loss, float* loss,
                           int64_t rows, int64_t K, float smoothing, cudaStream_t s) {
  if (rows > 0) {
    ce_fwd_k<<<warp_blocks(rows), kThreads, 0, s>>>(x, labels, logp, row_loss, rows, K, smoothing);
    CUDA_CHECK_LAUNCH(s);
  }
  mean_k<<<1, kThreads, 0, s>>>(row_loss, rows, loss);
  CUDA_CHECK_LAUNCH(s);
}

void cross_entropy_backward(const float* logp, const int32_t* labels, const float* gloss, float* gx, int64_t rows,
                            int64_t K, float smoothing, cudaStream_t s) {
  if (rows == 0 || K == 0) return;
  ce_bwd_k<<<blocks_for(rows * K), kThreads, 0, s>>>(logp, labels, gloss, gx, rows, K, smoothing);
  CUDA_CHECK_LAUNCH(s);
}

void count_correct(const float* x, const int32_t* labels, float* out, int64_t rows, int64_t K, cudaStream_t s) {
  count_k<<<1, kCountThreads, 0, s>>>(x, labels, out, rows, K);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace bnas::kernels::cuda
