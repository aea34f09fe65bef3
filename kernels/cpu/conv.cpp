// CPU convolution. Two paths:
//  * depthwise (groups == cin == cout): direct loops over zero-padded planes;
//  * everything else: im2col + GEMM. Work is split into independent items, each a
//    single-threaded BLAS call on one thread of an OpenMP loop (gemm.h explains why BLAS does not
//    thread itself): the forward pass into (sample, group, block of output rows), the input
//    gradient into (sample, group) planes (im2col's adjoint scatters across row blocks), and the
//    weight gradient into (fixed block of samples, group) partial sums added up in block order.
//    1 x 1 stride-1 unpadded convolutions need no im2col: x's rows are the GEMM's columns.
// Determinism: every output element is produced by one item whose extent depends on the shape
// only, so results do not depend on the number of threads (checked bit for bit).
#include "kernels/cpu/conv.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm.h"

namespace bnas::kernels::cpu {
namespace {

constexpr int64_t kBlockPixels = 1024;   // output pixels per forward GEMM item (whole rows)
constexpr int64_t kSampleBlocks = 16;    // weight-gradient partial sums (fixed, not per thread)
constexpr int64_t kParallelWork = 1 << 15;  // multiply-adds below which loops stay on one thread

// Scratch buffers reused across calls (per thread, slot and type): steady-state steps allocate nothing.
template <class T> T* scratch(int slot, int64_t n) {
  thread_local std::vector<T> bufs[2];
  std::vector<T>& b = bufs[slot];
  if (static_cast<int64_t>(b.size()) < n) b.resize(static_cast<size_t>(n));
  return b.data();
}

bool is_direct_1x1(const ConvShape& s) { return s.kh == 1 && s.kw == 1 && s.stride == 1 && s.pad == 0; }

// The output positions o in [0, out) whose input position o * stride + offset lies in [0, in),
// as [*lo, *hi) (offset = tap * dilation - pad). Hoisting the bounds out of the inner loops
// keeps those loops branch-free.
inline void valid_range(int64_t in, int64_t out, int64_t stride, int64_t offset, int64_t* lo, int64_t* hi) {
  *lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  *hi = in - 1 - offset < 0 ? 0 : std::min(out, (in - 1 - offset) / stride + 1);
  if (*lo > *hi) *lo = *hi;
}

// im2col of output rows [oh0, oh1) of one (sample, group): xg points at the group's first input
// channel (channels h * w apart); col: (cin_g * kh * kw) x ((oh1 - oh0) * wo), row (c, i, j)
// holding x[c][oh * stride - pad + i * dilation][ow * stride - pad + j * dilation] (0 outside).
template <class T> void im2col_rows(const ConvShape& s, const T* xg, int64_t oh0, int64_t oh1, T* col) {
  const int64_t ld = (oh1 - oh0) * s.wo;
  for (int64_t c = 0; c < s.cin_g(); ++c) {
    const T* xp = xg + c * s.h * s.w;
    for (int64_t i = 0; i < s.kh; ++i) {
      int64_t oh_lo, oh_hi;  // output rows whose input row is inside
      valid_range(s.h, s.ho, s.stride, i * s.dilation - s.pad, &oh_lo, &oh_hi);
      const int64_t r0 = std::clamp(oh_lo, oh0, oh1), r1 = std::clamp(oh_hi, oh0, oh1);
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t off = j * s.dilation - s.pad;
        int64_t lo, hi;
        valid_range(s.w, s.wo, s.stride, off, &lo, &hi);
        T* dst = col + ((c * s.kh + i) * s.kw + j) * ld;
        std::fill(dst, dst + (r0 - oh0) * s.wo, T(0));
        for (int64_t oh = r0; oh < r1; ++oh) {
          const T* row = xp + (oh * s.stride - s.pad + i * s.dilation) * s.w + off;
          T* d = dst + (oh - oh0) * s.wo;
          std::fill(d, d + lo, T(0));
          if (s.stride == 1) {
            std::copy(row + lo, row + hi, d + lo);
          } else {
            for (int64_t ow = lo; ow < hi; ++ow) d[ow] = row[ow * s.stride];
          }
          std::fill(d + hi, d + s.wo, T(0));
        }
        std::fill(dst + (r1 - oh0) * s.wo, dst + ld, T(0));
      }
    }
  }
}

// The adjoint of im2col over a whole plane: gxg (the group's cin_g contiguous input planes) is
// overwritten with the sum of the col entries that read each element, in a fixed order.
template <class T> void col2im_plane(const ConvShape& s, const T* col, T* gxg) {
  const int64_t ld = s.ho * s.wo;
  std::fill(gxg, gxg + s.cin_g() * s.h * s.w, T(0));
  for (int64_t c = 0; c < s.cin_g(); ++c) {
    T* gp = gxg + c * s.h * s.w;
    for (int64_t i = 0; i < s.kh; ++i) {
      int64_t oh_lo, oh_hi;
      valid_range(s.h, s.ho, s.stride, i * s.dilation - s.pad, &oh_lo, &oh_hi);
      for (int64_t j = 0; j < s.kw; ++j) {
        const int64_t off = j * s.dilation - s.pad;
        int64_t lo, hi;
        valid_range(s.w, s.wo, s.stride, off, &lo, &hi);
        const T* src = col + ((c * s.kh + i) * s.kw + j) * ld;
        for (int64_t oh = oh_lo; oh < oh_hi; ++oh) {
          T* row = gp + (oh * s.stride - s.pad + i * s.dilation) * s.w + off;
          const T* sr = src + oh * s.wo;
          for (int64_t ow = lo; ow < hi; ++ow) row[ow * s.stride] += sr[ow];
        }
      }
    }
  }
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
  const int64_t kg = s.cin_g() * s.kh * s.kw, og = s.cout_g(), plane = s.ho * s.wo, cg = s.cin_g();
  const bool direct = is_direct_1x1(s);
  const int64_t rows = std::max<int64_t>(1, kBlockPixels / s.wo), nrb = (s.ho + rows - 1) / rows;
#pragma omp parallel for collapse(3) schedule(static) if (s.n * s.cout * plane * kg > kParallelWork)
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t g = 0; g < s.groups; ++g) {
      for (int64_t rb = 0; rb < nrb; ++rb) {
        const int64_t oh0 = rb * rows, oh1 = std::min(s.ho, oh0 + rows), len = (oh1 - oh0) * s.wo;
        const T* xg = x + n * s.x_batch_stride + g * cg * s.h * s.w;
        const T* col = xg + oh0 * s.wo;  // direct: x's rows are the columns (ld = plane)
        int64_t ldc = plane;
        if (!direct) {
          T* c = scratch<T>(0, kg * len);
          im2col_rows(s, xg, oh0, oh1, c);
          col = c;
          ldc = len;
        }
        gemm<T>(false, false, og, len, kg, T(1), w + g * og * kg, kg, col, ldc, T(0),
                y + (n * s.cout + g * og) * plane + oh0 * s.wo, plane);
      }
    }
  }
}

template <class T>
void conv2d_backward(const ConvShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw) {
  if (!gx && !gw) return;
  const int64_t kg = s.cin_g() * s.kh * s.kw, og = s.cout_g(), plane = s.ho * s.wo, cg = s.cin_g();
  if (gw && s.n == 0) std::fill(gw, gw + s.cout * kg, T(0));
  if (s.depthwise()) {
    if (gx) depthwise_backward_input(s, w, gy, gx);
    if (gw) depthwise_backward_weight(s, x, gy, gw);
    return;
  }
  const bool direct = is_direct_1x1(s);
  const bool parallel = s.n * s.cout * plane * kg > kParallelWork;
  if (gx) {  // per (sample, group): col = w_g^T gy_g, folded back by col2im
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int64_t n = 0; n < s.n; ++n) {
      for (int64_t g = 0; g < s.groups; ++g) {
        const T* gyg = gy + (n * s.cout + g * og) * plane;
        T* gxg = gx + (n * s.cin + g * cg) * s.h * s.w;
        if (direct) {
          gemm<T>(true, false, kg, plane, og, T(1), w + g * og * kg, kg, gyg, plane, T(0), gxg, plane);
        } else {
          T* c = scratch<T>(0, kg * plane);
          gemm<T>(true, false, kg, plane, og, T(1), w + g * og * kg, kg, gyg, plane, T(0), c, plane);
          col2im_plane(s, c, gxg);
        }
      }
    }
  }
  if (gw && s.n > 0) {  // gw_g = sum_n gy_g(n) col(n)^T: partial sums per fixed block of samples
    const int64_t per = (s.n + kSampleBlocks - 1) / kSampleBlocks, nsb = (s.n + per - 1) / per;
    std::vector<T> partial(nsb > 1 ? static_cast<size_t>(nsb * s.cout * kg) : 0);
#pragma omp parallel for collapse(2) schedule(static) if (parallel)
    for (int64_t sb = 0; sb < nsb; ++sb) {
      for (int64_t g = 0; g < s.groups; ++g) {
        T* out = (nsb > 1 ? partial.data() + sb * s.cout * kg : gw) + g * og * kg;
        for (int64_t n = sb * per; n < std::min(s.n, (sb + 1) * per); ++n) {
          const T* col = x + n * s.x_batch_stride + g * cg * s.h * s.w;  // direct: x's rows
          if (!direct) {
            T* c = scratch<T>(0, kg * plane);
            im2col_rows(s, col, 0, s.ho, c);
            col = c;
          }
          gemm<T>(false, true, og, kg, plane, T(1), gy + (n * s.cout + g * og) * plane, plane, col, plane,
                  n == sb * per ? T(0) : T(1), out, kg);
        }
      }
    }
    if (nsb > 1) {
      const int64_t m = s.cout * kg;
#pragma omp parallel for schedule(static) if (m * nsb > kParallelWork)
      for (int64_t i = 0; i < m; ++i) {
        T a = partial[static_cast<size_t>(i)];
        for (int64_t sb = 1; sb < nsb; ++sb) a += partial[static_cast<size_t>(sb * m + i)];
        gw[i] = a;
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
