// CUDA twin of kernels/cpu/random_subsets.h (same arguments, device pointers): one launch of one
// thread block draws every row and advances the counter, reading nothing from the host.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdint>

namespace bnas::kernels::cuda {

void draw_subsets(const int32_t* sizes, int rows, int k, uint64_t seed, uint64_t stream, uint32_t* counter,
                  uint32_t* scratch, int32_t* out, cudaStream_t s);

}  // namespace bnas::kernels::cuda
