// CPU reference of the fused convolution branches (kernels/cpu/conv_branches.h): per stage the
// CPU convolution kernels (kernels/cpu/conv.h: direct depthwise loops, 1x1 as a GEMM), the CPU
// BatchNorm kernels (kernels/cpu/norm.h, kernels/norm_math.h, whose arithmetic the CUDA kernels
// share) and the ReLU of kernels/elementwise_math.h, on buffers planned once per call: the same
// stages, statistics and saved buffers as kernels/cuda/conv_branches.cu, without the per-element
// index arithmetic a GPU thread does (which on a CPU cost 2.4x the unfused ops). Results do not
// depend on the number of OpenMP threads.
#include "kernels/cpu/conv_branches.h"

#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/norm.h"
#include "kernels/elementwise_math.h"

namespace bnas::kernels::cpu {
using namespace conv_branches;

namespace {

// Stage s's depthwise and 1x1 convolutions.
ConvShape depthwise_shape(const Dims& d, int s) {
  const StageGeom g = stage_geom(s);
  ConvShape c;
  c.n = d.N, c.cin = c.cout = c.groups = d.Cs;
  c.h = in_h(d, s), c.w = in_w(d, s);
  c.kh = c.kw = g.k;
  c.stride = stage_stride(d, s), c.pad = g.pad, c.dilation = g.dilation;
  c.ho = d.Ho, c.wo = d.Wo;
  c.x_batch_stride = int64_t(d.Cs) * c.h * c.w;
  return c;
}
ConvShape pointwise_shape(const Dims& d) {
  ConvShape c;
  c.n = d.N, c.cin = c.cout = d.Cs;
  c.h = c.ho = d.Ho, c.w = c.wo = d.Wo;
  c.kh = c.kw = 1;
  c.x_batch_stride = stage_numel(d) / d.N;
  return c;
}

// The input activation of stage s (N x Cs x in_h x in_w): relu(x[:, sel]) for stages 0..3 (one
// buffer for the four), relu of the normalised output of stage 0 or 1 for stages 4 and 5.
template <class T> void first_activation(const Dims& d, const Stages<T>& st, T* a) {
  const int64_t HW = int64_t(d.H) * d.W;
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < d.N; ++n)
    for (int j = 0; j < d.Cs; ++j) {
      const T* xp = st.x + n * d.x_batch_stride + int64_t(selected_channel(st.sel, j)) * HW;
      T* ap = a + (int64_t(n) * d.Cs + j) * HW;
      for (int64_t p = 0; p < HW; ++p) ap[p] = relu(xp[p]);
    }
}
template <class T> void second_activation(const Dims& d, const Stages<T>& st, int s, T* a) {
  const int is = input_stage(s);
  const int64_t P = plane(d);
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < d.N; ++n)
    for (int c = 0; c < d.Cs; ++c) {
      const int64_t o = (int64_t(n) * d.Cs + c) * P;
      const T mean = st.stats[is][c], invstd = st.stats[is][d.Cs + c];
      for (int64_t p = 0; p < P; ++p) a[o + p] = relu(bn_normalize(st.pre[is][o + p], mean, invstd));
    }
}

template <class T>
void forward_stage(const Dims& d, const Stages<T>& st, int s, const T* act, T* const* running, bool training,
                   double momentum, double eps) {
  conv2d_forward(depthwise_shape(d, s), act, st.wdw[s], st.dw[s]);
  conv2d_forward(pointwise_shape(d), st.dw[s], st.wpw[s], st.pre[s]);
  T* mean = st.stats[s];
  T* invstd = st.stats[s] + d.Cs;
  if (training)
    batch_norm_stats(st.pre[s], d.N, d.Cs, plane(d), eps, momentum, mean, invstd, running ? running[2 * s] : nullptr,
                     running ? running[2 * s + 1] : nullptr);
  else
    batch_norm_eval_stats(running[2 * s], running[2 * s + 1], d.Cs, eps, mean, invstd);
}

// Stage s backward from gy, the gradient of its BN output: writes d of its input activation
// (gact) and its weight gradients (overwritten, or added when accumulate; either may be null).
template <class T>
void backward_stage(const Dims& d, const Stages<T>& st, int s, const T* act, const T* gy, bool training, T* gact,
                    T* gwdw, T* gwpw, bool accumulate, std::vector<T>& gpre, std::vector<T>& gdw,
                    std::vector<T>& wtmp) {
  const int64_t S = stage_numel(d);
  gpre.resize(static_cast<size_t>(S));
  gdw.resize(static_cast<size_t>(S));
  batch_norm_backward(st.pre[s], gy, st.stats[s], st.stats[s] + d.Cs, static_cast<const T*>(nullptr), d.N, d.Cs,
                      plane(d), training, gpre.data(), static_cast<T*>(nullptr), static_cast<T*>(nullptr));
  auto weight_out = [&](T* g, int64_t n) -> T* {
    if (!g || !accumulate) return g;
    wtmp.resize(static_cast<size_t>(n));
    return wtmp.data();
  };
  const int64_t npw = int64_t(d.Cs) * d.Cs, ndw = int64_t(d.Cs) * dw_weights(s);
  T* pw = weight_out(gwpw, npw);
  conv2d_backward(pointwise_shape(d), st.dw[s], st.wpw[s], gpre.data(), gdw.data(), pw);
  if (pw && pw != gwpw)
    for (int64_t i = 0; i < npw; ++i) gwpw[i] += pw[i];
  T* dw = weight_out(gwdw, ndw);
  conv2d_backward(depthwise_shape(d, s), act, st.wdw[s], gdw.data(), gact, dw);
  if (dw && dw != gwdw)
    for (int64_t i = 0; i < ndw; ++i) gwdw[i] += dw[i];
}

}  // namespace

template <class T>
void conv_branches_forward(const Dims& d, const Stages<T>& st, T* const* running, bool training, double momentum,
                           double eps, T* y) {
  const int64_t S = stage_numel(d);
  std::vector<T> act(static_cast<size_t>(int64_t(d.N) * d.Cs * d.H * d.W));
  first_activation(d, st, act.data());
  for (int s = 0; s < kNumFirstStages; ++s) forward_stage(d, st, s, act.data(), running, training, momentum, eps);
  act.resize(static_cast<size_t>(S));
  for (int s = kNumFirstStages; s < kNumStages; ++s) {
    second_activation(d, st, s, act.data());
    forward_stage(d, st, s, act.data(), running, training, momentum, eps);
  }
  for (int b = 0; b < kNumBranches; ++b) {
    const int s = output_stage(b);
    batch_norm_apply(st.pre[s], st.stats[s], st.stats[s] + d.Cs, static_cast<const T*>(nullptr),
                     static_cast<const T*>(nullptr), y + b * S, d.N, d.Cs, plane(d));
  }
}

template <class T>
void conv_branches_backward(const Dims& d, const Stages<T>& st, bool training, const T* gy, T* gx, T* const* gwdw,
                            T* const* gwpw, bool accumulate) {
  const int64_t S = stage_numel(d), HW = int64_t(d.H) * d.W, A = int64_t(d.N) * d.Cs * HW;
  std::vector<T> gpre, gdw, wtmp, act(static_cast<size_t>(S)), gact(static_cast<size_t>(S));
  std::vector<T> gfirst(static_cast<size_t>(2 * S));
  auto gw = [](T* const* g, int s) { return g ? g[s] : nullptr; };
  // Stages 4 and 5 back to the BN outputs of stages 0 and 1, through their input ReLU.
  for (int s = kNumFirstStages; s < kNumStages; ++s) {
    second_activation(d, st, s, act.data());
    backward_stage(d, st, s, act.data(), gy + branch_of_stage(s) * S, training, gact.data(), gw(gwdw, s),
                   gw(gwpw, s), accumulate, gpre, gdw, wtmp);
    T* g = gfirst.data() + (s - kNumFirstStages) * S;
    const T* a = act.data();
    const T* ga = gact.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < S; ++i) g[i] = relu_grad(a[i], ga[i]);
  }
  // The four first stages back to relu(x[:, sel]), their input gradients added in stage order.
  act.resize(static_cast<size_t>(A));
  first_activation(d, st, act.data());
  std::vector<T> gsum(static_cast<size_t>(A), T(0));
  gact.resize(static_cast<size_t>(A));
  for (int s = 0; s < kNumFirstStages; ++s) {
    const int b = branch_of_stage(s);
    const T* g = b >= 0 ? gy + b * S : gfirst.data() + s * S;
    backward_stage(d, st, s, act.data(), g, training, gact.data(), gw(gwdw, s), gw(gwpw, s), accumulate, gpre, gdw,
                   wtmp);
    T* sum = gsum.data();
    const T* ga = gact.data();
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < A; ++i) sum[i] += ga[i];
  }
  if (!gx) return;
  // The edge input: through the ReLU on the selected channels, zero on the others.
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < d.N; ++n)
    for (int c = 0; c < d.C; ++c) {
      const int j = selected_slot(st.sel, d.Cs, c);
      T* gp = gx + (int64_t(n) * d.C + c) * HW;
      if (j < 0) {
        for (int64_t p = 0; p < HW; ++p) gp[p] = T(0);
        continue;
      }
      const T* ap = act.data() + (int64_t(n) * d.Cs + j) * HW;
      const T* sp = gsum.data() + (int64_t(n) * d.Cs + j) * HW;
      for (int64_t p = 0; p < HW; ++p) gp[p] = relu_grad(ap[p], sp[p]);
    }
}

template void conv_branches_forward<float>(const Dims&, const Stages<float>&, float* const*, bool, double, double,
                                           float*);
template void conv_branches_forward<double>(const Dims&, const Stages<double>&, double* const*, bool, double,
                                            double, double*);
template void conv_branches_backward<float>(const Dims&, const Stages<float>&, bool, const float*, float*,
                                            float* const*, float* const*, bool);
template void conv_branches_backward<double>(const Dims&, const Stages<double>&, bool, const double*, double*,
                                             double* const*, double* const*, bool);

}  // namespace bnas::kernels::cpu
