// Batch norm on the CPU: one channel per loop iteration (OpenMP over channels), so every
// reduction runs on one thread in a fixed order and results do not depend on the thread count.
#include "kernels/cpu/norm.h"

#include "kernels/norm_math.h"

namespace bnas::kernels::cpu {

template <class T>
void batch_norm_stats(const T* x, int64_t N, int64_t C, int64_t HW, double eps, double momentum,
                      T* mean, T* invstd, T* running_mean, T* running_var) {
  const double m = static_cast<double>(N * HW);
#pragma omp parallel for schedule(static) if (N * C * HW > 65536)
  for (int64_t c = 0; c < C; ++c) {
    // Two passes: the exact mean first, then sums shifted by it.
    double s0 = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = x + (n * C + c) * HW;
      for (int64_t j = 0; j < HW; ++j) s0 += p[j];
    }
    const double shift = s0 / m;
    double s1 = 0, s2 = 0;
    for (int64_t n = 0; n < N; ++n) {
      const T* p = x + (n * C + c) * HW;
      for (int64_t j = 0; j < HW; ++j) {
        const double d = static_cast<double>(p[j]) - shift;
        s1 += d;
        s2 += d * d;
      }
    }
    const BnStats st = bn_finalize(shift, s1, s2, m);
    mean[c] = static_cast<T>(st.mean);
    invstd[c] = static_cast<T>(bn_invstd(st.var, eps));
    if (running_mean) running_mean[c] = static_cast<T>(bn_running_update(running_mean[c], st.mean, momentum));
    if (running_var)
      running_var[c] = static_cast<T>(bn_running_update(running_var[c], bn_unbiased(st.var, m), momentum));
  }
}

template <class T>
void batch_norm_eval_stats(const T* running_mean, const T* running_var, int64_t C, double eps, T* mean, T* invstd) {
  for (int64_t c = 0; c < C; ++c) {
    mean[c] = running_mean[c];
    invstd[c] = static_cast<T>(bn_invstd(running_var[c], eps));
  }
}

template <class T>
void batch_norm_apply(const T* x, const T* mean, const T* invstd, const T* weight, const T* bias, T* y,
                      int64_t N, int64_t C, int64_t HW) {
#pragma omp parallel for schedule(static) if (N * C * HW > 65536)
  for (int64_t nc = 0; nc < N * C; ++nc) {
    const int64_t c = nc % C;
    const T mu = mean[c], a = bn_scale(invstd[c], weight, c);
    const T* xp = x + nc * HW;
    T* yp = y + nc * HW;
    for (int64_t j = 0; j < HW; ++j) yp[j] = bn_apply(xp[j], mu, a, bias, c);
  }
}

template <class T>
void batch_norm_backward(const T* x, const T* gy, const T* mean, const T* invstd, const T* weight,
                         int64_t N, int64_t C, int64_t HW, bool training, T* gx, T* gweight, T* gbias) {
  const double m = static_cast<double>(N * HW);
  const bool need_sums = gweight || gbias || (gx && training);
#pragma omp parallel for schedule(static) if (N * C * HW > 65536)
  for (int64_t c = 0; c < C; ++c) {
    const T mu = mean[c], is = invstd[c], a = bn_scale(is, weight, c);
    double sg = 0, sgx = 0;  // sum(gy), sum(gy * (x - mean))
    if (need_sums) {
      for (int64_t n = 0; n < N; ++n) {
        const int64_t o = (n * C + c) * HW;
        for (int64_t j = 0; j < HW; ++j) {
          const double g = gy[o + j];
          sg += g;
          sgx += g * static_cast<double>(x[o + j] - mu);
        }
      }
    }
    if (gweight) gweight[c] = static_cast<T>(sgx * static_cast<double>(is));
    if (gbias) gbias[c] = static_cast<T>(sg);
    if (!gx) continue;
    const T k1 = static_cast<T>(sg / m);
    const T k3 = static_cast<T>(static_cast<double>(is) * static_cast<double>(is) * sgx / m);
    for (int64_t n = 0; n < N; ++n) {
      const int64_t o = (n * C + c) * HW;
      for (int64_t j = 0; j < HW; ++j) gx[o + j] = bn_backward_elem(gy[o + j], x[o + j], mu, a, k1, k3, training);
    }
  }
}

#define BNAS_INSTANTIATE(T)                                                                            \
  template void batch_norm_stats<T>(const T*, int64_t, int64_t, int64_t, double, double, T*, T*, T*, T*); \
  template void batch_norm_eval_stats<T>(const T*, const T*, int64_t, double, T*, T*);                 \
  template void batch_norm_apply<T>(const T*, const T*, const T*, const T*, const T*, T*, int64_t,     \
                                    int64_t, int64_t);                                                 \
  template void batch_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, int64_t,      \
                                       int64_t, int64_t, bool, T*, T*, T*);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
