#include "kernels/cpu/optim.h"

#include <cmath>
#include <cstring>

namespace bnas::kernels::cpu {

void advance_step(int32_t* step) { *step += 1; }

template <class T>
void sgd_step(const OptimChunk<T>* chunks, int64_t count, const T* lr, const int32_t* step, SgdHyper<T> h) {
  const T rate = *lr;
  const bool first = *step <= 1;
#pragma omp parallel for schedule(static) if (count > 4)
  for (int64_t c = 0; c < count; ++c) {
    const OptimChunk<T> k = chunks[c];
    for (int64_t i = 0; i < k.n; ++i)
      sgd_update(k.param[i], k.grad[i], k.state0 ? k.state0 + i : nullptr, rate, h, first);
  }
}

template <class T> void adam_prologue(int32_t* step, const T* lr, T* scalars, double beta1, double beta2) {
  *step += 1;
  adam_scalars(*step, *lr, beta1, beta2, scalars);
}

template <class T> void adam_step(const OptimChunk<T>* chunks, int64_t count, const T* scalars, AdamHyper<T> h) {
  const T step_size = scalars[0], bc2_sqrt = scalars[1];
#pragma omp parallel for schedule(static) if (count > 4)
  for (int64_t c = 0; c < count; ++c) {
    const OptimChunk<T> k = chunks[c];
    for (int64_t i = 0; i < k.n; ++i)
      adam_update(k.param[i], k.grad[i], k.state0[i], k.state1[i], step_size, bc2_sqrt, h);
  }
}

template <class T> void zero_grads(const OptimChunk<T>* chunks, int64_t count) {
  for (int64_t c = 0; c < count; ++c) std::memset(chunks[c].grad, 0, sizeof(T) * chunks[c].n);
}

template <class T>
void unroll(const OptimChunk<T>* chunks, int64_t count, UnrollMove move, const T* scalar, T alpha, SgdHyper<T> h) {
  const T s = unroll_scalar(move, scalar, alpha);
#pragma omp parallel for schedule(static) if (count > 4)
  for (int64_t c = 0; c < count; ++c)
    for (int64_t i = 0; i < chunks[c].n; ++i) unroll_element(move, chunks[c], i, s, h);
}

template <class T> void sum_squares(const NormChunk<T>* chunks, int64_t count, double* partials) {
#pragma omp parallel for schedule(static) if (count > 4)
  for (int64_t c = 0; c < count; ++c) {
    double s = 0;
    for (int64_t i = 0; i < chunks[c].n; ++i) {
      const double v = static_cast<double>(chunks[c].x[i]);
      s += v * v;
    }
    partials[c] = s;
  }
}

template <class T> void finish_norm(const double* partials, int64_t n, T* norm) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += partials[i];
  *norm = static_cast<T>(std::sqrt(s));
}

template <class T> void clip_scale(const NormChunk<T>* chunks, int64_t count, const T* norm, T max_norm) {
  const T coef = clip_coef(*norm, max_norm);
#pragma omp parallel for schedule(static) if (count > 4)
  for (int64_t c = 0; c < count; ++c)
    for (int64_t i = 0; i < chunks[c].n; ++i) chunks[c].x[i] *= coef;
}

#define BNAS_INSTANTIATE(T)                                                                         \
  template void sgd_step<T>(const OptimChunk<T>*, int64_t, const T*, const int32_t*, SgdHyper<T>);  \
  template void adam_prologue<T>(int32_t*, const T*, T*, double, double);                           \
  template void adam_step<T>(const OptimChunk<T>*, int64_t, const T*, AdamHyper<T>);                \
  template void zero_grads<T>(const OptimChunk<T>*, int64_t);                                       \
  template void unroll<T>(const OptimChunk<T>*, int64_t, UnrollMove, const T*, T, SgdHyper<T>);     \
  template void sum_squares<T>(const NormChunk<T>*, int64_t, double*);                              \
  template void finish_norm<T>(const double*, int64_t, T*);                                         \
  template void clip_scale<T>(const NormChunk<T>*, int64_t, const T*, T);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
