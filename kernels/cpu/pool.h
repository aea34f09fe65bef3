// Pooling CPU kernels (T = float or double) on contiguous planes: `planes` = N * C planes of
// H x W in, Ho x Wo out (geometry in kernels/pool_math.h).
#pragma once
#include <cstdint>

#include "kernels/pool_math.h"

namespace bnas::kernels::cpu {

// argmax (may be null) receives the plane index h * W + w of each output's maximum.
template <class T> void max_pool2d_forward(const T* x, T* y, int32_t* argmax, int64_t planes, const PoolGeom& g);
template <class T> void max_pool2d_backward(const T* gy, const int32_t* argmax, T* gx, int64_t planes, const PoolGeom& g);
template <class T> void avg_pool2d_forward(const T* x, T* y, int64_t planes, const PoolGeom& g);
template <class T> void avg_pool2d_backward(const T* gy, T* gx, int64_t planes, const PoolGeom& g);
// y[i] = mean of plane i (hw elements); gx[i, :] = gy[i] / hw.
template <class T> void global_avg_pool_forward(const T* x, T* y, int64_t planes, int64_t hw);
template <class T> void global_avg_pool_backward(const T* gy, T* gx, int64_t planes, int64_t hw);

}  // namespace bnas::kernels::cpu
