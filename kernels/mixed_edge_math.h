// Per-element math of the fused partial-channel mixed edge, shared by kernels/cpu/mixed_edge.cpp
// and kernels/cuda/mixed_edge.cu (see kernels/cpu/mixed_edge.h for the op and its layouts). The
// pools are kernels/pool_math.h's and the BatchNorm arithmetic kernels/norm_math.h's, so the edge
// computes (NaN included) what the unfused max_pool2d, avg_pool2d and batch_norm ops compute.
//
// Channel bookkeeping. The edge input has C channels; Cs = C / k of them (the "selected" slots
// j = 0..Cs-1, input channel sel[j]) go through the candidate ops, the other C - Cs ("bypass"
// b = 0..C-Cs-1, input channel rest[b], increasing) are copied or 2x2 max-pooled. The reference
// concatenates [ops(Cs), bypass(C - Cs)] (concat index ci) and shuffles with k groups: concat
// channel ci = g * Cs + j lands on output channel j * k + g. Inversely output channel oc reads
// concat channel (oc % k) * Cs + oc / k.
#pragma once
#include <cstdint>

#include "kernels/hd.h"
#include "kernels/norm_math.h"
#include "kernels/pool_math.h"

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

// Output channel oc -> concat channel; concat channel -> output channel.
BNAS_HD int concat_of_output(int oc, int Cs, int k) { return (oc % k) * Cs + oc / k; }
BNAS_HD int output_of_concat(int ci, int Cs, int k) { return (ci % Cs) * k + ci / Cs; }

// Weight index of branch slot i (branches 0..3 are primitives 4..7, branch 4 is skip).
BNAS_HD int branch_primitive(int i) { return i < 4 ? kSep3 + i : kSkip; }

// Input channel of selected slot j (sel == nullptr: the reference's first Cs channels).
BNAS_HD int selected_channel(const int32_t* sel, int j) { return sel ? sel[j] : j; }
// The slot of input channel c among the Cs selected ones, or -1 (not selected).
BNAS_HD int selected_slot(const int32_t* sel, int Cs, int c) {
  if (!sel) return c < Cs ? c : -1;
  for (int j = 0; j < Cs; ++j)
    if (sel[j] == c) return j;
  return -1;
}
// Input channel of bypass b (rest == nullptr: channels Cs.. in order).
BNAS_HD int bypass_channel(const int32_t* rest, int Cs, int b) { return rest ? rest[b] : Cs + b; }

// ---- pools ---------------------------------------------------------------------------------

// The candidate pools of a selected plane (3x3, stride s, pad 1; the average leaves the padding
// out of its divisor) and the bypass pool of a stride-2 edge (2x2, stride 2).
BNAS_HD PoolGeom pool3_geom(const Dims& d) { return {d.H, d.W, d.Ho, d.Wo, 3, d.stride, 1}; }
BNAS_HD PoolGeom bypass_geom(const Dims& d) { return {d.H, d.W, d.Ho, d.Wo, 2, 2, 0}; }

// Both candidate pools at output (ho, wo) of the H x W plane xp: the max with the plane index of
// the element it takes (arg), and the mean.
template <class T> BNAS_HD void pools_at(const Dims& d, const T* xp, int ho, int wo, T& mx, int32_t& arg, T& av) {
  const PoolGeom g = pool3_geom(d);
  mx = max_pool_at(xp, g, ho, wo, &arg);
  av = avg_pool_at(xp, g, ho, wo);
}

// The bypass at output (ho, wo) of the plane xp: the element copied (stride 1) or the 2x2 max
// (stride 2), with its plane index (arg).
template <class T> BNAS_HD T bypass_at(const Dims& d, const T* xp, int ho, int wo, int32_t& arg) {
  if (d.stride == 1) {
    arg = ho * d.W + wo;
    return xp[arg];
  }
  return max_pool_at(xp, bypass_geom(d), ho, wo, &arg);
}
// d x of the input elements under bypass output (ho, wo), eg = e * g: eg at arg, 0 at the rest of
// its 2x2 window (the windows tile the plane, so every element is written once).
template <class T> BNAS_HD void bypass_grad_at(const Dims& d, T* gxp, int ho, int wo, int32_t arg, T eg) {
  if (d.stride == 1) {
    gxp[arg] = eg;
    return;
  }
  const int base = 2 * ho * d.W + 2 * wo;
  for (int dh = 0; dh < 2; ++dh)
    for (int dw = 0; dw < 2; ++dw) {
      const int i = base + dh * d.W + dw;
      gxp[i] = i == arg ? eg : T(0);
    }
}

// The skip candidate at plane position p of sample n, slot j (bo = (n Cs + j) Ho Wo + p, its index
// in the branch layout): the input itself (stride 1) or skip's FactorizedReduce (branch 4).
template <class T> BNAS_HD T skip_at(const Dims& d, const T* xp, const T* const* br, int64_t p, int64_t bo) {
  return d.stride == 1 ? xp[p] : br[4][bo];
}

// ---- forward -------------------------------------------------------------------------------

// Layout of the saved statistics: stats[q * Cs + j] with q = 0 mean(max), 1 invstd(max),
// 2 mean(avg), 3 invstd(avg).
constexpr int kStatMeanMax = 0, kStatInvMax = 1, kStatMeanAvg = 2, kStatInvAvg = 3, kNumStats = 4;

// Shifted sums (kernels/norm_math.h) of a slot's pool outputs for its batch statistics, in this
// order: sum d, sum d^2 of the max pool, then of the average pool (d = pool output - shift).
enum StatSum { kSumMax = 0, kSumMaxSq, kSumAvg, kSumAvgSq, kNumStatSums };

// The shift of slot j's sums: the first element of its input plane in sample 0.
template <class T> BNAS_HD double stat_shift(const Dims& d, const T* x, const int32_t* sel, int j) {
  return double(x[int64_t(selected_channel(sel, j)) * d.H * d.W]);
}
template <class T> BNAS_HD void add_stat_sums(T mx, T av, double shift, double (&s)[kNumStatSums]) {
  const double dm = double(mx) - shift, da = double(av) - shift;
  s[kSumMax] += dm;
  s[kSumMaxSq] += dm * dm;
  s[kSumAvg] += da;
  s[kSumAvgSq] += da * da;
}

// Number of outputs of one slot, N Ho Wo: what its batch statistics and backward sums cover.
BNAS_HD double slot_count(const Dims& d) { return double(d.N) * double(d.Ho) * double(d.Wo); }

// Slot j's statistics into stats (layout above): from its sums s (training) or the running
// statistics (eval), see bn_channel_stats (kernels/norm_math.h).
template <class T>
BNAS_HD void slot_stats(const Dims& d, int j, bool training, const double (&s)[kNumStatSums], double shift,
                        double eps, double momentum, T* rm_max, T* rv_max, T* rm_avg, T* rv_avg, T* stats) {
  const double m = slot_count(d);
  const int Cs = d.Cs;
  bn_channel_stats(training, s[kSumMax], s[kSumMaxSq], shift, m, eps, momentum, rm_max, rv_max, j,
                   stats[kStatMeanMax * Cs + j], stats[kStatInvMax * Cs + j]);
  bn_channel_stats(training, s[kSumAvg], s[kSumAvgSq], shift, m, eps, momentum, rm_avg, rv_avg, j,
                   stats[kStatMeanAvg * Cs + j], stats[kStatInvAvg * Cs + j]);
}

// Slot j's saved statistics, read back.
template <class T> struct SlotStats {
  T mean_max, inv_max, mean_avg, inv_avg;
};
template <class T> BNAS_HD SlotStats<T> saved_stats(const T* stats, int Cs, int j) {
  return {stats[kStatMeanMax * Cs + j], stats[kStatInvMax * Cs + j], stats[kStatMeanAvg * Cs + j],
          stats[kStatInvAvg * Cs + j]};
}
// The normalised pools (BatchNorm without affine parameters).
template <class T> BNAS_HD T z_max(const SlotStats<T>& st, T mx) { return bn_normalize(mx, st.mean_max, st.inv_max); }
template <class T> BNAS_HD T z_avg(const SlotStats<T>& st, T av) { return bn_normalize(av, st.mean_avg, st.inv_avg); }

// A selected element of the output (branch outputs at bo): e times the weighted candidate sum
// w1 zmax + w2 zavg + w3 skip + w4 b0 + w5 b1 + w6 b2 + w7 b3 (none contributes nothing).
template <class T>
BNAS_HD T selected_output(T e, const T* w, const SlotStats<T>& st, T mx, T av, T skip, const T* const* br,
                          int64_t bo) {
  return e * (w[kMaxPool] * z_max(st, mx) + w[kAvgPool] * z_avg(st, av) + w[kSkip] * skip + w[kSep3] * br[0][bo] +
              w[kSep5] * br[1][bo] + w[kDil3] * br[2][bo] + w[kDil5] * br[3][bo]);
}

// ---- backward ------------------------------------------------------------------------------

// Per-slot sums of the backward reduction (over the slot's outputs), in this order.
enum BwdSum { kSumG = 0, kSumGZmax, kSumGZavg, kSumGSkip, kSumGBranch0 };
constexpr int kNumBwdSums = kSumGBranch0 + 4;  // 8: G, G*zmax, G*zavg, G*skip, G*branch 0..3

// Adds one output element's terms (g its gradient, branch outputs at bo).
template <class T>
BNAS_HD void add_bwd_sums(T g, T zmax, T zavg, T skip, const T* const* br, int64_t bo, double (&s)[kNumBwdSums]) {
  const double gd = double(g);
  s[kSumG] += gd;
  s[kSumGZmax] += gd * double(zmax);
  s[kSumGZavg] += gd * double(zavg);
  s[kSumGSkip] += gd * double(skip);
  for (int i = 0; i < 4; ++i) s[kSumGBranch0 + i] += gd * double(br[i][bo]);
}

// Pool-BN backward coefficients of one slot: d pool = a * g + b + c * z (z = normalised output).
// Training: a = e w invstd, b = -a mean(g), c = -a mean(g z); eval: b = c = 0.
enum BwdCoef { kCoefAmax = 0, kCoefBmax, kCoefCmax, kCoefAavg, kCoefBavg, kCoefCavg, kNumCoefs };

// The coefficients from the slot's sums s over m outputs.
template <class T>
BNAS_HD void pool_bn_coefs(T e, const T* w, const SlotStats<T>& st, bool training, const double* s, double m,
                           T (&cf)[kNumCoefs]) {
  cf[kCoefAmax] = e * w[kMaxPool] * st.inv_max;
  cf[kCoefAavg] = e * w[kAvgPool] * st.inv_avg;
  cf[kCoefBmax] = training ? T(-double(cf[kCoefAmax]) * s[kSumG] / m) : T(0);
  cf[kCoefCmax] = training ? T(-double(cf[kCoefAmax]) * s[kSumGZmax] / m) : T(0);
  cf[kCoefBavg] = training ? T(-double(cf[kCoefAavg]) * s[kSumG] / m) : T(0);
  cf[kCoefCavg] = training ? T(-double(cf[kCoefAavg]) * s[kSumGZavg] / m) : T(0);
}

// d of the max pool output (window gradient g); d of the average pool output divided by the
// window's count, which is what each of its elements receives. Eval has no z term (the running
// statistics are constants), so a NaN pool output stays out of d x there, as in PyTorch.
template <class T> BNAS_HD T d_max_pool(const T (&cf)[kNumCoefs], bool training, T g, T zmax) {
  const T ag_b = cf[kCoefAmax] * g + cf[kCoefBmax];
  return training ? ag_b + cf[kCoefCmax] * zmax : ag_b;
}
template <class T> BNAS_HD T d_avg_pool_share(const T (&cf)[kNumCoefs], bool training, T g, T zavg, int count) {
  const T ag_b = cf[kCoefAavg] * g + cf[kCoefBavg];
  return (training ? ag_b + cf[kCoefCavg] * zavg : ag_b) / T(count);
}

// d weights (gw[kNone] = 0, gw[i] = e sum g z_i) and d edge weight (sum_i w_i sum g z_i, plus
// rb = sum g bypass) from the slots' sums r added over the slots; either output may be null.
template <class T> BNAS_HD void weight_grads(T e, const T* w, const double* r, double rb, T* gw, T* gew) {
  if (gw) {
    gw[kNone] = T(0);
    gw[kMaxPool] = T(double(e) * r[kSumGZmax]);
    gw[kAvgPool] = T(double(e) * r[kSumGZavg]);
    gw[kSkip] = T(double(e) * r[kSumGSkip]);
    for (int i = 0; i < 4; ++i) gw[kSep3 + i] = T(double(e) * r[kSumGBranch0 + i]);
  }
  if (gew) {
    double t = double(w[kMaxPool]) * r[kSumGZmax] + double(w[kAvgPool]) * r[kSumGZavg] + double(w[kSkip]) * r[kSumGSkip];
    for (int i = 0; i < 4; ++i) t += double(w[kSep3 + i]) * r[kSumGBranch0 + i];
    gew[0] = T(t + rb);
  }
}

}  // namespace bnas::kernels::mixed_edge
