// Pooling on CUDA: one thread per output (forward) or per input element (backward, a gather
// over the covering windows: no atomics, deterministic); the window math is
// kernels/pool_math.h, shared with the CPU. Global average pooling: one warp per plane, lanes
// stride the plane and a fixed shuffle tree adds the lanes' double sums.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/pool.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
namespace {

__global__ void max_fwd_k(const float* x, float* y, int32_t* arg, int64_t n, PoolGeom g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
  BNAS_GRID_STRIDE(i, n) {
    const int64_t p = i / out;
    const int r = static_cast<int>(i - p * out);
    const int oh = r / g.Wo, ow = r - oh * g.Wo;
    int32_t a;
    y[i] = max_pool_at(x + p * in, g, oh, ow, &a);
    if (arg) arg[i] = a;
  }
}

__global__ void max_bwd_k(const float* gy, const int32_t* arg, float* gx, int64_t n, PoolGeom g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
  BNAS_GRID_STRIDE(i, n) {
    const int64_t p = i / in;
    const int r = static_cast<int>(i - p * in);
    const int h = r / g.W, w = r - h * g.W;
    gx[i] = max_pool_grad_at(gy + p * out, arg + p * out, g, h, w);
  }
}

__global__ void avg_fwd_k(const float* x, float* y, int64_t n, PoolGeom g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
  BNAS_GRID_STRIDE(i, n) {
    const int64_t p = i / out;
    const int r = static_cast<int>(i - p * out);
    const int oh = r / g.Wo, ow = r - oh * g.Wo;
    y[i] = avg_pool_at(x + p * in, g, oh, ow);
  }
}

__global__ void avg_bwd_k(const float* gy, float* gx, int64_t n, PoolGeom g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
  BNAS_GRID_STRIDE(i, n) {
    const int64_t p = i / in;
    const int r = static_cast<int>(i - p * in);
    const int h = r / g.W, w = r - h * g.W;
    gx[i] = avg_pool_grad_at(gy + p * out, g, h, w);
  }
}

constexpr int kWarpsPerBlock = kThreads / 32;

__global__ void gap_fwd_k(const float* x, float* y, int64_t planes, int64_t hw) {
  const int lane = threadIdx.x & 31;
  const int64_t first = int64_t(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
  for (int64_t p = first; p < planes; p += int64_t(gridDim.x) * kWarpsPerBlock) {
    double s = 0;
    for (int64_t j = lane; j < hw; j += 32) s += x[p * hw + j];
    for (int off = 16; off > 0; off >>= 1) s += __shfl_down_sync(0xffffffffu, s, off);
    if (lane == 0) y[p] = float(s / double(hw));
  }
}

__global__ void gap_bwd_k(const float* gy, float* gx, int64_t n, int64_t hw) {
  BNAS_GRID_STRIDE(i, n) gx[i] = float(double(gy[i / hw]) / double(hw));
}

}  // namespace

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, int64_t planes, const PoolGeom& g, cudaStream_t s) {
  const int64_t n = planes * g.Ho * g.Wo;
  max_fwd_k<<<blocks_for(n), kThreads, 0, s>>>(x, y, argmax, n, g);
  CUDA_CHECK_LAUNCH(s);
}
void max_pool2d_backward(const float* gy, const int32_t* argmax, float* gx, int64_t planes, const PoolGeom& g,
                         cudaStream_t s) {
  const int64_t n = planes * g.H * g.W;
  max_bwd_k<<<blocks_for(n), kThreads, 0, s>>>(gy, argmax, gx, n, g);
  CUDA_CHECK_LAUNCH(s);
}
void avg_pool2d_forward(const float* x, float* y, int64_t planes, const PoolGeom& g, cudaStream_t s) {
  const int64_t n = planes * g.Ho * g.Wo;
  avg_fwd_k<<<blocks_for(n), kThreads, 0, s>>>(x, y, n, g);
  CUDA_CHECK_LAUNCH(s);
}
void avg_pool2d_backward(const float* gy, float* gx, int64_t planes, const PoolGeom& g, cudaStream_t s) {
  const int64_t n = planes * g.H * g.W;
  avg_bwd_k<<<blocks_for(n), kThreads, 0, s>>>(gy, gx, n, g);
  CUDA_CHECK_LAUNCH(s);
}
void global_avg_pool_forward(const float* x, float* y, int64_t planes, int64_t hw, cudaStream_t s) {
  gap_fwd_k<<<blocks_for(planes * 32), kThreads, 0, s>>>(x, y, planes, hw);
  CUDA_CHECK_LAUNCH(s);
}
void global_avg_pool_backward(const float* gy, float* gx, int64_t planes, int64_t hw, cudaStream_t s) {
  const int64_t n = planes * hw;
  gap_bwd_k<<<blocks_for(n), kThreads, 0, s>>>(gy, gx, n, hw);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace bnas::kernels::cuda
