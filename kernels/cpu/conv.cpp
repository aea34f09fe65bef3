// CPU convolution. Two paths:
//  * depthwise (groups == cin == cout): direct loops, one (sample, channel) plane per iteration;
//  * everything else: im2col + GEMM (OpenBLAS). To give BLAS matrices big enough to thread well
//    (the search network's late cells are 8 x 8), a chunk of B samples is unfolded side by side
//    into one column matrix, col: (cin/g * kh * kw) x (B * ho * wo), so each group is a single
//    GEMM per chunk; the result is scattered into NCHW order afterwards. 1 x 1 stride-1
//    unpadded convolutions over large planes skip im2col and multiply x in place, sample by
//    sample.
// Determinism: the chunking depends on the shape only, every parallel loop writes disjoint
// outputs, and reductions over samples (weight gradients) run in a fixed order, so results do
// not depend on the number of threads. BLAS is called from the calling thread only (Debian's
// OpenBLAS is the pthread build, which threads internally and must not be nested in OpenMP).
#include "kernels/cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace bnas::kernels::cpu {
namespace {

constexpr int64_t kColBudget = int64_t(1) << 22;  // elements per scratch matrix and chunk
constexpr int64_t kDirectPlane = 256;             // 1x1 convs over >= this many pixels: no im2col
constexpr int64_t kParallelWork = 1 << 14;        // below this, loops stay on one thread

// Scratch matrices reused across calls (per thread and type), so steady-state steps allocate nothing.
template <class T> T* scratch(int slot, int64_t n) {
  thread_local std::vector<T> bufs[2];
  std::vector<T>& b = bufs[slot];
  if (static_cast<int64_t>(b.size()) < n) b.resize(static_cast<size_t>(n));
  return b.data();
}

bool is_direct_1x1(const ConvShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride == 1 && s.pad == 0 && s.ho * s.wo >= kDirectPlane;
}

// Samples per chunk: 1 on the direct path, else as many as fit the scratch budget.
int64_t chunk_samples(const ConvShape& s) {
  if (is_direct_1x1(s)) return 1;
  const int64_t per_sample = s.ho * s.wo * std::max(s.cin_g() * s.kh * s.kw, s.cout_g());
  return std::max<int64_t>(1, std::min<int64_t>(s.n, kColBudget / std::max<int64_t>(1, per_sample)));
}

// col[(c * kh + i) * kw + j][b * ho * wo + oh * wo + ow] = x[n0 + b][g * cin_g + c][ih][iw] (0 outside).
template <class T> void im2col(const ConvShape& s, const T* x, int64_t g, int64_t n0, int64_t nb, T* col) {
  const int64_t cg = s.cin_g(), plane = s.ho * s.wo, ld = nb * plane;
#pragma omp parallel for collapse(2) schedule(static) if (nb * cg * plane * s.kh * s.kw > kParallelWork)
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t c = 0; c < cg; ++c) {
      const T* xp = x + (n0 + b) * s.x_batch_stride + (g * cg + c) * s.h * s.w;
      for (int64_t i = 0; i < s.kh; ++i) {
        for (int64_t j = 0; j < s.kw; ++j) {
          T* dst = col + ((c * s.kh + i) * s.kw + j) * ld + b * plane;
          for (int64_t oh = 0; oh < s.ho; ++oh) {
            const int64_t ih = oh * s.stride - s.pad + i * s.dilation;
            T* d = dst + oh * s.wo;
            if (ih < 0 || ih >= s.h) {
              std::fill(d, d + s.wo, T(0));
              continue;
            }
            const T* row = xp + ih * s.w;
            for (int64_t ow = 0; ow < s.wo; ++ow) {
              const int64_t iw = ow * s.stride - s.pad + j * s.dilation;
              d[ow] = (iw >= 0 && iw < s.w) ? row[iw] : T(0);
            }
          }
        }
      }
    }
  }
}

// The adjoint of im2col: gx[n0 + b][g * cin_g + c] = sum of the col entries that read it
// (gx contiguous). Each (b, c) plane is zeroed, then accumulated in a fixed order.
template <class T> void col2im(const ConvShape& s, const T* col, int64_t g, int64_t n0, int64_t nb, T* gx) {
  const int64_t cg = s.cin_g(), plane = s.ho * s.wo, ld = nb * plane;
#pragma omp parallel for collapse(2) schedule(static) if (nb * cg * plane * s.kh * s.kw > kParallelWork)
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t c = 0; c < cg; ++c) {
      T* gp = gx + ((n0 + b) * s.cin + g * cg + c) * s.h * s.w;
      std::fill(gp, gp + s.h * s.w, T(0));
      for (int64_t i = 0; i < s.kh; ++i) {
        for (int64_t j = 0; j < s.kw; ++j) {
          const T* src = col + ((c * s.kh + i) * s.kw + j) * ld + b * plane;
          for (int64_t oh = 0; oh < s.ho; ++oh) {
            const int64_t ih = oh * s.stride - s.pad + i * s.dilation;
            if (ih < 0 || ih >= s.h) continue;
            T* row = gp + ih * s.w;
            const T* sr = src + oh * s.wo;
            for (int64_t ow = 0; ow < s.wo; ++ow) {
              const int64_t iw = ow * s.stride - s.pad + j * s.dilation;
              if (iw >= 0 && iw < s.w) row[iw] += sr[ow];
            }
          }
        }
      }
    }
  }
}

// Moves group g's output channels of samples [n0, n0 + nb) between NCHW (y: n x cout x plane)
// and the chunk matrix m: cout_g x (nb * plane). to_matrix selects the direction.
template <class T> void pack_rows(const ConvShape& s, int64_t g, int64_t n0, int64_t nb, const T* y, T* m) {
  const int64_t og = s.cout_g(), plane = s.ho * s.wo, ld = nb * plane;
#pragma omp parallel for collapse(2) schedule(static) if (nb * og * plane > kParallelWork)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t o = 0; o < og; ++o)
      std::memcpy(m + o * ld + b * plane, y + ((n0 + b) * s.cout + g * og + o) * plane, sizeof(T) * plane);
}
template <class T> void unpack_rows(const ConvShape& s, int64_t g, int64_t n0, int64_t nb, const T* m, T* y) {
  const int64_t og = s.cout_g(), plane = s.ho * s.wo, ld = nb * plane;
#pragma omp parallel for collapse(2) schedule(static) if (nb * og * plane > kParallelWork)
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t o = 0; o < og; ++o)
      std::memcpy(y + ((n0 + b) * s.cout + g * og + o) * plane, m + o * ld + b * plane, sizeof(T) * plane);
}

// ---- depthwise (groups == cin == cout): direct loops -----------------------------------------
template <class T> void depthwise_forward(const ConvShape& s, const T* x, const T* w, T* y) {
  const int64_t C = s.cin, plane = s.ho * s.wo;
#pragma omp parallel for collapse(2) schedule(static) if (s.n * C * plane * s.kh * s.kw > kParallelWork)
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const T* xp = x + n * s.x_batch_stride + c * s.h * s.w;
      const T* wp = w + c * s.kh * s.kw;
      T* yp = y + (n * C + c) * plane;
      for (int64_t oh = 0; oh < s.ho; ++oh) {
        for (int64_t ow = 0; ow < s.wo; ++ow) {
          T acc = 0;
          for (int64_t i = 0; i < s.kh; ++i) {
            const int64_t ih = oh * s.stride - s.pad + i * s.dilation;
            if (ih < 0 || ih >= s.h) continue;
            for (int64_t j = 0; j < s.kw; ++j) {
              const int64_t iw = ow * s.stride - s.pad + j * s.dilation;
              if (iw >= 0 && iw < s.w) acc += xp[ih * s.w + iw] * wp[i * s.kw + j];
            }
          }
          yp[oh * s.wo + ow] = acc;
        }
      }
    }
  }
}

template <class T> void depthwise_backward_input(const ConvShape& s, const T* w, const T* gy, T* gx) {
  const int64_t C = s.cin, plane = s.ho * s.wo;
#pragma omp parallel for collapse(2) schedule(static) if (s.n * C * plane * s.kh * s.kw > kParallelWork)
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      const T* wp = w + c * s.kh * s.kw;
      const T* gp = gy + (n * C + c) * plane;
      T* gxp = gx + (n * C + c) * s.h * s.w;
      std::fill(gxp, gxp + s.h * s.w, T(0));
      for (int64_t oh = 0; oh < s.ho; ++oh) {
        for (int64_t ow = 0; ow < s.wo; ++ow) {
          const T g = gp[oh * s.wo + ow];
          for (int64_t i = 0; i < s.kh; ++i) {
            const int64_t ih = oh * s.stride - s.pad + i * s.dilation;
            if (ih < 0 || ih >= s.h) continue;
            for (int64_t j = 0; j < s.kw; ++j) {
              const int64_t iw = ow * s.stride - s.pad + j * s.dilation;
              if (iw >= 0 && iw < s.w) gxp[ih * s.w + iw] += g * wp[i * s.kw + j];
            }
          }
        }
      }
    }
  }
}

template <class T> void depthwise_backward_weight(const ConvShape& s, const T* x, const T* gy, T* gw) {
  const int64_t C = s.cin, plane = s.ho * s.wo, taps = s.kh * s.kw;
#pragma omp parallel for schedule(static) if (s.n * C * plane * taps > kParallelWork)
  for (int64_t ct = 0; ct < C * taps; ++ct) {
    const int64_t c = ct / taps, i = (ct % taps) / s.kw, j = ct % s.kw;
    T acc = 0;
    for (int64_t n = 0; n < s.n; ++n) {
      const T* xp = x + n * s.x_batch_stride + c * s.h * s.w;
      const T* gp = gy + (n * C + c) * plane;
      for (int64_t oh = 0; oh < s.ho; ++oh) {
        const int64_t ih = oh * s.stride - s.pad + i * s.dilation;
        if (ih < 0 || ih >= s.h) continue;
        for (int64_t ow = 0; ow < s.wo; ++ow) {
          const int64_t iw = ow * s.stride - s.pad + j * s.dilation;
          if (iw >= 0 && iw < s.w) acc += gp[oh * s.wo + ow] * xp[ih * s.w + iw];
        }
      }
    }
    gw[ct] = acc;
  }
}

}  // namespace

template <class T> void conv2d_forward(const ConvShape& s, const T* x, const T* w, T* y) {
  if (s.depthwise()) return depthwise_forward(s, x, w, y);
  const int64_t kg = s.cin_g() * s.kh * s.kw, og = s.cout_g(), plane = s.ho * s.wo;
  const bool direct = is_direct_1x1(s);
  const int64_t B = chunk_samples(s);
  for (int64_t n0 = 0; n0 < s.n; n0 += B) {
    const int64_t nb = std::min(B, s.n - n0), ld = nb * plane;
    for (int64_t g = 0; g < s.groups; ++g) {
      const T* col = x + n0 * s.x_batch_stride + g * kg * plane;  // direct: x's rows are the columns
      if (!direct) {
        T* c = scratch<T>(0, kg * ld);
        im2col(s, x, g, n0, nb, c);
        col = c;
      }
      const T* wg = w + g * og * kg;
      if (nb == 1) {  // the chunk matrix is y's own layout
        gemm<T>(false, false, og, ld, kg, T(1), wg, kg, col, ld, T(0), y + (n0 * s.cout + g * og) * plane, ld);
      } else {
        T* m = scratch<T>(1, og * ld);
        gemm<T>(false, false, og, ld, kg, T(1), wg, kg, col, ld, T(0), m, ld);
        unpack_rows(s, g, n0, nb, m, y);
      }
    }
  }
}

template <class T>
void conv2d_backward(const ConvShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw) {
  if (!gx && !gw) return;
  if (gw && s.n == 0) std::fill(gw, gw + s.cout * s.cin_g() * s.kh * s.kw, T(0));
  if (s.depthwise()) {
    if (gx) depthwise_backward_input(s, w, gy, gx);
    if (gw) depthwise_backward_weight(s, x, gy, gw);
    return;
  }
  const int64_t kg = s.cin_g() * s.kh * s.kw, og = s.cout_g(), plane = s.ho * s.wo;
  const bool direct = is_direct_1x1(s);
  const int64_t B = chunk_samples(s);
  for (int64_t n0 = 0; n0 < s.n; n0 += B) {
    const int64_t nb = std::min(B, s.n - n0), ld = nb * plane;
    for (int64_t g = 0; g < s.groups; ++g) {
      // gy's rows of this group and chunk as a cout_g x ld matrix.
      const T* gm = gy + (n0 * s.cout + g * og) * plane;
      if (nb > 1) {
        T* m = scratch<T>(1, og * ld);
        pack_rows(s, g, n0, nb, gy, m);
        gm = m;
      }
      if (gw) {  // gw_g (+)= gm col^T, summed over chunks in order
        const T* col = x + n0 * s.x_batch_stride + g * kg * plane;
        if (!direct) {
          T* c = scratch<T>(0, kg * ld);
          im2col(s, x, g, n0, nb, c);
          col = c;
        }
        gemm<T>(false, true, og, kg, ld, T(1), gm, ld, col, ld, n0 == 0 ? T(0) : T(1), gw + g * og * kg, kg);
      }
      if (gx) {  // col = w_g^T gm, folded back by col2im
        const T* wg = w + g * og * kg;
        if (direct) {
          gemm<T>(true, false, kg, ld, og, T(1), wg, kg, gm, ld, T(0), gx + (n0 * s.cin + g * kg) * plane, ld);
        } else {
          T* c = scratch<T>(0, kg * ld);
          gemm<T>(true, false, kg, ld, og, T(1), wg, kg, gm, ld, T(0), c, ld);
          col2im(s, c, g, n0, nb, gx);
        }
      }
    }
  }
}

#define BNAS_INSTANTIATE(T)                                                        \
  template void conv2d_forward<T>(const ConvShape&, const T*, const T*, T*);       \
  template void conv2d_backward<T>(const ConvShape&, const T*, const T*, const T*, T*, T*);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
