// CUDA twins of kernels/layout.h's CPU copy and fill.
#pragma once
#include <cuda_runtime_api.h>

#include "kernels/layout.h"

namespace bnas::kernels::cuda {
void copy_strided(const void* src, DType src_t, const Layout& src_l, void* dst, DType dst_t,
                  const Layout& dst_l, cudaStream_t stream);
void fill(void* dst, DType t, int64_t n, double value, cudaStream_t stream);
}  // namespace bnas::kernels::cuda
