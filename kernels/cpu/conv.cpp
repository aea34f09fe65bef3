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

// The output positions o in [0, out) whose input position o * stride + offset lies in [0, in),
// as [*lo, *hi) (offset = tap * dilation - pad). Hoisting the bounds out of the inner loops
// keeps those loops branch-free.
inline void valid_range(int64_t in, int64_t out, int64_t stride, int64_t offset, int64_t* lo, int64_t* hi) {
  *lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  *hi = in - 1 - offset < 0 ? 0 : std::min(out, (in - 1 - offset) / stride + 1);
  if (*lo > *hi) *lo = *hi;
}

// col[(c * kh + i) * kw + j][b * ho * wo + oh * wo + ow] = x[n0 + b][g * cin_g + c][ih][iw] (0 outside).
template <class T> void im2col(const ConvShape& s, const T* x, int64_t g, int64_t n0, int64_t nb, T* col) {
  const int64_t cg = s.cin_g(), plane = s.ho * s.wo, ld = nb * plane;
#pragma omp parallel for collapse(2) schedule(static) if (nb * cg * plane * s.kh * s.kw > kParallelWork)
  for (int64_t b = 0; b < nb; ++b) {
    for (int64_t c = 0; c < cg; ++c) {
      const T* xp = x + (n0 + b) * s.x_batch_stride + (g * cg + c) * s.h * s.w;
      for (int64_t i = 0; i < s.kh; ++i) {
        int64_t oh_lo, oh_hi;
        valid_range(s.h, s.ho, s.stride, i * s.dilation - s.pad, &oh_lo, &oh_hi);
        for (int64_t j = 0; j < s.kw; ++j) {
          const int64_t off = j * s.dilation - s.pad;
          int64_t lo, hi;
          valid_range(s.w, s.wo, s.stride, off, &lo, &hi);
          T* dst = col + ((c * s.kh + i) * s.kw + j) * ld + b * plane;
          std::fill(dst, dst + oh_lo * s.wo, T(0));
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
            const T* row = xp + (oh * s.stride - s.pad + i * s.dilation) * s.w + off;
            T* d = dst + oh * s.wo;
            std::fill(d, d + lo, T(0));
            if (s.stride == 1) {
              std::copy(row + lo, row + hi, d + lo);
            } else {
              for (int64_t ow = lo; ow < hi; ++ow) d[ow] = row[ow * s.stride];
            }
            std::fill(d + hi, d + s.wo, T(0));
          }
          std::fill(dst + oh_hi * s.wo, dst + plane, T(0));
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
        int64_t oh_lo, oh_hi;
        valid_range(s.h, s.ho, s.stride, i * s.dilation - s.pad, &oh_lo, &oh_hi);
        for (int64_t j = 0; j < s.kw; ++j) {
          const int64_t off = j * s.dilation - s.pad;
          int64_t lo, hi;
          valid_range(s.w, s.wo, s.stride, off, &lo, &hi);
          const T* src = col + ((c * s.kh + i) * s.kw + j) * ld + b * plane;
          for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
            T* row = gp + (oh * s.stride - s.pad + i * s.dilation) * s.w + off;
            const T* sr = src + oh * s.wo;
            for (int64_t ow = lo; ow < hi; ++ow) row[ow * s.stride] += sr[ow];
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
// Each (sample, channel) plane is copied into a zero-padded scratch plane, (h + 2p) x (w + 2p),
// so the tap loops need no bounds checks; every output sums its taps in (i, j) order.
template <class T> void pad_plane(const ConvShape& s, const T* src, T* dst) {
  const int64_t pw = s.w + 2 * s.pad;
  std::fill(dst, dst + (s.h + 2 * s.pad) * pw, T(0));
  for (int64_t ih = 0; ih < s.h; ++ih) std::copy(src + ih * s.w, src + (ih + 1) * s.w, dst + (ih + s.pad) * pw + s.pad);
}

template <class T> void depthwise_forward(const ConvShape& s, const T* x, const T* w, T* y) {
  const int64_t C = s.cin, plane = s.ho * s.wo, pw = s.w + 2 * s.pad, st = s.stride, d = s.dilation;
#pragma omp parallel for collapse(2) schedule(static) if (s.n * C * plane * s.kh * s.kw > kParallelWork)
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      T* xpad = scratch<T>(0, (s.h + 2 * s.pad) * pw);
      pad_plane(s, x + n * s.x_batch_stride + c * s.h * s.w, xpad);
      const T* wp = w + c * s.kh * s.kw;
      T* yp = y + (n * C + c) * plane;
      for (int64_t oh = 0; oh < s.ho; ++oh) {
        T* __restrict yr = yp + oh * s.wo;
        std::fill(yr, yr + s.wo, T(0));
        for (int64_t i = 0; i < s.kh; ++i) {
          for (int64_t j = 0; j < s.kw; ++j) {
            const T* __restrict xr = xpad + (oh * st + i * d) * pw + j * d;
            const T wv = wp[i * s.kw + j];
            if (st == 1) {
              for (int64_t ow = 0; ow < s.wo; ++ow) yr[ow] += xr[ow] * wv;
            } else {
              for (int64_t ow = 0; ow < s.wo; ++ow) yr[ow] += xr[ow * st] * wv;
            }
          }
        }
      }
    }
  }
}

template <class T> void depthwise_backward_input(const ConvShape& s, const T* w, const T* gy, T* gx) {
  const int64_t C = s.cin, plane = s.ho * s.wo, pw = s.w + 2 * s.pad, st = s.stride, d = s.dilation;
#pragma omp parallel for collapse(2) schedule(static) if (s.n * C * plane * s.kh * s.kw > kParallelWork)
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t c = 0; c < C; ++c) {
      T* gpad = scratch<T>(0, (s.h + 2 * s.pad) * pw);
      std::fill(gpad, gpad + (s.h + 2 * s.pad) * pw, T(0));
      const T* wp = w + c * s.kh * s.kw;
      const T* gp = gy + (n * C + c) * plane;
      for (int64_t oh = 0; oh < s.ho; ++oh) {
        const T* __restrict gr = gp + oh * s.wo;
        for (int64_t i = 0; i < s.kh; ++i) {
          for (int64_t j = 0; j < s.kw; ++j) {
            T* __restrict xr = gpad + (oh * st + i * d) * pw + j * d;
            const T wv = wp[i * s.kw + j];
            if (st == 1) {
              for (int64_t ow = 0; ow < s.wo; ++ow) xr[ow] += gr[ow] * wv;
            } else {
              for (int64_t ow = 0; ow < s.wo; ++ow) xr[ow * st] += gr[ow] * wv;
            }
          }
        }
      }
      T* gxp = gx + (n * C + c) * s.h * s.w;
      for (int64_t ih = 0; ih < s.h; ++ih)
        std::copy(gpad + (ih + s.pad) * pw + s.pad, gpad + (ih + s.pad) * pw + s.pad + s.w, gxp + ih * s.w);
    }
  }
}

// One channel per iteration. Each tap keeps one partial sum per output column (a vectorisable
// loop over samples and rows), added up in column order at the end: a fixed order, whatever
// the thread count.
template <class T> void depthwise_backward_weight(const ConvShape& s, const T* x, const T* gy, T* gw) {
  const int64_t C = s.cin, plane = s.ho * s.wo, taps = s.kh * s.kw, pw = s.w + 2 * s.pad;
  const int64_t st = s.stride, d = s.dilation;
#pragma omp parallel for schedule(static) if (s.n * C * plane * taps > kParallelWork)
  for (int64_t c = 0; c < C; ++c) {
    T* xpad = scratch<T>(0, (s.h + 2 * s.pad) * pw);
    T* part = scratch<T>(1, taps * s.wo);
    std::fill(part, part + taps * s.wo, T(0));
    for (int64_t n = 0; n < s.n; ++n) {
      pad_plane(s, x + n * s.x_batch_stride + c * s.h * s.w, xpad);
      const T* gp = gy + (n * C + c) * plane;
      for (int64_t i = 0; i < s.kh; ++i) {
        for (int64_t j = 0; j < s.kw; ++j) {
          T* __restrict pr = part + (i * s.kw + j) * s.wo;
          for (int64_t oh = 0; oh < s.ho; ++oh) {
            const T* __restrict xr = xpad + (oh * st + i * d) * pw + j * d;
            const T* __restrict gr = gp + oh * s.wo;
            if (st == 1) {
              for (int64_t ow = 0; ow < s.wo; ++ow) pr[ow] += gr[ow] * xr[ow];
            } else {
              for (int64_t ow = 0; ow < s.wo; ++ow) pr[ow] += gr[ow] * xr[ow * st];
            }
          }
        }
      }
    }
    for (int64_t t = 0; t < taps; ++t) {
      T a = 0;
      for (int64_t ow = 0; ow < s.wo; ++ow) a += part[t * s.wo + ow];
      gw[c * taps + t] = a;
    }
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
