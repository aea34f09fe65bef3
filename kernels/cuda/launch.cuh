// Launch helpers for one-thread-per-element kernels (grid-stride loops).
#pragma once
#include <algorithm>
#include <cstdint>

namespace bnas::kernels::cuda {
constexpr int kThreads = 256;
inline int blocks_for(int64_t n) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 65535 * 8)));
}
}  // namespace bnas::kernels::cuda

#define BNAS_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)
