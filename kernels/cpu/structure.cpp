// Structure ops on the CPU: the reference for kernels/cuda/structure.cu. Each output element is
// written by one loop iteration (OpenMP over independent outputs), and the only reduction, the
// weights' gradient of weighted_sum, sums fixed-size chunks in a fixed order so results do not
// depend on the thread count.
#include "kernels/cpu/structure.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace bnas::kernels::cpu {

// Blocks of kBlock outputs stay in L1 while the inputs stream past, one vectorised pass per
// input; each element is still summed in the order i = 0..n-1 (as on the GPU).
template <class T> void weighted_sum_forward(const T* const* xs, int n, const T* w, T* y, int64_t numel) {
  constexpr int64_t kBlock = 2048;
  const int64_t blocks = (numel + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (numel > 65536)
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t j0 = b * kBlock, m = std::min(kBlock, numel - j0);
    T* yb = y + j0;
    const T w0 = w ? w[0] : T(1);
    const T* x0 = xs[0] + j0;
    for (int64_t j = 0; j < m; ++j) yb[j] = w0 * x0[j];
    for (int i = 1; i < n; ++i) {
      const T wi = w ? w[i] : T(1);
      const T* xi = xs[i] + j0;
      for (int64_t j = 0; j < m; ++j) yb[j] += wi * xi[j];
    }
  }
}

template <class T>
void weighted_sum_backward_inputs(const T* w, const int* which, T* const* gxs, int count, const T* gy, int64_t numel) {
  for (int k = 0; k < count; ++k) {
    const T wk = w[which[k]];
    T* gx = gxs[k];
#pragma omp parallel for schedule(static) if (numel > 65536)
    for (int64_t j = 0; j < numel; ++j) gx[j] = wk * gy[j];
  }
}

template <class T> void weighted_sum_backward_weights(const T* const* xs, int n, const T* gy, T* gw, int64_t numel) {
  constexpr int64_t kChunk = 4096;
  const int64_t chunks = (numel + kChunk - 1) / kChunk;
  std::vector<double> partial(static_cast<size_t>(chunks * n));
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t j0 = c * kChunk, j1 = std::min(numel, j0 + kChunk);
    for (int i = 0; i < n; ++i) {
      const T* xi = xs[i];
      double s = 0;
      // A fixed vectorised order per build: deterministic whatever the thread count.
#pragma omp simd reduction(+ : s)
      for (int64_t j = j0; j < j1; ++j) s += static_cast<double>(gy[j]) * static_cast<double>(xi[j]);
      partial[static_cast<size_t>(c * n + i)] = s;
    }
  }
  for (int i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t c = 0; c < chunks; ++c) s += partial[static_cast<size_t>(c * n + i)];
    gw[i] = static_cast<T>(s);
  }
}

template <class T>
void channel_gather(const ChannelBlock<const T>* blocks, int count, T* wide, int64_t wide_nstride, int64_t N,
                    int64_t inner) {
  for (int k = 0; k < count; ++k) {
    const ChannelBlock<const T>& b = blocks[k];
    const size_t bytes = static_cast<size_t>(b.channels * inner) * sizeof(T);
#pragma omp parallel for schedule(static) if (N * b.channels * inner > 65536)
    for (int64_t n = 0; n < N; ++n) std::memcpy(wide + n * wide_nstride + b.c0 * inner, b.ptr + n * b.nstride, bytes);
  }
}

template <class T>
void channel_scatter(const T* wide, int64_t wide_nstride, const ChannelBlock<T>* blocks, int count, int64_t N,
                     int64_t inner) {
  for (int k = 0; k < count; ++k) {
    const ChannelBlock<T>& b = blocks[k];
    const size_t bytes = static_cast<size_t>(b.channels * inner) * sizeof(T);
#pragma omp parallel for schedule(static) if (N * b.channels * inner > 65536)
    for (int64_t n = 0; n < N; ++n) std::memcpy(b.ptr + n * b.nstride, wide + n * wide_nstride + b.c0 * inner, bytes);
  }
}

template <class T>
void channel_shuffle(const T* x, int64_t x_nstride, T* y, int64_t N, int64_t C, int64_t inner, int64_t groups) {
  const int64_t per_group = C / groups;
#pragma omp parallel for collapse(2) schedule(static) if (N * C * inner > 65536)
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t c = 0; c < C; ++c) {  // output channel c = k * groups + g
      const int64_t k = c / groups, g = c % groups;
      std::memcpy(y + (n * C + c) * inner, x + n * x_nstride + (g * per_group + k) * inner,
                  static_cast<size_t>(inner) * sizeof(T));
    }
  }
}

template <class T>
void drop_path(const T* x, T* y, int64_t N, int64_t per_sample, uint64_t seed, uint64_t stream, uint64_t offset,
               double p, T scale) {
#pragma omp parallel for schedule(static) if (N * per_sample > 65536)
  for (int64_t n = 0; n < N; ++n) {
    const T f = drop_path_keep(seed, stream, offset, n, p) ? scale : T(0);
    const T* xs = x + n * per_sample;
    T* ys = y + n * per_sample;
    for (int64_t j = 0; j < per_sample; ++j) ys[j] = xs[j] * f;
  }
}

#define BNAS_INSTANTIATE(T)                                                                                  \
  template void weighted_sum_forward<T>(const T* const*, int, const T*, T*, int64_t);                        \
  template void weighted_sum_backward_inputs<T>(const T*, const int*, T* const*, int, const T*, int64_t);   \
  template void weighted_sum_backward_weights<T>(const T* const*, int, const T*, T*, int64_t);              \
  template void channel_gather<T>(const ChannelBlock<const T>*, int, T*, int64_t, int64_t, int64_t);         \
  template void channel_scatter<T>(const T*, int64_t, const ChannelBlock<T>*, int, int64_t, int64_t);        \
  template void channel_shuffle<T>(const T*, int64_t, T*, int64_t, int64_t, int64_t, int64_t);              \
  template void drop_path<T>(const T*, T*, int64_t, int64_t, uint64_t, uint64_t, uint64_t, double, T);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
