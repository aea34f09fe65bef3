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
          int32_t a;
          pools_at(d, xp, ho, wo, mx[i], a, av[i]);
          if (with_arg) {
            arg[i] = a;
            cnt[i] = avg_pool_count(pool3_geom(d), ho, wo);
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
  const int Cs = d.Cs;
  const int32_t* restp = nullptr;
  if (sel && d.k > 1) {
    complement(d, sel, rest);
    restp = rest;
  }
  const T e = ew ? ew[0] : T(1);

  // Selected slots: pools, statistics, then the slot's output planes at their shuffled positions.
#pragma omp parallel for schedule(static)
  for (int j = 0; j < Cs; ++j) {
    const int64_t c = selected_channel(sel, j);
    SlotPools<T> pl;
    pl.compute(d, x, c, false);
    const double shift = stat_shift(d, x, sel, j);
    double sums[kNumStatSums] = {0, 0, 0, 0};
    if (training)
      for (size_t i = 0; i < pl.mx.size(); ++i) add_stat_sums(pl.mx[i], pl.av[i], shift, sums);
    slot_stats(d, j, training, sums, shift, eps, momentum, rm_max, rv_max, rm_avg, rv_avg, stats);
    const SlotStats<T> st = saved_stats(stats, Cs, j);
    const int oc = output_of_concat(j, Cs, d.k);
    for (int n = 0; n < d.N; ++n) {
      const T* xp = x + n * d.x_batch_stride + c * HW;
      const int64_t boff = (int64_t(n) * Cs + j) * HoWo;
      const size_t base = static_cast<size_t>(n * HoWo);
      T* yp = y + (int64_t(n) * d.C + oc) * HoWo;
      for (int64_t p = 0; p < HoWo; ++p)
        yp[p] = selected_output(e, w, st, pl.mx[base + p], pl.av[base + p], skip_at(d, xp, br, p, boff + p), br,
                                boff + p);
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
        int32_t arg;
        yp[int64_t(ho) * d.Wo + wo] = e * bypass_at(d, xp, ho, wo, arg);
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
  const PoolGeom g3 = pool3_geom(d);

  // Selected slots: branch gradients, the slot's sums, then (the pool-BN coefficients of a slot
  // need only that slot's sums) its input gradient planes.
  std::vector<double> sums(static_cast<size_t>(Cs) * kNumBwdSums, 0.0);
#pragma omp parallel for schedule(static)
  for (int j = 0; j < Cs; ++j) {
    const int oc = output_of_concat(j, Cs, d.k);
    const int64_t c = selected_channel(sel, j);
    const SlotStats<T> st = saved_stats(stats, Cs, j);
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
      for (int64_t p = 0; p < HoWo; ++p)
        add_bwd_sums(gp[p], z_max(st, pl.mx[base + p]), z_avg(st, pl.av[base + p]), skip_at(d, xp, br, p, boff + p),
                     br, boff + p, acc);
    }
    for (int q = 0; q < kNumBwdSums; ++q) sums[static_cast<size_t>(j) * kNumBwdSums + q] = acc[q];
    if (!gx) continue;

    T cf[kNumCoefs];
    pool_bn_coefs(e, w, st, training, acc, slot_count(d), cf);
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
          gxp[pl.arg[i]] += d_max_pool(cf, training, g, z_max(st, pl.mx[i]));
          const T ga = d_avg_pool_share(cf, training, g, z_avg(st, pl.av[i]), pl.cnt[i]);
          const int h0 = pool_max(ho * g3.s - g3.p, 0), h1 = pool_min(ho * g3.s - g3.p + g3.k, d.H);
          const int w0 = pool_max(wo * g3.s - g3.p, 0), w1 = pool_min(wo * g3.s - g3.p + g3.k, d.W);
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
            int32_t arg;
            acc += double(g) * double(bypass_at(d, xp, ho, wo, arg));
            if (gxp) bypass_grad_at(d, gxp, ho, wo, arg, e * g);
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
    weight_grads(e, w, r, rb, gw, gew);
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
