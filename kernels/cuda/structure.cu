// Structure ops on CUDA, mirroring kernels/cpu/structure.cpp. Variable-length pointer lists
// travel as kernel parameters (structs of up to kPack pointers, passed by value), so an op
// over n tensors is ceil(n / kPack) launches with no host-to-device copy. The one reduction
// (weighted_sum's weight gradient) is two-pass and atomic-free: per-block partials in a fixed
// tree order, then one block per weight; the grid size depends only on numel, so results are
// bitwise reproducible.
#include <algorithm>

#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/structure.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
namespace {

constexpr int kPack = 16;
constexpr int kReduceBlocks = 256;  // most partial sums per input of the weights' gradient

struct InPack {
  const float* p[kPack];
};
struct OutPack {
  float* p[kPack];
  int which[kPack];
};
template <class P> struct BlockPack {
  ChannelBlock<P> b[kPack];
  int64_t start[kPack + 1];  // element offsets of each block in the launch's index space
};

__global__ void wsum_fwd_k(InPack xs, int n, const float* w, float* y, int64_t numel, bool accumulate) {
  float wr[kPack];
#pragma unroll
  for (int i = 0; i < kPack; ++i) wr[i] = i < n ? (w ? w[i] : 1.f) : 0.f;
  BNAS_GRID_STRIDE(j, numel) {
    float acc = accumulate ? y[j] : 0.f;
#pragma unroll
    for (int i = 0; i < kPack; ++i)
      if (i < n) acc += wr[i] * xs.p[i][j];
    y[j] = acc;
  }
}

__global__ void wsum_bwd_x_k(OutPack gxs, int count, const float* w, const float* gy, int64_t numel) {
  float wr[kPack];
#pragma unroll
  for (int k = 0; k < kPack; ++k) wr[k] = k < count ? w[gxs.which[k]] : 0.f;
  BNAS_GRID_STRIDE(j, numel) {
    const float g = gy[j];
#pragma unroll
    for (int k = 0; k < kPack; ++k)
      if (k < count) gxs.p[k][j] = wr[k] * g;
  }
}

// partial[i * gridDim.x + blockIdx.x] = this block's share of sum_j gy[j] xs[i][j].
__global__ void wsum_bwd_w_partial_k(InPack xs, int n, const float* gy, int64_t numel, float* partial) {
  float acc[kPack];
#pragma unroll
  for (int i = 0; i < kPack; ++i) acc[i] = 0.f;
  BNAS_GRID_STRIDE(j, numel) {
    const float g = gy[j];
#pragma unroll
    for (int i = 0; i < kPack; ++i)
      if (i < n) acc[i] += g * xs.p[i][j];
  }
  block_sum<kThreads>(acc);  // acc[i] stays 0 for i >= n
  if (threadIdx.x == 0)
    for (int i = 0; i < n; ++i) partial[i * int64_t(gridDim.x) + blockIdx.x] = acc[i];
}

// gw[blockIdx.x] = sum of the `parts` partials of input blockIdx.x.
__global__ void wsum_bwd_w_final_k(const float* partial, int parts, float* gw) {
  float acc[1] = {0.f};
  for (int k = threadIdx.x; k < parts; k += kThreads) acc[0] += partial[blockIdx.x * int64_t(parts) + k];
  block_sum<kThreads>(acc);
  if (threadIdx.x == 0) gw[blockIdx.x] = acc[0];
}

__device__ __forceinline__ int find_block(const int64_t* start, int count, int64_t e) {
  int k = 0;
  while (k + 1 < count && e >= start[k + 1]) ++k;
  return k;
}

__global__ void gather_k(BlockPack<const float> pk, int count, float* wide, int64_t wide_nstride, int64_t inner) {
  BNAS_GRID_STRIDE(e, pk.start[count]) {
    const int k = find_block(pk.start, count, e);
    const ChannelBlock<const float>& b = pk.b[k];
    const int64_t local = e - pk.start[k], row = b.channels * inner;
    const int64_t n = local / row, r = local - n * row;
    wide[n * wide_nstride + b.c0 * inner + r] = b.ptr[n * b.nstride + r];
  }
}

__global__ void scatter_k(const float* wide, int64_t wide_nstride, BlockPack<float> pk, int count, int64_t inner) {
  BNAS_GRID_STRIDE(e, pk.start[count]) {
    const int k = find_block(pk.start, count, e);
    const ChannelBlock<float>& b = pk.b[k];
    const int64_t local = e - pk.start[k], row = b.channels * inner;
    const int64_t n = local / row, r = local - n * row;
    b.ptr[n * b.nstride + r] = wide[n * wide_nstride + b.c0 * inner + r];
  }
}

__global__ void shuffle_k(const float* x, int64_t x_nstride, float* y, int64_t N, int64_t C, int64_t inner,
                          int64_t groups) {
  const int64_t per_group = C / groups, total = N * C * inner;
  BNAS_GRID_STRIDE(e, total) {
    const int64_t r = e % inner, nc = e / inner;
    const int64_t c = nc % C, n = nc / C;
    const int64_t k = c / groups, g = c - k * groups;
    y[e] = x[n * x_nstride + (g * per_group + k) * inner + r];
  }
}

// blockIdx.y walks the samples; each thread draws its sample's mask once.
__global__ void drop_path_k(const float* x, float* y, int64_t N, int64_t per_sample, uint64_t seed,
                            uint64_t stream, uint64_t offset, double p, float scale) {
  for (int64_t n = blockIdx.y; n < N; n += gridDim.y) {
    const float f = drop_path_keep(seed, stream, offset, n, p) ? scale : 0.f;
    const float* xs = x + n * per_sample;
    float* ys = y + n * per_sample;
    for (int64_t j = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; j < per_sample;
         j += int64_t(gridDim.x) * blockDim.x)
      ys[j] = xs[j] * f;
  }
}

int reduce_blocks(int64_t numel) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>((numel + kThreads - 1) / kThreads, kReduceBlocks)));
}

template <class P>
BlockPack<P> pack_blocks(const ChannelBlock<P>* blocks, int count, int64_t N, int64_t inner) {
  BlockPack<P> pk{};
  pk.start[0] = 0;
  for (int k = 0; k < count; ++k) {
    pk.b[k] = blocks[k];
    pk.start[k + 1] = pk.start[k] + N * blocks[k].channels * inner;
  }
  for (int k = count; k < kPack; ++k) pk.start[k + 1] = pk.start[count];
  return pk;
}

}  // namespace

void weighted_sum_forward(const float* const* xs, int n, const float* w, float* y, int64_t numel, cudaStream_t s) {
  for (int i0 = 0; i0 < n; i0 += kPack) {
    const int m = std::min(kPack, n - i0);
    InPack pk{};
    for (int i = 0; i < m; ++i) pk.p[i] = xs[i0 + i];
    wsum_fwd_k<<<blocks_for(numel), kThreads, 0, s>>>(pk, m, w ? w + i0 : nullptr, y, numel, i0 > 0);
    CUDA_CHECK_LAUNCH(s);
  }
}

void weighted_sum_backward_inputs(const float* w, const int* which, float* const* gxs, int count, const float* gy,
                                  int64_t numel, cudaStream_t s) {
  for (int k0 = 0; k0 < count; k0 += kPack) {
    const int m = std::min(kPack, count - k0);
    OutPack pk{};
    for (int k = 0; k < m; ++k) {
      pk.p[k] = gxs[k0 + k];
      pk.which[k] = which[k0 + k];
    }
    wsum_bwd_x_k<<<blocks_for(numel), kThreads, 0, s>>>(pk, m, w, gy, numel);
    CUDA_CHECK_LAUNCH(s);
  }
}

int64_t weighted_sum_scratch(int n, int64_t numel) { return int64_t(n) * reduce_blocks(numel); }

void weighted_sum_backward_weights(const float* const* xs, int n, const float* gy, float* gw, int64_t numel,
                                   float* scratch, cudaStream_t s) {
  const int parts = reduce_blocks(numel);
  for (int i0 = 0; i0 < n; i0 += kPack) {
    const int m = std::min(kPack, n - i0);
    InPack pk{};
    for (int i = 0; i < m; ++i) pk.p[i] = xs[i0 + i];
    wsum_bwd_w_partial_k<<<parts, kThreads, 0, s>>>(pk, m, gy, numel, scratch + int64_t(i0) * parts);
    CUDA_CHECK_LAUNCH(s);
  }
  wsum_bwd_w_final_k<<<n, kThreads, 0, s>>>(scratch, parts, gw);
  CUDA_CHECK_LAUNCH(s);
}

void channel_gather(const ChannelBlock<const float>* blocks, int count, float* wide, int64_t wide_nstride,
                    int64_t N, int64_t inner, cudaStream_t s) {
  for (int k0 = 0; k0 < count; k0 += kPack) {
    const int m = std::min(kPack, count - k0);
    const BlockPack<const float> pk = pack_blocks(blocks + k0, m, N, inner);
    if (pk.start[m] == 0) continue;
    gather_k<<<blocks_for(pk.start[m]), kThreads, 0, s>>>(pk, m, wide, wide_nstride, inner);
    CUDA_CHECK_LAUNCH(s);
  }
}

void channel_scatter(const float* wide, int64_t wide_nstride, const ChannelBlock<float>* blocks, int count,
                     int64_t N, int64_t inner, cudaStream_t s) {
  for (int k0 = 0; k0 < count; k0 += kPack) {
    const int m = std::min(kPack, count - k0);
    const BlockPack<float> pk = pack_blocks(blocks + k0, m, N, inner);
    if (pk.start[m] == 0) continue;
    scatter_k<<<blocks_for(pk.start[m]), kThreads, 0, s>>>(wide, wide_nstride, pk, m, inner);
    CUDA_CHECK_LAUNCH(s);
  }
}

void channel_shuffle(const float* x, int64_t x_nstride, float* y, int64_t N, int64_t C, int64_t inner,
                     int64_t groups, cudaStream_t s) {
  const int64_t total = N * C * inner;
  if (total == 0) return;
  shuffle_k<<<blocks_for(total), kThreads, 0, s>>>(x, x_nstride, y, N, C, inner, groups);
  CUDA_CHECK_LAUNCH(s);
}

void drop_path(const float* x, float* y, int64_t N, int64_t per_sample, uint64_t seed, uint64_t stream,
               uint64_t offset, double p, float scale, cudaStream_t s) {
  if (N == 0 || per_sample == 0) return;
  const int ny = static_cast<int>(std::min<int64_t>(N, 65535));
  const int64_t want = (per_sample + kThreads - 1) / kThreads;
  const int nx = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(want, std::max(1, 4096 / ny))));
  drop_path_k<<<dim3(nx, ny), kThreads, 0, s>>>(x, y, N, per_sample, seed, stream, offset, p, scale);
  CUDA_CHECK_LAUNCH(s);
}

}  // namespace bnas::kernels::cuda
