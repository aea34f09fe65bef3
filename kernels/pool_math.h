// Pooling window arithmetic shared by kernels/cpu/pool.cpp and kernels/cuda/pool.cu, and by the
// mixed edge's pools (kernels/mixed_edge_math.h).
//
// Inputs are planes of H x W (one per (n, c)); outputs planes of Ho x Wo with
// Ho = (H + 2p - k) / s + 1 (floor, PyTorch's ceil_mode = false). Padding is virtual: max pooling
// treats it as -inf, average pooling leaves it out of the divisor (count_include_pad = false).
// Backward passes GATHER: every input element sums the contributions of the output windows
// that contain it, in ascending (oh, ow) order, so no two threads write one element (no
// atomics) and CPU and GPU add in the same order.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

namespace bnas::kernels {

struct PoolGeom {
  int H, W, Ho, Wo, k, s, p;
};

inline int pool_out_size(int in, int k, int s, int p) { return (in + 2 * p - k) / s + 1; }

BNAS_HD int pool_min(int a, int b) { return a < b ? a : b; }
BNAS_HD int pool_max(int a, int b) { return a > b ? a : b; }

// Output windows [o0, o1) along one axis that contain input position i.
BNAS_HD void pool_covering(int i, int k, int s, int p, int out, int& o0, int& o1) {
  o0 = (i + p < k) ? 0 : (i + p - k) / s + 1;
  o1 = pool_min((i + p) / s + 1, out);
}

// Max over the window of output (oh, ow) of one plane; *arg gets the plane index (h * W + w) of
// the first maximum in row-major scan order (a NaN wins, as in PyTorch's CPU kernel). A window that holds
// only -inf reports its first in-bounds element.
template <class T> BNAS_HD T max_pool_at(const T* x, const PoolGeom& g, int oh, int ow, int32_t* arg) {
  const int h0 = oh * g.s - g.p, w0 = ow * g.s - g.p;
  const int hs = pool_max(h0, 0), he = pool_min(h0 + g.k, g.H);
  const int ws = pool_max(w0, 0), we = pool_min(w0 + g.k, g.W);
  T best = -INFINITY;
  int32_t best_i = hs * g.W + ws;
  T probe = 0;  // becomes NaN when the window holds a NaN (or an infinity)
  for (int h = hs; h < he; ++h)
    for (int w = ws; w < we; ++w) {
      const T v = x[h * g.W + w];
      probe += v - v;
      if (v > best) {
        best = v;
        best_i = h * g.W + w;
      }
    }
  // NaN is rare: keeping it out of the comparison above cut the CPU forward of a 3x3 stride-1
  // pool over [64, 32, 16, 16] by about 40% (measured on the 2-core development machine). The
  // last NaN in scan order wins, as when every NaN takes over in one pass (PyTorch's rule).
  if (probe != probe)
    for (int h = hs; h < he; ++h)
      for (int w = ws; w < we; ++w)
        if (x[h * g.W + w] != x[h * g.W + w]) {
          best = x[h * g.W + w];
          best_i = h * g.W + w;
        }
  *arg = best_i;
  return best;
}

// Number of non-padded elements in the window of output (oh, ow).
BNAS_HD int avg_pool_count(const PoolGeom& g, int oh, int ow) {
  const int h0 = oh * g.s - g.p, w0 = ow * g.s - g.p;
  const int hn = pool_min(h0 + g.k, g.H) - pool_max(h0, 0);
  const int wn = pool_min(w0 + g.k, g.W) - pool_max(w0, 0);
  return hn * wn;
}

// Mean over the non-padded part of the window (accumulated in T, in row-major order).
template <class T> BNAS_HD T avg_pool_at(const T* x, const PoolGeom& g, int oh, int ow) {
  const int h0 = oh * g.s - g.p, w0 = ow * g.s - g.p;
  const int hs = pool_max(h0, 0), he = pool_min(h0 + g.k, g.H);
  const int ws = pool_max(w0, 0), we = pool_min(w0 + g.k, g.W);
  T sum = 0;
  for (int h = hs; h < he; ++h)
    for (int w = ws; w < we; ++w) sum += x[h * g.W + w];
  return sum / static_cast<T>((he - hs) * (we - ws));
}

// d x[h, w] of max pooling: the sum of gy over the windows whose arg-max is (h, w).
template <class T> BNAS_HD T max_pool_grad_at(const T* gy, const int32_t* arg, const PoolGeom& g, int h, int w) {
  int oh0, oh1, ow0, ow1;
  pool_covering(h, g.k, g.s, g.p, g.Ho, oh0, oh1);
  pool_covering(w, g.k, g.s, g.p, g.Wo, ow0, ow1);
  const int32_t me = h * g.W + w;
  T sum = 0;
  for (int oh = oh0; oh < oh1; ++oh)
    for (int ow = ow0; ow < ow1; ++ow)
      if (arg[oh * g.Wo + ow] == me) sum += gy[oh * g.Wo + ow];
  return sum;
}

// d x[h, w] of average pooling: sum over covering windows of gy / count.
template <class T> BNAS_HD T avg_pool_grad_at(const T* gy, const PoolGeom& g, int h, int w) {
  int oh0, oh1, ow0, ow1;
  pool_covering(h, g.k, g.s, g.p, g.Ho, oh0, oh1);
  pool_covering(w, g.k, g.s, g.p, g.Wo, ow0, ow1);
  T sum = 0;
  for (int oh = oh0; oh < oh1; ++oh)
    for (int ow = ow0; ow < ow1; ++ow) sum += gy[oh * g.Wo + ow] / static_cast<T>(avg_pool_count(g, oh, ow));
  return sum;
}

}  // namespace bnas::kernels
