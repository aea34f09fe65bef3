// Softmax, log_softmax, cross-entropy and accuracy counting on the CPU: the reference for
// kernels/cuda/softmax.cu. Rows are independent (OpenMP over rows); the batch mean of the
// loss is one sequential sum, so results do not depend on the thread count.
#include "kernels/cpu/softmax.h"

#include <cmath>
#include <vector>

#include "kernels/softmax_math.h"

namespace bnas::kernels::cpu {
namespace {

// log sum_k exp(x_k) of one row, max-subtracted; also returns the max.
template <class T> T log_sum_exp(const T* x, int64_t K, T* max_out) {
  T m = x[0];
  for (int64_t k = 1; k < K; ++k) m = x[k] > m ? x[k] : m;
  T s = 0;
  for (int64_t k = 0; k < K; ++k) s += std::exp(x[k] - m);
  *max_out = m;
  return std::log(s);
}

}  // namespace

template <class T> void softmax_forward(const T* x, T* y, int64_t rows, int64_t K, bool log) {
#pragma omp parallel for schedule(static) if (rows * K > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * K;
    T* yr = y + r * K;
    T m = xr[0];
    for (int64_t k = 1; k < K; ++k) m = xr[k] > m ? xr[k] : m;
    T s = 0;
    for (int64_t k = 0; k < K; ++k) s += std::exp(xr[k] - m);
    if (log) {
      const T ls = std::log(s);
      for (int64_t k = 0; k < K; ++k) yr[k] = xr[k] - m - ls;
    } else {
      const T inv = T(1) / s;
      for (int64_t k = 0; k < K; ++k) yr[k] = std::exp(xr[k] - m) * inv;
    }
  }
}

template <class T> void softmax_backward(const T* y, const T* gy, T* gx, int64_t rows, int64_t K, bool log) {
#pragma omp parallel for schedule(static) if (rows * K > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const T* yr = y + r * K;
    const T* gr = gy + r * K;
    T* xr = gx + r * K;
    T acc = 0;
    if (log) {
      for (int64_t k = 0; k < K; ++k) acc += gr[k];
      for (int64_t k = 0; k < K; ++k) xr[k] = log_softmax_grad(std::exp(yr[k]), gr[k], acc);
    } else {
      for (int64_t k = 0; k < K; ++k) acc += gr[k] * yr[k];
      for (int64_t k = 0; k < K; ++k) xr[k] = softmax_grad(yr[k], gr[k], acc);
    }
  }
}

template <class T>
void cross_entropy_forward(const T* x, const int32_t* labels, T* logp, T* loss, int64_t rows, int64_t K, T s) {
  std::vector<T> row_loss(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows * K > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * K;
    T* lr = logp + r * K;
    T m;
    const T ls = log_sum_exp(xr, K, &m);
    T sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      lr[k] = xr[k] - m - ls;
      sum += lr[k];
    }
    const int32_t label = labels[r];
    row_loss[static_cast<size_t>(r)] = label_valid(label, K) ? smoothed_nll(lr[label], sum, K, s) : T(0);
  }
  T total = 0;
  for (int64_t r = 0; r < rows; ++r) total += row_loss[static_cast<size_t>(r)];
  loss[0] = rows > 0 ? total / static_cast<T>(rows) : T(0);
}

template <class T>
void cross_entropy_backward(const T* logp, const int32_t* labels, const T* gloss, T* gx, int64_t rows, int64_t K,
                            T s) {
  const T g = rows > 0 ? gloss[0] / static_cast<T>(rows) : T(0);
#pragma omp parallel for schedule(static) if (rows * K > 65536)
  for (int64_t r = 0; r < rows; ++r) {
    const T* lr = logp + r * K;
    T* xr = gx + r * K;
    const int32_t label = labels[r];
    const bool valid = label_valid(label, K);
    for (int64_t k = 0; k < K; ++k)
      xr[k] = valid ? (std::exp(lr[k]) - smoothed_target<T>(k, label, K, s)) * g : T(0);
  }
}

template <class T> void count_correct(const T* x, const int32_t* labels, float* out, int64_t rows, int64_t K) {
  int64_t correct = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * K;
    int64_t best = 0;
    for (int64_t k = 1; k < K; ++k)
      if (xr[k] > xr[best]) best = k;
    correct += labels[r] == best ? 1 : 0;
  }
  out[0] = static_cast<float>(correct);
}

#define BNAS_INSTANTIATE(T)                                                                              \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, bool);                                \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, bool);                     \
  template void cross_entropy_forward<T>(const T*, const int32_t*, T*, T*, int64_t, int64_t, T);         \
  template void cross_entropy_backward<T>(const T*, const int32_t*, const T*, T*, int64_t, int64_t, T);  \
  template void count_correct<T>(const T*, const int32_t*, float*, int64_t, int64_t);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
