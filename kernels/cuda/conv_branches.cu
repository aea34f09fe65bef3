// The fused convolution branches of a search edge on CUDA (float32 data, double reductions). Twin
// of kernels/cpu/conv_branches.cpp; shared per-element math in kernels/conv_branches_math.h.
//
// Launches per edge (the six stages of the four branches batched on the grid's y dimension):
//   forward: 5 = stage (stages 0..3) + stats (0..3) + stage (4, 5) + stats (4, 5) + output
//     stage   one thread per output pixel and stage: the depthwise of every channel, then its 1x1
//             (dw and pre saved for the backward);
//     stats   one block per channel and stage: mean, then the sums shifted by it, in double
//             (block tree), and the running-statistics update (training) or the running
//             statistics (eval) -> [2 Cs] mean, invstd;
//     output  one thread per element of the 4 x N x Cs x Ho x Wo result: the normalised pre of
//             each branch's last stage.
//   backward: 7 (6 without weight gradients) = coef + pw (stages 4, 5, 2, 3) + first (4, 5 -> the
//             BN outputs of 0, 1) + coef + pw (0, 1) + dx + weights
//     coef    one block per channel and stage: the BN backward sums (block tree, double);
//     pw      one thread per output pixel and stage: g_pre and g_dw;
//     first   one thread per element of stages 4 and 5's input: the depthwise transpose (a gather
//             over the taps, in ascending order) through the ReLU;
//     dx      one thread per element of the edge input: the four first stages' transposes
//             through the ReLU, zero on channels the edge did not select;
//     weights one block per weight element and stage: a double sum over the batch's pixels,
//             written or added to the parameters' grad() buffers (no accumulation launches).
// No atomics: the results are bitwise reproducible for a shape.
#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/conv_branches.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
using namespace conv_branches;

namespace {

constexpr int kCbThreads = 256;  // reduction blocks (a power of two, for block_sum)

struct StageList {
  int s[4];
};
struct Running {
  float* p[2 * kNumStages];
};
struct WeightGrads {
  float* dw[kNumStages];
  float* pw[kNumStages];
};

__global__ void stage_k(Dims d, Stages<float> st, int s0) {
  const int s = s0 + int(blockIdx.y);
  const int64_t P = plane(d);
  BNAS_GRID_STRIDE(q, int64_t(d.N) * P) stage_forward_at(d, st, s, int(q / P), int(q % P / d.Wo), int(q % d.Wo));
}

__global__ void __launch_bounds__(kCbThreads) stats_k(Dims d, Stages<float> st, int s0, Running r, bool training,
                                                       double momentum, double eps) {
  const int s = s0 + int(blockIdx.y), c = int(blockIdx.x);
  const int64_t P = plane(d), m = int64_t(d.N) * P;
  __shared__ double shift_of_block;
  double shift = 0, sums[2] = {0, 0};
  if (training) {
    double total[1] = {0};
    for (int64_t i = threadIdx.x; i < m; i += kCbThreads) total[0] += double(st.pre[s][(i / P * d.Cs + c) * P + i % P]);
    block_sum<kCbThreads>(total);
    if (threadIdx.x == 0) shift_of_block = total[0] / double(m);
    __syncthreads();
    shift = shift_of_block;
    for (int64_t i = threadIdx.x; i < m; i += kCbThreads) {
      const double e = double(st.pre[s][(i / P * d.Cs + c) * P + i % P]) - shift;
      sums[0] += e;
      sums[1] += e * e;
    }
    block_sum<kCbThreads>(sums);
  }
  if (threadIdx.x == 0)
    bn_channel_stats(training, sums[0], sums[1], shift, double(m), eps, momentum, r.p[2 * s], r.p[2 * s + 1], c,
                     st.stats[s][c], st.stats[s][d.Cs + c]);
}

__global__ void output_k(Dims d, Stages<float> st, float* y) {
  const int b = int(blockIdx.y);
  const int64_t S = stage_numel(d);
  BNAS_GRID_STRIDE(i, S) y[b * S + i] = branch_output_at(d, st, b, i);
}

__global__ void __launch_bounds__(kCbThreads) coef_k(Dims d, Stages<float> st, StageList list, bool training,
                                                      const float* gy, float* ws) {
  const int s = list.s[blockIdx.y], c = int(blockIdx.x);
  const int64_t P = plane(d), m = int64_t(d.N) * P;
  const float* g = stage_gy(d, gy, static_cast<const float*>(ws), s);
  const double mean = double(st.stats[s][c]);
  double sums[2] = {0, 0};
  if (training) {
    for (int64_t i = threadIdx.x; i < m; i += kCbThreads) {
      const int64_t o = (i / P * d.Cs + c) * P + i % P;
      sums[0] += double(g[o]);
      sums[1] += double(g[o]) * (double(st.pre[s][o]) - mean);
    }
    block_sum<kCbThreads>(sums);
  }
  if (threadIdx.x == 0) {
    float* coef = stage_coef(d, ws, s);
    bn_backward_coefs(training, sums[0], sums[1], double(m), st.stats[s][d.Cs + c], coef[c], coef[d.Cs + c]);
  }
}

__global__ void pw_k(Dims d, Stages<float> st, StageList list, bool training, const float* gy, float* ws) {
  const int s = list.s[blockIdx.y];
  const int64_t P = plane(d);
  BNAS_GRID_STRIDE(i, int64_t(d.N) * P)
  stage_pw_backward_at(d, st, s, stage_gy(d, gy, static_cast<const float*>(ws), s), stage_coef(d, ws, s), training,
                       int(i / P), i % P, stage_gpre(d, ws, s), stage_gdw(d, ws, s));
}

__global__ void first_k(Dims d, Stages<float> st, float* ws) {
  const int q = int(blockIdx.y), s = kNumFirstStages + q;
  const int64_t P = plane(d), S = stage_numel(d);
  BNAS_GRID_STRIDE(i, S) {
    const int n = int(i / (int64_t(d.Cs) * P)), ci = int(i / P % d.Cs), h = int(i % P / d.Wo), w = int(i % d.Wo);
    const float g = stage_dw_backward_at(d, st, s, static_cast<const float*>(stage_gdw(d, ws, s)), n, ci, h, w);
    ws[bwd_layout(d).gfirst + q * S + i] = stage_input_passes(d, st, s, n, ci, h, w) ? g : 0.0f;
  }
}

__global__ void dx_k(Dims d, Stages<float> st, const float* ws, float* gx) {
  const int64_t HW = int64_t(d.H) * d.W;
  BNAS_GRID_STRIDE(i, int64_t(d.N) * d.C * HW) {
    const int n = int(i / (int64_t(d.C) * HW)), c = int(i / HW % d.C), h = int(i % HW / d.W), w = int(i % d.W);
    const int j = selected_slot(st.sel, d.Cs, c);
    float g = 0.0f;
    if (j >= 0 && stage_input_passes(d, st, 0, n, j, h, w))
      for (int s = 0; s < kNumFirstStages; ++s)
        g += stage_dw_backward_at(d, st, s, ws + bwd_layout(d).gdw + s * stage_numel(d), n, j, h, w);
    gx[i] = g;
  }
}

__global__ void __launch_bounds__(kCbThreads) weights_k(Dims d, Stages<float> st, const float* ws, WeightGrads out,
                                                         bool accumulate) {
  const int s = int(blockIdx.y);
  const int64_t e = blockIdx.x, cc = int64_t(d.Cs) * d.Cs;
  float* dst = e < cc ? out.pw[s] : out.dw[s];
  if (e >= stage_weight_elems(d.Cs, s) || !dst) return;  // the whole block leaves together
  const int64_t P = plane(d), m = int64_t(d.N) * P;
  const float* gpre = ws + bwd_layout(d).gpre + s * stage_numel(d);
  const float* gdw = ws + bwd_layout(d).gdw + s * stage_numel(d);
  double acc[1] = {0};
  for (int64_t i = threadIdx.x; i < m; i += kCbThreads)
    acc[0] += stage_weight_grad_term(d, st, s, gpre, gdw, e, int(i / P), int(i % P / d.Wo), int(i % d.Wo));
  block_sum<kCbThreads>(acc);
  if (threadIdx.x == 0) {
    float& o = dst[e < cc ? e : e - cc];
    o = accumulate ? o + float(acc[0]) : float(acc[0]);
  }
}

}  // namespace

int64_t conv_branches_backward_workspace(const Dims& d) { return bwd_layout(d).total; }

void conv_branches_forward(const Dims& d, const Stages<float>& st, float* const* running, bool training,
                           double momentum, double eps, float* y, cudaStream_t s) {
  Running r{};
  for (int i = 0; i < 2 * kNumStages; ++i) r.p[i] = running ? running[i] : nullptr;
  const int64_t pixels = int64_t(d.N) * plane(d);
  stage_k<<<dim3(blocks_for(pixels), kNumFirstStages), kThreads, 0, s>>>(d, st, 0);
  CUDA_CHECK_LAUNCH(s);
  stats_k<<<dim3(d.Cs, kNumFirstStages), kCbThreads, 0, s>>>(d, st, 0, r, training, momentum, eps);
  CUDA_CHECK_LAUNCH(s);
  stage_k<<<dim3(blocks_for(pixels), kNumStages - kNumFirstStages), kThreads, 0, s>>>(d, st, kNumFirstStages);
  CUDA_CHECK_LAUNCH(s);
  stats_k<<<dim3(d.Cs, kNumStages - kNumFirstStages), kCbThreads, 0, s>>>(d, st, kNumFirstStages, r, training,
                                                                           momentum, eps);
  CUDA_CHECK_LAUNCH(s);
  output_k<<<dim3(blocks_for(stage_numel(d)), kNumBranches), kThreads, 0, s>>>(d, st, y);
  CUDA_CHECK_LAUNCH(s);
}

void conv_branches_backward(const Dims& d, const Stages<float>& st, bool training, const float* gy, float* gx,
                            float* const* gwdw, float* const* gwpw, bool accumulate, float* ws, cudaStream_t s) {
  const int64_t pixels = int64_t(d.N) * plane(d);
  const StageList last{{4, 5, 2, 3}}, first{{0, 1, 0, 0}};
  coef_k<<<dim3(d.Cs, 4), kCbThreads, 0, s>>>(d, st, last, training, gy, ws);
  CUDA_CHECK_LAUNCH(s);
  pw_k<<<dim3(blocks_for(pixels), 4), kThreads, 0, s>>>(d, st, last, training, gy, ws);
  CUDA_CHECK_LAUNCH(s);
  first_k<<<dim3(blocks_for(stage_numel(d)), 2), kThreads, 0, s>>>(d, st, ws);
  CUDA_CHECK_LAUNCH(s);
  coef_k<<<dim3(d.Cs, 2), kCbThreads, 0, s>>>(d, st, first, training, gy, ws);
  CUDA_CHECK_LAUNCH(s);
  pw_k<<<dim3(blocks_for(pixels), 2), kThreads, 0, s>>>(d, st, first, training, gy, ws);
  CUDA_CHECK_LAUNCH(s);
  if (gx) {
    dx_k<<<blocks_for(int64_t(d.N) * d.C * d.H * d.W), kThreads, 0, s>>>(d, st, ws, gx);
    CUDA_CHECK_LAUNCH(s);
  }
  if (gwdw || gwpw) {
    WeightGrads out{};
    for (int q = 0; q < kNumStages; ++q) {
      out.dw[q] = gwdw ? gwdw[q] : nullptr;
      out.pw[q] = gwpw ? gwpw[q] : nullptr;
    }
    const int64_t per = stage_weight_elems(d.Cs, kNumStages - 1);
    weights_k<<<dim3(unsigned(per), kNumStages), kCbThreads, 0, s>>>(d, st, ws, out, accumulate);
    CUDA_CHECK_LAUNCH(s);
  }
}

}  // namespace bnas::kernels::cuda
