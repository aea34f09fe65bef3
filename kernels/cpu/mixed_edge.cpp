// CPU reference of the fused mixed edge (see kernels/cpu/mixed_edge.h and
// kernels/cuda/mixed_edge.cu): the same steps and the same shared math (kernels/mixed_edge_math.h)
// as the CUDA launches, organised per selected slot so that each slot's pools are computed once:
//   forward : per slot (parallel): both 3x3 pools over the batch -> batch statistics and running
//             update (training) -> the slot's output planes (normalised pools, skip, weighted
//             branches, edge weight) at their shuffled positions; then the bypass planes (copy or
//             2x2 max pool) at theirs. No gather, concat or shuffle buffers.
//   backward: per slot (parallel): branch gradients and the 8 sums of the slot -> its pool-BN
//             coefficients -> d x of its input planes (scatter inside the plane, windows in
//             ascending order, which gives every element the CUDA gather's order); bypass planes;
//             then d weights and d edge weight from the per-slot sums in slot order.
// Reductions run per slot in a fixed order into double accumulators, so results do not depend on
// the number of OpenMP threads.
#include "kernels/cpu/mixed_edge.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace bnas::kernels::cpu {
using namespace mixed_edge;

namespace {

// Bypass channels (the complement of sel, increasing) into rest.
void complement(const Dims& d, const int32_t* sel, int32_t* rest) {
  std::vector<char> used(static_cast<size_t>(d.C), 0);
  for (int j = 0; j < d.Cs; ++j) used[static_cast<size_t>(sel[j])] = 1;
  int b = 0;
  for (int c = 0; c < d.C; ++c)
    if (!used[static_cast<size_t>(c)]) rest[b++] = c;
}

}  // namespace

// The pool outputs of slot j over the batch (N x Ho x Wo each), computed once per slot and reused
// by every later step of that slot (the CUDA kernels recompute them instead: memory traffic, not
// arithmetic, bounds them there).
template <class T> struct SlotPools {
  std::vector<T> mx, av;
  std::vector<int32_t> arg, cnt;
  void compute(const Dims& d, const T* x, int64_t c, bool with_arg) {
    const int64_t HW = int64_t(d.H) * d.W, HoWo = int64_t(d.Ho) * d.Wo, m = int64_t(d.N) * HoWo;
    mx.resize(static_cast<size_t>(m));
    av.resize(static_cast<size_t>(m));
    if (with_arg) {
      arg.resize(static_cast<size_t>(m));
      cnt.resize(static_cast<size_t>(m));
    }
    for (int n = 0; n < d.N; ++n) {
      const T* xp = x + n * d.x_batch_stride + c * HW;
      for (int ho = 0; ho < d.Ho; ++ho)
        for (int wo = 0; wo < d.Wo; ++wo) {
          const size_t i = static_cast<size_t>(n * HoWo + int64_t(ho) * d.Wo + wo);
          int a, k;
          pool3_at(xp, d.H, d.W, d.stride, ho, wo, mx[i], a, av[i], k);
          if (with_arg) {
            arg[i] = a;
            cnt[i] = k;
          }
        }
    }
  }
};

template <class T>
void mixed_edge_forward(const Dims& d, const T* x, const int32_t* sel, const T* const* br, const T* w,
                        const T* ew, T* rm_max, T* rv_max, T* rm_avg, T* rv_avg, bool training,
                        double momentum, double eps, T* y, T* stats, int32_t* rest) {
  const int64_t HW = int64_t(d.H) * d.W, HoWo = int64_t(d.Ho) * d.Wo;
  const int Cs = d.Cs, s = d.stride;
  const int32_t* restp = nullptr;
  if (sel && d.k > 1) {
    complement(d, sel, rest);
    restp = rest;
  }
  const double m = double(d.N) * double(HoWo);
  const T e = ew ? ew[0] : T(1);

  // Selected slots: pools, statistics, then the slot's output planes at their shuffled positions.
#pragma omp parallel for schedule(static)
  for (int j = 0; j < Cs; ++j) {
    const int64_t c = selected_channel(sel, j);
    SlotPools<T> pl;
    pl.compute(d, x, c, false);
    double mean_max, inv_max, mean_avg, inv_avg;
    if (training) {
      const double shift = double(x[c * HW]);
      double s1m = 0, s2m = 0, s1a = 0, s2a = 0;
      for (size_t i = 0; i < pl.mx.size(); ++i) {
        const double dm = double(pl.mx[i]) - shift, da = double(pl.av[i]) - shift;
        s1m += dm;
        s2m += dm * dm;
        s1a += da;
        s2a += da * da;
      }
      double var_max, var_avg;
      bn_batch_stats(s1m, s2m, shift, m, eps, mean_max, var_max, inv_max);
      bn_batch_stats(s1a, s2a, shift, m, eps, mean_avg, var_avg, inv_avg);
      if (rm_max) rm_max[j] = T(bn_running(double(rm_max[j]), mean_max, momentum));
      if (rv_max) rv_max[j] = T(bn_running(double(rv_max[j]), bn_unbiased(var_max, m), momentum));
      if (rm_avg) rm_avg[j] = T(bn_running(double(rm_avg[j]), mean_avg, momentum));
      if (rv_avg) rv_avg[j] = T(bn_running(double(rv_avg[j]), bn_unbiased(var_avg, m), momentum));
    } else {
      mean_max = double(rm_max[j]);
      inv_max = 1.0 / std::sqrt(double(rv_max[j]) + eps);
      mean_avg = double(rm_avg[j]);
      inv_avg = 1.0 / std::sqrt(double(rv_avg[j]) + eps);
    }
    const T mmax = T(mean_max), imax = T(inv_max), mavg = T(mean_avg), iavg = T(inv_avg);
    stats[kStatMeanMax * Cs + j] = mmax;
    stats[kStatInvMax * Cs + j] = imax;
    stats[kStatMeanAvg * Cs + j] = mavg;
    stats[kStatInvAvg * Cs + j] = iavg;
    const int oc = output_of_concat(j, Cs, d.k);
    for (int n = 0; n < d.N; ++n) {
      const T* xp = x + n * d.x_batch_stride + c * HW;
      const T* bp[kMaxBranches] = {};
      for (int i = 0; i < d.num_branches; ++i) bp[i] = br[i] + (int64_t(n) * Cs + j) * HoWo;
      const size_t base = static_cast<size_t>(n * HoWo);
      T* yp = y + (int64_t(n) * d.C + oc) * HoWo;
      for (int64_t p = 0; p < HoWo; ++p) {
        const T skip = s == 1 ? xp[p] : bp[4][p];
        yp[p] = e * mixed_sum(w, bn_apply(pl.mx[base + p], mmax, imax), bn_apply(pl.av[base + p], mavg, iavg), skip,
                              bp[0][p], bp[1][p], bp[2][p], bp[3][p]);
      }
    }
  }

  // Bypass planes.
  const int64_t byp_planes = int64_t(d.N) * (d.C - Cs);
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < byp_planes; ++plane) {
    const int n = int(plane / (d.C - Cs)), b = int(plane % (d.C - Cs));
    const T* xp = x + n * d.x_batch_stride + int64_t(bypass_channel(restp, Cs, b)) * HW;
    T* yp = y + (int64_t(n) * d.C + output_of_concat(Cs + b, Cs, d.k)) * HoWo;
    for (int ho = 0; ho < d.Ho; ++ho)
      for (int wo = 0; wo < d.Wo; ++wo) {
        int arg;
        yp[int64_t(ho) * d.Wo + wo] = e * (s == 1 ? xp[int64_t(ho) * d.W + wo] : max2x2_at(xp, d.W, ho, wo, arg));
      }
  }
}

template <class T>
void mixed_edge_backward(const Dims& d, const T* x, const int32_t* sel, const int32_t* rest, const T* const* br,
                         const T* w, const T* ew, const T* stats, bool training, const T* gy, T* gx,
                         T* const* gbr, T* gw, T* gew) {
  const int64_t HW = int64_t(d.H) * d.W, HoWo = int64_t(d.Ho) * d.Wo;
  const int Cs = d.Cs, s = d.stride, nb = d.num_branches;
  const int32_t* restp = (sel && d.k > 1) ? rest : nullptr;
  const T e = ew ? ew[0] : T(1);
  const bool need_sums = (gx && training) || gw || gew;
  const double m = double(d.N) * double(HoWo);

  // Selected slots: branch gradients, the slot's sums, then (the pool-BN coefficients of a slot
  // need only that slot's sums) its input gradient planes.
  std::vector<double> sums(static_cast<size_t>(Cs) * kNumBwdSums, 0.0);
#pragma omp parallel for schedule(static)
  for (int j = 0; j < Cs; ++j) {
    const int oc = output_of_concat(j, Cs, d.k);
    const int64_t c = selected_channel(sel, j);
    const T mmax = stats[kStatMeanMax * Cs + j], imax = stats[kStatInvMax * Cs + j];
    const T mavg = stats[kStatMeanAvg * Cs + j], iavg = stats[kStatInvAvg * Cs + j];
    T wb[kMaxBranches];
    for (int i = 0; i < nb; ++i) wb[i] = e * w[branch_primitive(i)];
    SlotPools<T> pl;
    if (need_sums || gx) pl.compute(d, x, c, gx != nullptr);
    double acc[kNumBwdSums] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int n = 0; n < d.N; ++n) {
      const T* gp = gy + (int64_t(n) * d.C + oc) * HoWo;
      const T* xp = x + n * d.x_batch_stride + c * HW;
      const int64_t boff = (int64_t(n) * Cs + j) * HoWo;
      if (gbr)
        for (int i = 0; i < nb; ++i)
          if (gbr[i])
            for (int64_t p = 0; p < HoWo; ++p) gbr[i][boff + p] = wb[i] * gp[p];
      if (!need_sums) continue;
      const size_t base = static_cast<size_t>(n * HoWo);
      for (int64_t p = 0; p < HoWo; ++p) {
        const double g = double(gp[p]);
        acc[kSumG] += g;
        acc[kSumGZmax] += g * double(bn_apply(pl.mx[base + p], mmax, imax));
        acc[kSumGZavg] += g * double(bn_apply(pl.av[base + p], mavg, iavg));
        acc[kSumGSkip] += g * double(s == 1 ? xp[p] : br[4][boff + p]);
        for (int i = 0; i < 4; ++i) acc[kSumGBranch0 + i] += g * double(br[i][boff + p]);
      }
    }
    for (int q = 0; q < kNumBwdSums; ++q) sums[static_cast<size_t>(j) * kNumBwdSums + q] = acc[q];
    if (!gx) continue;

    T cf[kNumCoefs];
    cf[kCoefAmax] = e * w[kMaxPool] * imax;
    cf[kCoefAavg] = e * w[kAvgPool] * iavg;
    cf[kCoefBmax] = training ? T(-double(cf[kCoefAmax]) * acc[kSumG] / m) : T(0);
    cf[kCoefCmax] = training ? T(-double(cf[kCoefAmax]) * acc[kSumGZmax] / m) : T(0);
    cf[kCoefBavg] = training ? T(-double(cf[kCoefAavg]) * acc[kSumG] / m) : T(0);
    cf[kCoefCavg] = training ? T(-double(cf[kCoefAavg]) * acc[kSumGZavg] / m) : T(0);
    const T wskip = e * w[kSkip];
    for (int n = 0; n < d.N; ++n) {
      const T* gp = gy + (int64_t(n) * d.C + oc) * HoWo;
      T* gxp = gx + (int64_t(n) * d.C + c) * HW;
      const size_t base = static_cast<size_t>(n * HoWo);
      for (int64_t p = 0; p < HW; ++p) gxp[p] = s == 1 ? wskip * gp[p] : T(0);
      // Scatter inside the plane, windows in ascending order: every input element receives its
      // contributions in the order of the CUDA kernel's gather.
      for (int ho = 0; ho < d.Ho; ++ho)
        for (int wo = 0; wo < d.Wo; ++wo) {
          const size_t i = base + static_cast<size_t>(int64_t(ho) * d.Wo + wo);
          const T g = gp[int64_t(ho) * d.Wo + wo];
          gxp[pl.arg[i]] += cf[kCoefAmax] * g + cf[kCoefBmax] + cf[kCoefCmax] * bn_apply(pl.mx[i], mmax, imax);
          const T ga = (cf[kCoefAavg] * g + cf[kCoefBavg] + cf[kCoefCavg] * bn_apply(pl.av[i], mavg, iavg)) /
                       T(pl.cnt[i]);
          const int h0 = me_max(ho * s - 1, 0), h1 = me_min(ho * s + 2, d.H);
          const int w0 = me_max(wo * s - 1, 0), w1 = me_min(wo * s + 2, d.W);
          for (int h = h0; h < h1; ++h)
            for (int ww = w0; ww < w1; ++ww) gxp[int64_t(h) * d.W + ww] += ga;
        }
    }
  }

  // Bypass planes: d x (copy, or to the 2x2 arg-max) and the sums of g * bypass for d edge weight.
  std::vector<double> byp(static_cast<size_t>(d.C - Cs), 0.0);
  if (gx || gew) {
#pragma omp parallel for schedule(static)
    for (int b = 0; b < d.C - Cs; ++b) {
      const int oc = output_of_concat(Cs + b, Cs, d.k);
      const int64_t c = bypass_channel(restp, Cs, b);
      double acc = 0;
      for (int n = 0; n < d.N; ++n) {
        const T* gp = gy + (int64_t(n) * d.C + oc) * HoWo;
        const T* xp = x + n * d.x_batch_stride + c * HW;
        T* gxp = gx ? gx + (int64_t(n) * d.C + c) * HW : nullptr;
        for (int ho = 0; ho < d.Ho; ++ho)
          for (int wo = 0; wo < d.Wo; ++wo) {
            const T g = gp[int64_t(ho) * d.Wo + wo];
            if (s == 1) {
              acc += double(g) * double(xp[int64_t(ho) * d.W + wo]);
              if (gxp) gxp[int64_t(ho) * d.W + wo] = e * g;
            } else {
              int arg;
              acc += double(g) * double(max2x2_at(xp, d.W, ho, wo, arg));
              if (gxp) {
                const int64_t base = 2 * int64_t(ho) * d.W + 2 * wo;
                gxp[base] = gxp[base + 1] = gxp[base + d.W] = gxp[base + d.W + 1] = T(0);
                gxp[arg] = e * g;
              }
            }
          }
      }
      byp[static_cast<size_t>(b)] = acc;
    }
  }

  // d weights and d edge weight from the per-slot sums, in slot order.
  if (gw || gew) {
    double r[kNumBwdSums] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int j = 0; j < Cs; ++j)
      for (int q = 0; q < kNumBwdSums; ++q) r[q] += sums[static_cast<size_t>(j) * kNumBwdSums + q];
    double rb = 0;
    for (int b = 0; b < d.C - Cs; ++b) rb += byp[static_cast<size_t>(b)];
    if (gw) {
      gw[kNone] = T(0);
      gw[kMaxPool] = T(double(e) * r[kSumGZmax]);
      gw[kAvgPool] = T(double(e) * r[kSumGZavg]);
      gw[kSkip] = T(double(e) * r[kSumGSkip]);
      for (int i = 0; i < 4; ++i) gw[kSep3 + i] = T(double(e) * r[kSumGBranch0 + i]);
    }
    if (gew) {
      double t = double(w[kMaxPool]) * r[kSumGZmax] + double(w[kAvgPool]) * r[kSumGZavg] +
                 double(w[kSkip]) * r[kSumGSkip];
      for (int i = 0; i < 4; ++i) t += double(w[kSep3 + i]) * r[kSumGBranch0 + i];
      gew[0] = T(t + rb);
    }
  }
}

template <class T>
void select_channels_forward(const T* x, int64_t x_batch_stride, int N, int Cs, int64_t hw, const int32_t* sel, T* y) {
  const int64_t planes = int64_t(N) * Cs;
#pragma omp parallel for schedule(static) if (planes * hw > 65536)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t n = plane / Cs, j = plane % Cs;
    const T* src = x + n * x_batch_stride + int64_t(sel[j]) * hw;
    std::copy(src, src + hw, y + plane * hw);
  }
}

template <class T>
void select_channels_backward(const T* gy, int N, int C, int Cs, int64_t hw, const int32_t* sel, T* gx) {
  std::fill(gx, gx + int64_t(N) * C * hw, T(0));
  const int64_t planes = int64_t(N) * Cs;
#pragma omp parallel for schedule(static) if (planes * hw > 65536)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int64_t n = plane / Cs, j = plane % Cs;
    std::copy(gy + plane * hw, gy + (plane + 1) * hw, gx + (n * C + sel[j]) * hw);
  }
}

#define BNAS_INSTANTIATE(T)                                                                              \
  template void mixed_edge_forward<T>(const Dims&, const T*, const int32_t*, const T* const*, const T*, \
                                      const T*, T*, T*, T*, T*, bool, double, double, T*, T*, int32_t*); \
  template void mixed_edge_backward<T>(const Dims&, const T*, const int32_t*, const int32_t*,           \
                                       const T* const*, const T*, const T*, const T*, bool, const T*,   \
                                       T*, T* const*, T*, T*);                                            \
  template void select_channels_forward<T>(const T*, int64_t, int, int, int64_t, const int32_t*, T*);  \
  template void select_channels_backward<T>(const T*, int, int, int, int64_t, const int32_t*, T*);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
