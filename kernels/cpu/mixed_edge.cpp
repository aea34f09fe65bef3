// CPU reference of the fused mixed edge (see kernels/cpu/mixed_edge.h and
// kernels/cuda/mixed_edge.cu). The passes mirror the CUDA launches:
//   forward : per-slot pool statistics (training) -> one pass over the output planes that
//             recomputes both pools, normalises them and adds the weighted branches, writing the
//             shuffled output position directly (bypass planes copy or 2x2 max-pool);
//   backward: one pass over the selected and bypass planes for the branch gradients, the bypass
//             input gradient and every per-slot sum -> a tiny finalisation (d weights, d edge
//             weight, pool-BN coefficients) -> one pass over the selected input planes for d x.
// Reductions run per slot in a fixed order into double accumulators, so results do not depend on
// the number of OpenMP threads.
#include "kernels/cpu/mixed_edge.h"

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

#pragma omp parallel for schedule(static)
  for (int j = 0; j < Cs; ++j) {
    double mean_max, inv_max, mean_avg, inv_avg;
    if (training) {
      const int64_t c = selected_channel(sel, j);
      const double shift = double(x[c * HW]);
      double s1m = 0, s2m = 0, s1a = 0, s2a = 0;
      for (int n = 0; n < d.N; ++n) {
        const T* xp = x + n * d.x_batch_stride + c * HW;
        for (int ho = 0; ho < d.Ho; ++ho)
          for (int wo = 0; wo < d.Wo; ++wo) {
            T mx, av;
            int arg, cnt;
            pool3_at(xp, d.H, d.W, s, ho, wo, mx, arg, av, cnt);
            const double dm = double(mx) - shift, da = double(av) - shift;
            s1m += dm;
            s2m += dm * dm;
            s1a += da;
            s2a += da * da;
          }
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
    stats[kStatMeanMax * Cs + j] = T(mean_max);
    stats[kStatInvMax * Cs + j] = T(inv_max);
    stats[kStatMeanAvg * Cs + j] = T(mean_avg);
    stats[kStatInvAvg * Cs + j] = T(inv_avg);
  }

  const T e = ew ? ew[0] : T(1);
  const int64_t planes = int64_t(d.N) * d.C;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int n = int(plane / d.C), oc = int(plane % d.C);
    const int ci = concat_of_output(oc, Cs, d.k);
    T* yp = y + plane * HoWo;
    if (ci < Cs) {
      const int j = ci;
      const T* xp = x + n * d.x_batch_stride + int64_t(selected_channel(sel, j)) * HW;
      const T mmax = stats[kStatMeanMax * Cs + j], imax = stats[kStatInvMax * Cs + j];
      const T mavg = stats[kStatMeanAvg * Cs + j], iavg = stats[kStatInvAvg * Cs + j];
      const T* bp[kMaxBranches];
      for (int i = 0; i < d.num_branches; ++i) bp[i] = br[i] + (int64_t(n) * Cs + j) * HoWo;
      for (int ho = 0; ho < d.Ho; ++ho)
        for (int wo = 0; wo < d.Wo; ++wo) {
          const int64_t p = int64_t(ho) * d.Wo + wo;
          T mx, av;
          int arg, cnt;
          pool3_at(xp, d.H, d.W, s, ho, wo, mx, arg, av, cnt);
          const T skip = s == 1 ? xp[p] : bp[4][p];
          yp[p] = e * mixed_sum(w, bn_apply(mx, mmax, imax), bn_apply(av, mavg, iavg), skip, bp[0][p], bp[1][p],
                                bp[2][p], bp[3][p]);
        }
    } else {
      const T* xp = x + n * d.x_batch_stride + int64_t(bypass_channel(restp, Cs, ci - Cs)) * HW;
      for (int ho = 0; ho < d.Ho; ++ho)
        for (int wo = 0; wo < d.Wo; ++wo) {
          int arg;
          yp[int64_t(ho) * d.Wo + wo] = e * (s == 1 ? xp[int64_t(ho) * d.W + wo] : max2x2_at(xp, d.W, ho, wo, arg));
        }
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

  // Pass 1: selected slots (branch gradients, per-slot sums) and bypass planes.
  std::vector<double> sums(static_cast<size_t>(Cs) * kNumBwdSums, 0.0);
  std::vector<double> byp(static_cast<size_t>(d.C - Cs), 0.0);
#pragma omp parallel for schedule(static)
  for (int j = 0; j < Cs; ++j) {
    const int oc = output_of_concat(j, Cs, d.k);
    const int64_t c = selected_channel(sel, j);
    const T mmax = stats[kStatMeanMax * Cs + j], imax = stats[kStatInvMax * Cs + j];
    const T mavg = stats[kStatMeanAvg * Cs + j], iavg = stats[kStatInvAvg * Cs + j];
    T wb[kMaxBranches];
    for (int i = 0; i < nb; ++i) wb[i] = e * w[branch_primitive(i)];
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
      for (int ho = 0; ho < d.Ho; ++ho)
        for (int wo = 0; wo < d.Wo; ++wo) {
          const int64_t p = int64_t(ho) * d.Wo + wo;
          T mx, av;
          int arg, cnt;
          pool3_at(xp, d.H, d.W, s, ho, wo, mx, arg, av, cnt);
          const double g = double(gp[p]);
          acc[kSumG] += g;
          acc[kSumGZmax] += g * double(bn_apply(mx, mmax, imax));
          acc[kSumGZavg] += g * double(bn_apply(av, mavg, iavg));
          acc[kSumGSkip] += g * double(s == 1 ? xp[p] : br[4][boff + p]);
          for (int i = 0; i < 4; ++i) acc[kSumGBranch0 + i] += g * double(br[i][boff + p]);
        }
    }
    for (int q = 0; q < kNumBwdSums; ++q) sums[static_cast<size_t>(j) * kNumBwdSums + q] = acc[q];
  }
  const bool bypass_needed = gx || gew;
#pragma omp parallel for schedule(static)
  for (int b = 0; b < d.C - Cs; ++b) {
    if (!bypass_needed) continue;
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

  // Finalisation: d weights, d edge weight, pool-BN coefficients.
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
  if (!gx) return;

  // Pass 2: d x of the selected channels (pool-BN backward, identity), one plane at a time.
  const int64_t planes = int64_t(d.N) * Cs;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < planes; ++plane) {
    const int n = int(plane / Cs), j = int(plane % Cs);
    const int oc = output_of_concat(j, Cs, d.k);
    const int64_t c = selected_channel(sel, j);
    const T* gp = gy + (int64_t(n) * d.C + oc) * HoWo;
    const T* xp = x + n * d.x_batch_stride + c * HW;
    T* gxp = gx + (int64_t(n) * d.C + c) * HW;
    const T mmax = stats[kStatMeanMax * Cs + j], imax = stats[kStatInvMax * Cs + j];
    const T mavg = stats[kStatMeanAvg * Cs + j], iavg = stats[kStatInvAvg * Cs + j];
    const size_t so = static_cast<size_t>(j) * kNumBwdSums;
    T cf[kNumCoefs];
    cf[kCoefAmax] = e * w[kMaxPool] * imax;
    cf[kCoefAavg] = e * w[kAvgPool] * iavg;
    cf[kCoefBmax] = training ? T(-double(cf[kCoefAmax]) * sums[so + kSumG] / m) : T(0);
    cf[kCoefCmax] = training ? T(-double(cf[kCoefAmax]) * sums[so + kSumGZmax] / m) : T(0);
    cf[kCoefBavg] = training ? T(-double(cf[kCoefAavg]) * sums[so + kSumG] / m) : T(0);
    cf[kCoefCavg] = training ? T(-double(cf[kCoefAavg]) * sums[so + kSumGZavg] / m) : T(0);
    const T wskip = e * w[kSkip];
    for (int64_t p = 0; p < HW; ++p) gxp[p] = s == 1 ? wskip * gp[p] : T(0);
    for (int ho = 0; ho < d.Ho; ++ho)
      for (int wo = 0; wo < d.Wo; ++wo) {
        T mx, av;
        int arg, cnt;
        pool3_at(xp, d.H, d.W, s, ho, wo, mx, arg, av, cnt);
        const T g = gp[int64_t(ho) * d.Wo + wo];
        gxp[arg] += cf[kCoefAmax] * g + cf[kCoefBmax] + cf[kCoefCmax] * bn_apply(mx, mmax, imax);
        const T ga = (cf[kCoefAavg] * g + cf[kCoefBavg] + cf[kCoefCavg] * bn_apply(av, mavg, iavg)) / T(cnt);
        const int h0 = me_max(ho * s - 1, 0), h1 = me_min(ho * s + 2, d.H);
        const int w0 = me_max(wo * s - 1, 0), w1 = me_min(wo * s + 2, d.W);
        for (int h = h0; h < h1; ++h)
          for (int ww = w0; ww < w1; ++ww) gxp[int64_t(h) * d.W + ww] += ga;
      }
  }
}

#define BNAS_INSTANTIATE(T)                                                                              \
  template void mixed_edge_forward<T>(const Dims&, const T*, const int32_t*, const T* const*, const T*, \
                                      const T*, T*, T*, T*, T*, bool, double, double, T*, T*, int32_t*); \
  template void mixed_edge_backward<T>(const Dims&, const T*, const int32_t*, const int32_t*,           \
                                       const T* const*, const T*, const T*, const T*, bool, const T*,   \
                                       T*, T* const*, T*, T*);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
