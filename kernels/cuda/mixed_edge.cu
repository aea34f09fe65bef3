// The fused partial-channel mixed edge on CUDA (float32 data, double reductions). Twin of
// kernels/cpu/mixed_edge.cpp; shared per-element math in kernels/mixed_edge_math.h.
//
// Launches (per edge, whatever the number of candidates):
//   forward  training: 3 = stats_partial + prep + output;   eval: 2 = prep + output
//     stats_partial  grid (P, Cs): block (p, j) recomputes max and avg pool of chunk p of slot j
//                    (N x Ho x Wo positions, P chunks) and writes 4 shifted sums (fixed-order warp
//                    and block tree, doubles) to the workspace: no float atomics;
//     prep           1 block: the bypass channel list (complement of the selection) and, per slot,
//                    the P partials added in order -> batch mean / invstd, running-stat update on
//                    the device (training), or the running statistics (eval) -> stats [4 Cs];
//     output         one thread per output element, written at its shuffled position: a selected
//                    slot recomputes both 3x3 pools in registers from the input (read in place,
//                    channel-slice views included), normalises them, adds skip (identity or
//                    FactorizedReduce) and the 4 weighted branch outputs, times the edge weight;
//                    a bypass element copies or 2x2-max-pools its channel. No gather, concat or
//                    shuffle tensors exist.
//   backward: up to 3 = reduce + final + dx
//     reduce         grid (P, C): blocks of a selected slot write d branch_i = e w_i g (read at
//                    the shuffled position) and 8 per-slot partial sums (g, g zmax, g zavg, g skip,
//                    g branch_i; the pools recomputed); blocks of a bypass channel write its d x
//                    (copy, or to the 2x2 arg-max: the windows do not overlap) and the partial sum
//                    of g * bypass for d edge_weight;
//     final          1 block: partials added in order -> d weights, d edge weight and, per slot,
//                    the pool-BN backward coefficients (d pool = a g + b + c z);
//     dx             one block per selected input plane (bwd_dx_smem_k): the plane in shared
//                    memory, each output window's arg-max and pool-BN gradients computed once,
//                    then every input element GATHERS from the windows that hold it, in the order
//                    of the CPU reference, plus the identity term: no atomics, deterministic.
//                    Planes too large for 48 KiB of shared memory use bwd_dx_k (one thread per
//                    element, windows recomputed from global memory, same order).
// Saved for backward: x, the branch outputs, [4 Cs] statistics (no pool outputs, no arg-max).
// Without a GPU, tests/mixed_edge/test_mixed_edge_emu runs this file's kernels on the host.
// The chunking P depends on the shape only, so results are bitwise reproducible.
#include <algorithm>

#include "kernels/check.h"
#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/mixed_edge.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
using namespace mixed_edge;

namespace {

constexpr int kMeThreads = 256;  // multiple of 32
constexpr int64_t kMeChunk = 2048;  // positions of one slot per reduction block
constexpr int64_t kMeMaxChunks = 256;

int me_chunks(const Dims& d) {
  const int64_t m = int64_t(d.N) * d.Ho * d.Wo;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>((m + kMeChunk - 1) / kMeChunk, kMeMaxChunks)));
}

struct Ptrs {
  const float* p[kMaxBranches];
};
struct MutPtrs {
  float* p[kMaxBranches];
};

// a = m / div, b = m % div in 32 bits (sizes are checked to fit on the host: 64-bit division is
// many times slower on the GPU).
__device__ __forceinline__ void divmod(uint32_t m, uint32_t div, uint32_t& a, uint32_t& b) {
  a = m / div;
  b = m - a * div;
}

__device__ __forceinline__ void chunk_range(int64_t M, int P, int p, int64_t& m0, int64_t& m1) {
  const int64_t len = (M + P - 1) / P;
  m0 = min(M, int64_t(p) * len);
  m1 = min(M, m0 + len);
}

// Slot j's pool-BN backward coefficients, kept as doubles in the workspace by bwd_final_k.
__device__ __forceinline__ void slot_coefs(const double* coef, int j, float (&cf)[kNumCoefs]) {
  for (int q = 0; q < kNumCoefs; ++q) cf[q] = float(coef[int64_t(j) * kNumCoefs + q]);
}

// ---- forward --------------------------------------------------------------------------------

__global__ void __launch_bounds__(kMeThreads) stats_partial_k(Dims d, const float* __restrict__ x,
                                                              const int32_t* __restrict__ sel,
                                                              double* __restrict__ ws) {
  const int j = blockIdx.y, P = gridDim.x, p = blockIdx.x;
  const int64_t HW = int64_t(d.H) * d.W, HoWo = int64_t(d.Ho) * d.Wo, M = int64_t(d.N) * HoWo;
  const int64_t c = selected_channel(sel, j);
  const double shift = stat_shift(d, x, sel, j);
  int64_t m0, m1;
  chunk_range(M, P, p, m0, m1);
  double v[kNumStatSums] = {0, 0, 0, 0};
  for (int64_t m = m0 + threadIdx.x; m < m1; m += blockDim.x) {
    uint32_t n, q, ho, wo;
    divmod(uint32_t(m), uint32_t(HoWo), n, q);
    divmod(q, uint32_t(d.Wo), ho, wo);
    float mx, av;
    int32_t arg;
    pools_at(d, x + int64_t(n) * d.x_batch_stride + c * HW, int(ho), int(wo), mx, arg, av);
    add_stat_sums(mx, av, shift, v);
  }
  block_sum_by_warps<kMeThreads>(v);
  if (threadIdx.x == 0)
    for (int q = 0; q < kNumStatSums; ++q) ws[(int64_t(j) * P + p) * kNumStatSums + q] = v[q];
}

__global__ void prep_k(Dims d, const float* __restrict__ x, const int32_t* __restrict__ sel, const double* ws, int P,
                       bool training, double momentum, double eps, float* rm_max, float* rv_max, float* rm_avg,
                       float* rv_avg, float* __restrict__ stats, int32_t* __restrict__ rest) {
  if (rest)
    for (int c = threadIdx.x; c < d.C; c += blockDim.x) {
      int below = 0;
      bool chosen = false;
      for (int j = 0; j < d.Cs; ++j) {
        const int v = sel[j];
        below += v < c;
        chosen = chosen || v == c;
      }
      if (!chosen) rest[c - below] = c;
    }
  for (int j = threadIdx.x; j < d.Cs; j += blockDim.x) {
    double s[kNumStatSums] = {0, 0, 0, 0};
    for (int p = 0; p < (training ? P : 0); ++p)
      for (int q = 0; q < kNumStatSums; ++q) s[q] += ws[(int64_t(j) * P + p) * kNumStatSums + q];
    slot_stats(d, j, training, s, stat_shift(d, x, sel, j), eps, momentum, rm_max, rv_max, rm_avg, rv_avg, stats);
  }
}

__global__ void __launch_bounds__(kMeThreads) output_k(Dims d, const float* __restrict__ x,
                                                       const int32_t* __restrict__ sel,
                                                       const int32_t* __restrict__ rest, Ptrs br,
                                                       const float* __restrict__ w_in, const float* __restrict__ ew,
                                                       const float* __restrict__ stats, float* __restrict__ y) {
  float w[kNumPrimitives];
#pragma unroll
  for (int i = 0; i < kNumPrimitives; ++i) w[i] = w_in[i];
  const float e = ew ? ew[0] : 1.0f;
  const int Cs = d.Cs;
  const int64_t HW = int64_t(d.H) * d.W, HoWo = int64_t(d.Ho) * d.Wo;
  const int64_t total = int64_t(d.N) * d.C * HoWo;
  BNAS_GRID_STRIDE(idx, total) {
    uint32_t plane, p, n, oc, ho, wo;
    divmod(uint32_t(idx), uint32_t(HoWo), plane, p);
    divmod(plane, uint32_t(d.C), n, oc);
    divmod(p, uint32_t(d.Wo), ho, wo);
    const int ci = concat_of_output(int(oc), Cs, d.k);
    if (ci < Cs) {
      const int j = ci;
      const float* xp = x + int64_t(n) * d.x_batch_stride + int64_t(selected_channel(sel, j)) * HW;
      float mx, av;
      int32_t arg;
      pools_at(d, xp, int(ho), int(wo), mx, arg, av);
      const int64_t bo = (int64_t(n) * Cs + j) * HoWo + p;
      y[idx] = selected_output(e, w, saved_stats(stats, Cs, j), mx, av, skip_at(d, xp, br.p, p, bo), br.p, bo);
    } else {
      const float* xp = x + int64_t(n) * d.x_batch_stride + int64_t(bypass_channel(rest, Cs, ci - Cs)) * HW;
      int32_t arg;
      y[idx] = e * bypass_at(d, xp, int(ho), int(wo), arg);
    }
  }
}

// ---- backward -------------------------------------------------------------------------------

// Workspace layout of the backward (doubles): slot partials [Cs][P][8], bypass partials
// [C - Cs][P], coefficients [Cs][6].
struct BwdLayout {
  int64_t slot, byp, coef, total;
};
BwdLayout bwd_layout(const Dims& d) {
  const int64_t P = me_chunks(d);
  BwdLayout l;
  l.slot = 0;
  l.byp = l.slot + int64_t(d.Cs) * P * kNumBwdSums;
  l.coef = l.byp + int64_t(d.C - d.Cs) * P;
  l.total = l.coef + int64_t(d.Cs) * kNumCoefs;
  return l;
}

__global__ void __launch_bounds__(kMeThreads) bwd_reduce_k(Dims d, const float* __restrict__ x,
                                                           const int32_t* __restrict__ sel,
                                                           const int32_t* __restrict__ rest, Ptrs br,
                                                           const float* __restrict__ w, const float* __restrict__ ew,
                                                           const float* __restrict__ stats,
                                                           const float* __restrict__ gy, float* __restrict__ gx,
                                                           MutPtrs gbr, bool need_sums, bool need_bypass,
                                                           double* __restrict__ ws_slot, double* __restrict__ ws_byp) {
  const int ci = blockIdx.y, P = gridDim.x, p = blockIdx.x;
  const int Cs = d.Cs;
  const int64_t HW = int64_t(d.H) * d.W, HoWo = int64_t(d.Ho) * d.Wo, M = int64_t(d.N) * HoWo;
  const float e = ew ? ew[0] : 1.0f;
  const int oc = output_of_concat(ci, Cs, d.k);
  int64_t m0, m1;
  chunk_range(M, P, p, m0, m1);
  if (ci < Cs) {
    const int j = ci;
    const int64_t c = selected_channel(sel, j);
    const SlotStats<float> st = saved_stats(stats, Cs, j);
    float wb[kMaxBranches];
#pragma unroll
    for (int i = 0; i < kMaxBranches; ++i) wb[i] = i < d.num_branches ? e * w[branch_primitive(i)] : 0.0f;
    double v[kNumBwdSums] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int64_t m = m0 + threadIdx.x; m < m1; m += blockDim.x) {
      uint32_t n32, q32;
      divmod(uint32_t(m), uint32_t(HoWo), n32, q32);
      const int64_t n = n32, q = q32;
      const float g = gy[(n * d.C + oc) * HoWo + q];
      const int64_t bo = (n * Cs + j) * HoWo + q;
#pragma unroll
      for (int i = 0; i < kMaxBranches; ++i)
        if (i < d.num_branches && gbr.p[i]) gbr.p[i][bo] = wb[i] * g;
      if (!need_sums) continue;
      uint32_t ho, wo;
      divmod(q32, uint32_t(d.Wo), ho, wo);
      const float* xp = x + n * d.x_batch_stride + c * HW;
      float mx, av;
      int32_t arg;
      pools_at(d, xp, int(ho), int(wo), mx, arg, av);
      add_bwd_sums(g, z_max(st, mx), z_avg(st, av), skip_at(d, xp, br.p, q, bo), br.p, bo, v);
    }
    if (!need_sums) return;  // block-uniform
    block_sum_by_warps<kMeThreads>(v);
    if (threadIdx.x == 0)
      for (int q = 0; q < kNumBwdSums; ++q) ws_slot[(int64_t(j) * P + p) * kNumBwdSums + q] = v[q];
  } else {
    if (!need_bypass) return;  // block-uniform
    const int b = ci - Cs;
    const int64_t c = bypass_channel(rest, Cs, b);
    double v[1] = {0};
    for (int64_t m = m0 + threadIdx.x; m < m1; m += blockDim.x) {
      uint32_t n32, q32, ho32, wo32;
      divmod(uint32_t(m), uint32_t(HoWo), n32, q32);
      divmod(q32, uint32_t(d.Wo), ho32, wo32);
      const int64_t n = n32, q = q32;
      const int ho = int(ho32), wo = int(wo32);
      const float g = gy[(n * d.C + oc) * HoWo + q];
      const float* xp = x + n * d.x_batch_stride + c * HW;
      int32_t arg;
      v[0] += double(g) * double(bypass_at(d, xp, ho, wo, arg));
      if (gx) bypass_grad_at(d, gx + (n * d.C + c) * HW, ho, wo, arg, e * g);
    }
    block_sum_by_warps<kMeThreads>(v);
    if (threadIdx.x == 0) ws_byp[int64_t(b) * P + p] = v[0];
  }
}

__global__ void __launch_bounds__(kMeThreads) bwd_final_k(Dims d, int P, const float* __restrict__ w,
                                                          const float* __restrict__ ew,
                                                          const float* __restrict__ stats, bool training,
                                                          bool have_sums, bool need_bypass,
                                                          const double* __restrict__ ws_slot,
                                                          const double* __restrict__ ws_byp,
                                                          double* __restrict__ coef, float* __restrict__ gw,
                                                          float* __restrict__ gew) {
  const int Cs = d.Cs;
  const float e = ew ? ew[0] : 1.0f;
  double acc[kNumBwdSums + 1] = {0, 0, 0, 0, 0, 0, 0, 0, 0};  // the slots' sums, then the bypass sum
  for (int j = threadIdx.x; j < Cs; j += blockDim.x) {
    double t[kNumBwdSums] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int p = 0; p < (have_sums ? P : 0); ++p)
      for (int q = 0; q < kNumBwdSums; ++q) t[q] += ws_slot[(int64_t(j) * P + p) * kNumBwdSums + q];
    for (int q = 0; q < kNumBwdSums; ++q) acc[q] += t[q];
    if (coef) {
      float cf[kNumCoefs];
      pool_bn_coefs(e, w, saved_stats(stats, Cs, j), training, t, slot_count(d), cf);
      for (int q = 0; q < kNumCoefs; ++q) coef[int64_t(j) * kNumCoefs + q] = cf[q];
    }
  }
  if (need_bypass)
    for (int b = threadIdx.x; b < d.C - Cs; b += blockDim.x)
      for (int p = 0; p < P; ++p) acc[kNumBwdSums] += ws_byp[int64_t(b) * P + p];
  block_sum_by_warps<kMeThreads>(acc);
  if (threadIdx.x == 0) weight_grads(e, w, acc, acc[kNumBwdSums], gw, gew);
}

__global__ void __launch_bounds__(kMeThreads) bwd_dx_k(Dims d, const float* __restrict__ x,
                                                       const int32_t* __restrict__ sel, const float* __restrict__ w,
                                                       const float* __restrict__ ew,
                                                       const float* __restrict__ stats,
                                                       const double* __restrict__ coef, bool training,
                                                       const float* __restrict__ gy, float* __restrict__ gx) {
  const int Cs = d.Cs;
  const int64_t HW = int64_t(d.H) * d.W, HoWo = int64_t(d.Ho) * d.Wo;
  const int64_t total = int64_t(d.N) * Cs * HW;
  const float e = ew ? ew[0] : 1.0f;
  const float wskip = e * w[kSkip];
  const PoolGeom g3 = pool3_geom(d);
  BNAS_GRID_STRIDE(idx, total) {
    uint32_t plane, p, n32, j32, h32, w32;
    divmod(uint32_t(idx), uint32_t(HW), plane, p);
    divmod(plane, uint32_t(Cs), n32, j32);
    divmod(p, uint32_t(d.W), h32, w32);
    const int n = int(n32), j = int(j32), h = int(h32), wi = int(w32);
    const int64_t c = selected_channel(sel, j);
    const int oc = output_of_concat(j, Cs, d.k);
    const float* gp = gy + (int64_t(n) * d.C + oc) * HoWo;
    const float* xp = x + n * d.x_batch_stride + c * HW;
    float cf[kNumCoefs];
    slot_coefs(coef, j, cf);
    const SlotStats<float> st = saved_stats(stats, Cs, j);
    float acc = d.stride == 1 ? wskip * gp[p] : 0.0f;
    int ho0, ho1, wo0, wo1;
    pool_covering(h, g3.k, g3.s, g3.p, g3.Ho, ho0, ho1);
    pool_covering(wi, g3.k, g3.s, g3.p, g3.Wo, wo0, wo1);
    for (int ho = ho0; ho < ho1; ++ho)
      for (int wo = wo0; wo < wo1; ++wo) {
        float mx, av;
        int32_t arg;
        pools_at(d, xp, ho, wo, mx, arg, av);
        const float g = gp[int64_t(ho) * d.Wo + wo];
        if (arg == int(p)) acc += d_max_pool(cf, training, g, z_max(st, mx));
        acc += d_avg_pool_share(cf, training, g, z_avg(st, av), avg_pool_count(g3, ho, wo));
      }
    gx[(int64_t(n) * d.C + c) * HW + p] = acc;
  }
}

// d x of one selected input plane per block, staged in shared memory: the x plane, then per
// output window its arg-max and its two pool-BN gradients (d pool, computed once per window
// instead of once per covering input element), then every input element gathers from the
// windows that hold it, in the same order as bwd_dx_k and the CPU reference.
// Shared memory: H W + 3 Ho Wo words (dx_smem_bytes); bwd_dx_k serves planes that do not fit.
size_t dx_smem_bytes(const Dims& d) {
  return sizeof(float) * (size_t(d.H) * d.W + 3 * size_t(d.Ho) * d.Wo);
}
constexpr size_t kMeDxSmemLimit = 48 * 1024;  // the default dynamic shared memory per block

__global__ void __launch_bounds__(kMeThreads) bwd_dx_smem_k(Dims d, const float* __restrict__ x,
                                                            const int32_t* __restrict__ sel,
                                                            const float* __restrict__ w,
                                                            const float* __restrict__ ew,
                                                            const float* __restrict__ stats,
                                                            const double* __restrict__ coef, bool training,
                                                            const float* __restrict__ gy, float* __restrict__ gx) {
  extern __shared__ float me_smem[];
  const int Cs = d.Cs;
  const int HW = d.H * d.W, HoWo = d.Ho * d.Wo;
  const PoolGeom g3 = pool3_geom(d);
  float* xs = me_smem;
  float* dpm = xs + HW;
  float* dpa = dpm + HoWo;
  int32_t* args = reinterpret_cast<int32_t*>(dpa + HoWo);
  const int n = int(blockIdx.x / unsigned(Cs)), j = int(blockIdx.x - unsigned(n) * unsigned(Cs));
  const int64_t c = selected_channel(sel, j);
  const int oc = output_of_concat(j, Cs, d.k);
  const float* gp = gy + (int64_t(n) * d.C + oc) * HoWo;
  const float* xp = x + int64_t(n) * d.x_batch_stride + c * HW;
  for (int i = threadIdx.x; i < HW; i += blockDim.x) xs[i] = xp[i];
  __syncthreads();
  {
    float cf[kNumCoefs];
    slot_coefs(coef, j, cf);
    const SlotStats<float> st = saved_stats(stats, Cs, j);
    for (int o = threadIdx.x; o < HoWo; o += blockDim.x) {
      const int ho = o / d.Wo, wo = o - ho * d.Wo;
      float mx, av;
      int32_t arg;
      pools_at(d, xs, ho, wo, mx, arg, av);
      const float g = gp[o];
      dpm[o] = d_max_pool(cf, training, g, z_max(st, mx));
      dpa[o] = d_avg_pool_share(cf, training, g, z_avg(st, av), avg_pool_count(g3, ho, wo));
      args[o] = arg;
    }
  }
  __syncthreads();
  const float e = ew ? ew[0] : 1.0f;
  const float wskip = e * w[kSkip];
  float* gxp = gx + (int64_t(n) * d.C + c) * HW;
  for (int p = threadIdx.x; p < HW; p += blockDim.x) {
    const int h = p / d.W, wi = p - h * d.W;
    float acc = d.stride == 1 ? wskip * gp[p] : 0.0f;
    int ho0, ho1, wo0, wo1;
    pool_covering(h, g3.k, g3.s, g3.p, g3.Ho, ho0, ho1);
    pool_covering(wi, g3.k, g3.s, g3.p, g3.Wo, wo0, wo1);
    for (int ho = ho0; ho < ho1; ++ho)
      for (int wo = wo0; wo < wo1; ++wo) {
        const int o = ho * d.Wo + wo;
        if (args[o] == p) acc += dpm[o];
        acc += dpa[o];
      }
    gxp[p] = acc;
  }
}

void check_sizes(const Dims& d) {
  const int64_t big = int64_t(d.N) * d.C * std::max<int64_t>(int64_t(d.H) * d.W, int64_t(d.Ho) * d.Wo);
  BNAS_CHECK(big < (int64_t(1) << 31), "mixed_edge: an edge input of ", d.N, " x ", d.C, " x ", d.H, " x ", d.W,
             " is too large for the CUDA kernels (at most 2^31 elements); split the batch");
}

}  // namespace

int64_t mixed_edge_forward_workspace_doubles(const Dims& d, bool training) {
  return training ? int64_t(d.Cs) * me_chunks(d) * kNumStatSums : 0;
}
int64_t mixed_edge_backward_workspace_doubles(const Dims& d) { return bwd_layout(d).total; }

void mixed_edge_forward(const Dims& d, const float* x, const int32_t* sel, const float* const* br, const float* w,
                        const float* ew, float* rm_max, float* rv_max, float* rm_avg, float* rv_avg, bool training,
                        double momentum, double eps, float* y, float* stats, int32_t* rest, double* ws,
                        cudaStream_t s) {
  check_sizes(d);
  Ptrs bp{};
  for (int i = 0; i < d.num_branches; ++i) bp.p[i] = br[i];
  const int P = me_chunks(d);
  int32_t* restp = (sel && d.k > 1) ? rest : nullptr;
  if (training) {
    stats_partial_k<<<dim3(P, d.Cs), kMeThreads, 0, s>>>(d, x, sel, ws);
    CUDA_CHECK_LAUNCH(s);
  }
  prep_k<<<1, kMeThreads, 0, s>>>(d, x, sel, ws, P, training, momentum, eps, rm_max, rv_max, rm_avg, rv_avg, stats,
                                  restp);
  CUDA_CHECK_LAUNCH(s);
  const int64_t total = int64_t(d.N) * d.C * d.Ho * d.Wo;
  output_k<<<blocks_for(total), kMeThreads, 0, s>>>(d, x, sel, restp, bp, w, ew, stats, y);
  CUDA_CHECK_LAUNCH(s);
}

void mixed_edge_backward(const Dims& d, const float* x, const int32_t* sel, const int32_t* rest, const float* const* br,
                         const float* w, const float* ew, const float* stats, bool training, const float* gy,
                         float* gx, float* const* gbr, float* gw, float* gew, double* ws, cudaStream_t s) {
  check_sizes(d);
  Ptrs bp{};
  MutPtrs gbp{};
  for (int i = 0; i < d.num_branches; ++i) {
    bp.p[i] = br[i];
    gbp.p[i] = gbr ? gbr[i] : nullptr;
  }
  const int32_t* restp = (sel && d.k > 1) ? rest : nullptr;
  const bool need_sums = (gx && training) || gw || gew;
  const bool need_bypass = (gx || gew) && d.C > d.Cs;
  bool any_branch = false;
  for (int i = 0; i < d.num_branches; ++i) any_branch = any_branch || gbp.p[i];
  const int P = me_chunks(d);
  const BwdLayout l = bwd_layout(d);
  if (need_sums || need_bypass || any_branch) {
    bwd_reduce_k<<<dim3(P, d.C), kMeThreads, 0, s>>>(d, x, sel, restp, bp, w, ew, stats, gy, gx, gbp, need_sums,
                                                     need_bypass, ws + l.slot, ws + l.byp);
    CUDA_CHECK_LAUNCH(s);
  }
  if (gx || gw || gew) {
    bwd_final_k<<<1, kMeThreads, 0, s>>>(d, P, w, ew, stats, training, need_sums, need_bypass && gew, ws + l.slot,
                                         ws + l.byp, gx ? ws + l.coef : nullptr, gw, gew);
    CUDA_CHECK_LAUNCH(s);
  }
  if (gx) {
    const int64_t total = int64_t(d.N) * d.Cs * d.H * d.W;
    const size_t smem = dx_smem_bytes(d);
    if (smem <= kMeDxSmemLimit) {
      bwd_dx_smem_k<<<int64_t(d.N) * d.Cs, kMeThreads, smem, s>>>(d, x, sel, w, ew, stats, ws + l.coef, training,
                                                                  gy, gx);
    } else {
      bwd_dx_k<<<blocks_for(total), kMeThreads, 0, s>>>(d, x, sel, w, ew, stats, ws + l.coef, training, gy, gx);
    }
    CUDA_CHECK_LAUNCH(s);
  }
}

}  // namespace bnas::kernels::cuda
