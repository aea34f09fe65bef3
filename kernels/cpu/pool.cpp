// Pooling on the CPU: OpenMP over planes; the per-element window math is kernels/pool_math.h,
// shared with the CUDA kernels (backward is a gather there and here, so the sums agree).
#include "kernels/cpu/pool.h"

namespace bnas::kernels::cpu {

template <class T> void max_pool2d_forward(const T* x, T* y, int32_t* argmax, int64_t planes, const PoolGeom& g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
#pragma omp parallel for schedule(static) if (planes * out > 16384)
  for (int64_t p = 0; p < planes; ++p) {
    int32_t arg;
    for (int oh = 0; oh < g.Ho; ++oh)
      for (int ow = 0; ow < g.Wo; ++ow) {
        const int64_t o = p * out + oh * g.Wo + ow;
        y[o] = max_pool_at(x + p * in, g, oh, ow, &arg);
        if (argmax) argmax[o] = arg;
      }
  }
}

template <class T> void max_pool2d_backward(const T* gy, const int32_t* argmax, T* gx, int64_t planes, const PoolGeom& g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
#pragma omp parallel for schedule(static) if (planes * in > 16384)
  for (int64_t p = 0; p < planes; ++p)
    for (int h = 0; h < g.H; ++h)
      for (int w = 0; w < g.W; ++w)
        gx[p * in + h * g.W + w] = max_pool_grad_at(gy + p * out, argmax + p * out, g, h, w);
}

template <class T> void avg_pool2d_forward(const T* x, T* y, int64_t planes, const PoolGeom& g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
#pragma omp parallel for schedule(static) if (planes * out > 16384)
  for (int64_t p = 0; p < planes; ++p)
    for (int oh = 0; oh < g.Ho; ++oh)
      for (int ow = 0; ow < g.Wo; ++ow) y[p * out + oh * g.Wo + ow] = avg_pool_at(x + p * in, g, oh, ow);
}

template <class T> void avg_pool2d_backward(const T* gy, T* gx, int64_t planes, const PoolGeom& g) {
  const int64_t in = int64_t(g.H) * g.W, out = int64_t(g.Ho) * g.Wo;
#pragma omp parallel for schedule(static) if (planes * in > 16384)
  for (int64_t p = 0; p < planes; ++p)
    for (int h = 0; h < g.H; ++h)
      for (int w = 0; w < g.W; ++w) gx[p * in + h * g.W + w] = avg_pool_grad_at(gy + p * out, g, h, w);
}

template <class T> void global_avg_pool_forward(const T* x, T* y, int64_t planes, int64_t hw) {
#pragma omp parallel for schedule(static) if (planes * hw > 65536)
  for (int64_t p = 0; p < planes; ++p) {
    double s = 0;
    for (int64_t j = 0; j < hw; ++j) s += x[p * hw + j];
    y[p] = static_cast<T>(s / static_cast<double>(hw));
  }
}

template <class T> void global_avg_pool_backward(const T* gy, T* gx, int64_t planes, int64_t hw) {
#pragma omp parallel for schedule(static) if (planes * hw > 65536)
  for (int64_t p = 0; p < planes; ++p) {
    const T g = static_cast<T>(static_cast<double>(gy[p]) / static_cast<double>(hw));
    for (int64_t j = 0; j < hw; ++j) gx[p * hw + j] = g;
  }
}

#define BNAS_INSTANTIATE(T)                                                                       \
  template void max_pool2d_forward<T>(const T*, T*, int32_t*, int64_t, const PoolGeom&);          \
  template void max_pool2d_backward<T>(const T*, const int32_t*, T*, int64_t, const PoolGeom&);   \
  template void avg_pool2d_forward<T>(const T*, T*, int64_t, const PoolGeom&);                    \
  template void avg_pool2d_backward<T>(const T*, T*, int64_t, const PoolGeom&);                   \
  template void global_avg_pool_forward<T>(const T*, T*, int64_t, int64_t);                       \
  template void global_avg_pool_backward<T>(const T*, T*, int64_t, int64_t);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
