// Pooling CUDA kernels (float32) on contiguous planes; twins of kernels/cpu/pool.h.
#pragma once
#include <cstdint>
#include <cuda_runtime_api.h>

#include "kernels/pool_math.h"

namespace bnas::kernels::cuda {

void max_pool2d_forward(const float* x, float* y, int32_t* argmax, int64_t planes, const PoolGeom& g, cudaStream_t s);
void max_pool2d_backward(const float* gy, const int32_t* argmax, float* gx, int64_t planes, const PoolGeom& g,
                         cudaStream_t s);
void avg_pool2d_forward(const float* x, float* y, int64_t planes, const PoolGeom& g, cudaStream_t s);
void avg_pool2d_backward(const float* gy, float* gx, int64_t planes, const PoolGeom& g, cudaStream_t s);
void global_avg_pool_forward(const float* x, float* y, int64_t planes, int64_t hw, cudaStream_t s);
void global_avg_pool_backward(const float* gy, float* gx, int64_t planes, int64_t hw, cudaStream_t s);

}  // namespace bnas::kernels::cuda
