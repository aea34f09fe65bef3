// Per-element math of the fused partial-channel mixed edge, shared by kernels/cpu/mixed_edge.cpp
// and kernels/cuda/mixed_edge.cu (see kernels/cpu/mixed_edge.h for the op and its layouts).
//
// Channel bookkeeping. The edge input has C channels; Cs = C / k of them (the "selected" slots
// j = 0..Cs-1, input channel sel[j]) go through the candidate ops, the other C - Cs ("bypass"
// b = 0..C-Cs-1, input channel rest[b], increasing) are copied or 2x2 max-pooled. The reference
// concatenates [ops(Cs), bypass(C - Cs)] (concat index ci) and shuffles with k groups: concat
// channel ci = g * Cs + j lands on output channel j * k + g. Inversely output channel oc reads
// concat channel (oc % k) * Cs + oc / k.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/hd.h"

#if defined(__CUDACC__)
#define BNAS_ME_UNROLL _Pragma("unroll")
#else
#define BNAS_ME_UNROLL _Pragma("GCC unroll 4")
#endif

namespace bnas::kernels::mixed_edge {

// Candidate order (the alpha column order of BNAS-V2.md section 2).
enum Primitive { kNone = 0, kMaxPool = 1, kAvgPool = 2, kSkip = 3, kSep3 = 4, kSep5 = 5, kDil3 = 6, kDil5 = 7 };
constexpr int kNumPrimitives = 8;
constexpr int kMaxBranches = 5;  // 4..7, plus FactorizedReduce (skip) on stride-2 edges

// Sizes of one call. x planes are H x W contiguous; consecutive channels are H * W apart and
// consecutive samples x_batch_stride apart (so a channel slice of a wider tensor is read in place).
struct Dims {
  int N, C, H, W, k, stride, Cs, Ho, Wo;
  int64_t x_batch_stride;
  int num_branches;  // 4 (stride 1) or 5 (stride 2: branch 4 is skip's FactorizedReduce)
};

BNAS_HD int me_min(int a, int b) { return a < b ? a : b; }
BNAS_HD int me_max(int a, int b) { return a > b ? a : b; }

// Output channel oc -> concat channel; concat channel -> output channel.
BNAS_HD int concat_of_output(int oc, int Cs, int k) { return (oc % k) * Cs + oc / k; }
BNAS_HD int output_of_concat(int ci, int Cs, int k) { return (ci % Cs) * k + ci / Cs; }

// Weight index of branch slot i (branches 0..3 are primitives 4..7, branch 4 is skip).
BNAS_HD int branch_primitive(int i) { return i < 4 ? kSep3 + i : kSkip; }

// The 3x3 / stride s / pad 1 windows of output (ho, wo) over an H x W plane: max with the plane
// index of the first maximum in row-major order (a NaN wins, as in PyTorch), and the mean over
// the in-bounds elements (count_include_pad = False) with that count.
// One step of a running arg-max: strictly greater wins (the first maximum), a NaN wins.
template <class T> BNAS_HD void max_step(T v, int i, T& best, int& bi) {
  const bool take = v > best || (v != v && best == best);
  best = take ? v : best;
  bi = take ? i : bi;
}
// Windows wholly inside the plane (all but the border) take an unrolled, branch-free path with the
// same arithmetic in the same order.
template <class T>
BNAS_HD void pool3_at(const T* x, int H, int W, int s, int ho, int wo, T& mx, int& arg, T& avg, int& count) {
  const int hs = ho * s - 1, ws = wo * s - 1;
  if (hs >= 0 && ws >= 0 && hs + 3 <= H && ws + 3 <= W) {
    const T* r = x + hs * W + ws;
    T best = r[0], sum = T(0);
    int bi = 0;
    BNAS_ME_UNROLL
    for (int dh = 0; dh < 3; ++dh) {
      BNAS_ME_UNROLL
      for (int dw = 0; dw < 3; ++dw) {
        const T v = r[dh * W + dw];
        sum += v;
        max_step(v, dh * W + dw, best, bi);
      }
    }
    count = 9;
    mx = best;
    arg = hs * W + ws + bi;
    avg = sum / T(9);
    return;
  }
  const int h0 = me_max(ho * s - 1, 0), h1 = me_min(ho * s + 2, H);
  const int w0 = me_max(wo * s - 1, 0), w1 = me_min(wo * s + 2, W);
  T best = x[h0 * W + w0], sum = T(0);
  int bi = h0 * W + w0;
  for (int h = h0; h < h1; ++h)
    for (int w = w0; w < w1; ++w) {
      const T v = x[h * W + w];
      sum += v;
      if (v > best || (v != v && best == best)) {
        best = v;
        bi = h * W + w;
      }
    }
  count = (h1 - h0) * (w1 - w0);
  mx = best;
  arg = bi;
  avg = sum / static_cast<T>(count);
}

// Number of in-bounds elements of the 3x3 window of output (ho, wo).
BNAS_HD int pool3_count(int H, int W, int s, int ho, int wo) {
  const int h0 = me_max(ho * s - 1, 0), h1 = me_min(ho * s + 2, H);
  const int w0 = me_max(wo * s - 1, 0), w1 = me_min(wo * s + 2, W);
  return (h1 - h0) * (w1 - w0);
}

// Outputs [o0, o1) of a 3x3 / stride s / pad 1 pool whose window holds input position i.
BNAS_HD void pool3_covering(int i, int s, int out, int& o0, int& o1) {
  o0 = i < 2 ? 0 : (i - 2) / s + 1;  // smallest o with o * s + 1 >= i
  o1 = me_min((i + 1) / s + 1, out);  // largest o with o * s - 1 <= i, plus one
}

// 2x2 / stride 2 max of the bypass (plane index of the first maximum).
template <class T> BNAS_HD T max2x2_at(const T* x, int W, int ho, int wo, int& arg) {
  const int base = 2 * ho * W + 2 * wo;
  T best = x[base];
  int bi = base;
  max_step(x[base + 1], base + 1, best, bi);
  max_step(x[base + W], base + W, best, bi);
  max_step(x[base + W + 1], base + W + 1, best, bi);
  arg = bi;
  return best;
}

// Input channel of selected slot j (sel == nullptr: the reference's first Cs channels).
BNAS_HD int selected_channel(const int32_t* sel, int j) { return sel ? sel[j] : j; }
// Input channel of bypass b (rest == nullptr: channels Cs.. in order).
BNAS_HD int bypass_channel(const int32_t* rest, int Cs, int b) { return rest ? rest[b] : Cs + b; }

// Batch statistics from shifted sums (s1 = sum (v - shift), s2 = sum (v - shift)^2 over m values).
BNAS_HD void bn_batch_stats(double s1, double s2, double shift, double m, double eps, double& mean,
                            double& var_biased, double& invstd) {
  const double d = s1 / m;
  mean = shift + d;
  var_biased = s2 / m - d * d;
  if (var_biased < 0) var_biased = 0;
  invstd = 1.0 / sqrt(var_biased + eps);
}
// Running-stat update (PyTorch: unbiased variance, r = (1 - momentum) r + momentum * batch).
BNAS_HD double bn_running(double r, double batch, double momentum) { return (1.0 - momentum) * r + momentum * batch; }
BNAS_HD double bn_unbiased(double var_biased, double m) { return m > 1 ? var_biased * m / (m - 1) : var_biased; }

// Layout of the saved statistics: stats[q * Cs + j] with q = 0 mean(max), 1 invstd(max),
// 2 mean(avg), 3 invstd(avg).
constexpr int kStatMeanMax = 0, kStatInvMax = 1, kStatMeanAvg = 2, kStatInvAvg = 3, kNumStats = 4;

// Per-channel sums of the backward reduction (one slot j), in this order.
enum BwdSum { kSumG = 0, kSumGZmax, kSumGZavg, kSumGSkip, kSumGBranch0 };
constexpr int kNumBwdSums = kSumGBranch0 + 4;  // 8: G, G*zmax, G*zavg, G*skip, G*branch 0..3

// Pool-BN backward coefficients of one slot: d pool = a * g + b + c * z (z = normalised output).
// Training: a = e w invstd, b = -a mean(g), c = -a mean(g z); eval: b = c = 0.
enum BwdCoef { kCoefAmax = 0, kCoefBmax, kCoefCmax, kCoefAavg, kCoefBavg, kCoefCavg, kNumCoefs };


// Normalised pool output (BatchNorm without affine parameters).
template <class T> BNAS_HD T bn_apply(T v, T mean, T invstd) { return (v - mean) * invstd; }

// The weighted candidate sum of one selected element before the edge weight:
// w1 zmax + w2 zavg + w3 skip + w4 b0 + w5 b1 + w6 b2 + w7 b3 (none contributes nothing).
template <class T>
BNAS_HD T mixed_sum(const T* w, T zmax, T zavg, T skip, T b0, T b1, T b2, T b3) {
  return w[kMaxPool] * zmax + w[kAvgPool] * zavg + w[kSkip] * skip + w[kSep3] * b0 + w[kSep5] * b1 +
         w[kDil3] * b2 + w[kDil5] * b3;
}

}  // namespace bnas::kernels::mixed_edge
