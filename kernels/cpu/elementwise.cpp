#include "kernels/cpu/elementwise.h"

#include "kernels/elementwise_math.h"

namespace bnas::kernels::cpu {

template <class T> void relu_forward(const T* x, T* y, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] = relu(x[i]);
}
template <class T> void relu_backward(const T* y, const T* gy, T* gx, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) gx[i] = relu_grad(y[i], gy[i]);
}
template <class T> void axpby(T a, const T* x, T b, const T* y, T* out, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) out[i] = kernels::axpby(a, x[i], b, y[i]);
}

template <class T> void add_scaled(const T* x, const T* coef, T alpha, T* y, int64_t n) {
  const T f = alpha * coef[0];
#pragma omp parallel for schedule(static) if (n > 65536)
  for (int64_t i = 0; i < n; ++i) y[i] += f * x[i];
}

#define BNAS_INSTANTIATE(T)                                             \
  template void relu_forward<T>(const T*, T*, int64_t);                 \
  template void relu_backward<T>(const T*, const T*, T*, int64_t);      \
  template void axpby<T>(T, const T*, T, const T*, T*, int64_t);        \
  template void add_scaled<T>(const T*, const T*, T, T*, int64_t);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
