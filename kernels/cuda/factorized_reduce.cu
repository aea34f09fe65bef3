// FactorizedReduce as one fused op on CUDA (float32 data, double reductions). Twin of
// kernels/cpu/factorized_reduce.cpp; shared per-element math in kernels/factorized_reduce_math.h.
//
// Launches per call:
//   forward: 3 = conv + stats + output
//     conv    one thread per element of pre (N x Co x Ho x Wo): the strided 1x1 of its half,
//             straight into the concatenated layout (pre saved for the backward);
//     stats   one block per channel: the mean, then the sums shifted by it, in double (block
//             tree), and the running-statistics update (training) or the running statistics
//             (eval) -> [2 Co] mean, invstd;
//     output  one thread per element of y: the BatchNorm of pre.
//   backward: 3 (fewer when some gradients are not asked for) = coef + dx + weights
//     coef    one block per channel: the BN backward sums (block tree, double) -> k1, k3, and the
//             gradients of gamma and beta, written or added to their grad() buffers;
//     dx      one thread per element of the input: the transposed 1x1 of the half the pixel
//             feeds, through the BatchNorm and the ReLU; zero on channels not selected;
//     weights one block per weight element and half: a double sum over the batch's pixels,
//             written or added to the parameters' grad() buffers (no accumulation launches).
// No atomics: the results are bitwise reproducible for a shape.
#include "kernels/cuda/block_sum.cuh"
#include "kernels/cuda/factorized_reduce.cuh"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda_check.h"

namespace bnas::kernels::cuda {
using namespace factorized_reduce;

namespace {

constexpr int kFrThreads = 256;  // reduction blocks (a power of two, for block_sum)

struct WeightGrads {
  float* w[kHalves];
};

// Element k (0 <= k < N HoWo) of channel c in an N x Co x Ho x Wo tensor.
__device__ __forceinline__ int64_t channel_elem(const Dims& d, int c, int64_t k) {
  const int64_t P = plane(d);
  return (k / P * d.Co + c) * P + k % P;
}

__global__ void fr_conv_k(Dims d, Operands<float> op) {
  BNAS_GRID_STRIDE(i, out_numel(d)) op.pre[i] = conv_at(d, op, i);
}

__global__ void __launch_bounds__(kFrThreads) fr_stats_k(Dims d, Operands<float> op, float* running_mean,
                                                          float* running_var, bool training, double momentum,
                                                          double eps) {
  const int c = int(blockIdx.x);
  const int64_t m = int64_t(d.N) * plane(d);
  __shared__ double shift_of_block;
  double shift = 0, sums[2] = {0, 0};
  if (training) {
    double total[1] = {0};
    for (int64_t k = threadIdx.x; k < m; k += kFrThreads) total[0] += double(op.pre[channel_elem(d, c, k)]);
    block_sum<kFrThreads>(total);
    if (threadIdx.x == 0) shift_of_block = total[0] / double(m);
    __syncthreads();
    shift = shift_of_block;
    for (int64_t k = threadIdx.x; k < m; k += kFrThreads) {
      const double e = double(op.pre[channel_elem(d, c, k)]) - shift;
      sums[0] += e;
      sums[1] += e * e;
    }
    block_sum<kFrThreads>(sums);
  }
  if (threadIdx.x == 0)
    bn_channel_stats(training, sums[0], sums[1], shift, double(m), eps, momentum, running_mean, running_var, c,
                     op.stats[c], op.stats[d.Co + c]);
}

__global__ void fr_output_k(Dims d, Operands<float> op, float* y) {
  BNAS_GRID_STRIDE(i, out_numel(d)) y[i] = output_at(d, op, i);
}

__global__ void __launch_bounds__(kFrThreads) fr_coef_k(Dims d, Operands<float> op, bool training, const float* gy,
                                                         float* coef, float* ggamma, float* gbeta, bool accumulate) {
  const int c = int(blockIdx.x);
  const int64_t m = int64_t(d.N) * plane(d);
  const double mean = double(op.stats[c]);
  double sums[2] = {0, 0};  // sum gy, sum gy (pre - mean)
  if (training || ggamma || gbeta) {
    for (int64_t k = threadIdx.x; k < m; k += kFrThreads) {
      const int64_t o = channel_elem(d, c, k);
      sums[0] += double(gy[o]);
      sums[1] += double(gy[o]) * (double(op.pre[o]) - mean);
    }
    block_sum<kFrThreads>(sums);
  }
  if (threadIdx.x == 0) {
    const float invstd = op.stats[d.Co + c];
    bn_backward_coefs(training, sums[0], sums[1], double(m), invstd, coef[c], coef[d.Co + c]);
    if (ggamma) ggamma[c] = float(sums[1] * double(invstd)) + (accumulate ? ggamma[c] : 0.0f);
    if (gbeta) gbeta[c] = float(sums[0]) + (accumulate ? gbeta[c] : 0.0f);
  }
}

__global__ void fr_dx_k(Dims d, Operands<float> op, bool training, const float* gy, const float* coef, float* gx) {
  const int64_t HW = int64_t(d.H) * d.W;
  BNAS_GRID_STRIDE(i, int64_t(d.N) * d.C * HW) {
    const int n = int(i / (int64_t(d.C) * HW)), c = int(i / HW % d.C), r = int(i % HW / d.W), s = int(i % d.W);
    gx[i] = input_grad_at(d, op, gy, coef, training, n, c, r, s);
  }
}

__global__ void __launch_bounds__(kFrThreads) fr_weights_k(Dims d, Operands<float> op, bool training,
                                                            const float* gy, const float* coef, WeightGrads out,
                                                            bool accumulate) {
  const int h = int(blockIdx.y);
  const int64_t e = blockIdx.x;
  float* dst = out.w[h];
  if (!dst) return;  // the whole block leaves together
  const int64_t P = plane(d), m = int64_t(d.N) * P;
  double acc[1] = {0};
  for (int64_t k = threadIdx.x; k < m; k += kFrThreads)
    acc[0] += weight_grad_term(d, op, gy, coef, training, h, e, int(k / P), k % P);
  block_sum<kFrThreads>(acc);
  if (threadIdx.x == 0) dst[e] = float(acc[0]) + (accumulate ? dst[e] : 0.0f);
}

}  // namespace

int64_t factorized_reduce_backward_workspace(const Dims& d) { return 2 * int64_t(d.Co); }

void factorized_reduce_forward(const Dims& d, const Operands<float>& op, float* running_mean, float* running_var,
                               bool training, double momentum, double eps, float* y, cudaStream_t s) {
  fr_conv_k<<<blocks_for(out_numel(d)), kThreads, 0, s>>>(d, op);
  CUDA_CHECK_LAUNCH(s);
  fr_stats_k<<<d.Co, kFrThreads, 0, s>>>(d, op, running_mean, running_var, training, momentum, eps);
  CUDA_CHECK_LAUNCH(s);
  fr_output_k<<<blocks_for(out_numel(d)), kThreads, 0, s>>>(d, op, y);
  CUDA_CHECK_LAUNCH(s);
}

void factorized_reduce_backward(const Dims& d, const Operands<float>& op, bool training, const float* gy, float* gx,
                                float* const* gw, float* ggamma, float* gbeta, bool accumulate, float* ws,
                                cudaStream_t s) {
  fr_coef_k<<<d.Co, kFrThreads, 0, s>>>(d, op, training, gy, ws, ggamma, gbeta, accumulate);
  CUDA_CHECK_LAUNCH(s);
  if (gx) {
    fr_dx_k<<<blocks_for(int64_t(d.N) * d.C * d.H * d.W), kThreads, 0, s>>>(d, op, training, gy, ws, gx);
    CUDA_CHECK_LAUNCH(s);
  }
  if (gw[0] || gw[1]) {
    const WeightGrads out{{gw[0], gw[1]}};
    fr_weights_k<<<dim3(unsigned(weight_elems(d)), kHalves), kFrThreads, 0, s>>>(d, op, training, gy, ws, out,
                                                                                accumulate);
    CUDA_CHECK_LAUNCH(s);
  }
}

}  // namespace bnas::kernels::cuda
