// Sums over a thread block in a fixed order: each thread holds NV values, and thread 0 gets the
// block's NV totals. The order depends on the block size only (no atomics), so results are
// bitwise reproducible. Every thread of the block calls them, with NT = blockDim.x; a block may
// call them again right away.
#pragma once

namespace bnas::kernels::cuda {
// Internal linkage: every kernel file keeps its own copy (the emulated device numbers the
// shared-memory arrays of each file, so copies from two files must not be merged by the linker).
namespace {

// Tree order (NT a power of two): value t takes in value t + s for s = NT / 2, NT / 4, ..., 1.
template <int NT, class T, int NV> __device__ void block_sum(T (&v)[NV]) {
  __shared__ T tree[NV][NT];
  const int t = threadIdx.x;
#pragma unroll
  for (int q = 0; q < NV; ++q) tree[q][t] = v[q];
  __syncthreads();
  for (int s = NT / 2; s > 0; s >>= 1) {
    if (t < s)
#pragma unroll
      for (int q = 0; q < NV; ++q) tree[q][t] += tree[q][t + s];
    __syncthreads();
  }
  if (t == 0)
#pragma unroll
    for (int q = 0; q < NV; ++q) v[q] = tree[q][0];
}

// Warp order (NT a multiple of 32): each warp's 32 values by shuffles (lane l takes in lane
// l + o for o = 16, 8, 4, 2, 1), then the warps' totals one after another in warp order.
template <int NT, class T, int NV> __device__ void block_sum_by_warps(T (&v)[NV]) {
  constexpr int kWarps = NT / 32;
  __shared__ T warp_total[kWarps][NV];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int q = 0; q < NV; ++q)
    for (int o = 16; o > 0; o >>= 1) v[q] += __shfl_down_sync(0xffffffffu, v[q], o);
  if (lane == 0)
#pragma unroll
    for (int q = 0; q < NV; ++q) warp_total[warp][q] = v[q];
  __syncthreads();
  if (threadIdx.x == 0)
#pragma unroll
    for (int q = 0; q < NV; ++q) {
      T s = warp_total[0][q];
      for (int w = 1; w < kWarps; ++w) s += warp_total[w][q];
      v[q] = s;
    }
  __syncthreads();  // warp_total is read by thread 0 and written by every warp's lane 0
}

}  // namespace
}  // namespace bnas::kernels::cuda
