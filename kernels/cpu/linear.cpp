// Linear layer on the CPU: the products through OpenBLAS, the bias with the shared per-column
// math of kernels/linear_math.h (fixed summation order, hence deterministic).
#include "kernels/cpu/linear.h"

#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/linear_math.h"

namespace bnas::kernels::cpu {

template <class T> void linear_forward(const T* x, const T* w, const T* b, T* y, int64_t n, int64_t in, int64_t out) {
  if (n == 0 || out == 0) return;
  if (in == 0) {
    std::fill(y, y + n * out, T(0));
  } else {
    gemm<T>(false, true, n, out, in, T(1), x, in, w, in, T(0), y, out);
  }
  if (!b) return;
#pragma omp parallel for schedule(static) if (n * out > 65536)
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < out; ++j) y[i * out + j] += b[j];
}

template <class T>
void linear_backward(const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb, int64_t n, int64_t in, int64_t out) {
  if (gx && n * in > 0) {
    if (out == 0) std::fill(gx, gx + n * in, T(0));
    else gemm<T>(false, false, n, in, out, T(1), gy, out, w, in, T(0), gx, in);
  }
  if (gw && out * in > 0) {
    if (n == 0) std::fill(gw, gw + out * in, T(0));
    else gemm<T>(true, false, out, in, n, T(1), gy, out, x, in, T(0), gw, in);
  }
  if (gb) {
#pragma omp parallel for schedule(static) if (n * out > 65536)
    for (int64_t j = 0; j < out; ++j) gb[j] = column_sum(gy, n, out, j);
  }
}

#define BNAS_INSTANTIATE(T)                                                                       \
  template void linear_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t); \
  template void linear_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, int64_t);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
