// CPU reference of the fused FactorizedReduce (kernels/cpu/factorized_reduce.h). The two strided
// 1x1 convolutions are one grouped 1x1 convolution (2 groups, kernels/cpu/conv.h: GEMMs) on the
// gathered activations: slots [0, Cs) hold a at the even rows and columns, [Cs, 2 Cs) at the odd
// ones, so its output is pre in the concatenated layout. The BatchNorm is kernels/cpu/norm.h's
// (kernels/norm_math.h, whose arithmetic the CUDA kernels share). Results do not depend on the
// number of OpenMP threads.
#include "kernels/cpu/factorized_reduce.h"

#include <algorithm>
#include <vector>

#include "kernels/cpu/conv.h"
#include "kernels/cpu/norm.h"

namespace bnas::kernels::cpu {
using namespace factorized_reduce;

namespace {

// The grouped 1x1 convolution: N x 2 Cs x Ho x Wo -> N x Co x Ho x Wo, group h = half h.
ConvShape halves_shape(const Dims& d) {
  ConvShape c;
  c.n = d.N, c.cin = int64_t(kHalves) * d.Cs, c.cout = d.Co, c.groups = kHalves;
  c.h = c.ho = d.Ho, c.w = c.wo = d.Wo;
  c.kh = c.kw = 1;
  c.x_batch_stride = c.cin * plane(d);
  return c;
}

// The activations both halves read (N x 2 Cs x Ho x Wo; slot h Cs + ci = input_at(h, ., ci, .)).
template <class T> std::vector<T> gather(const Dims& d, const Operands<T>& op) {
  const int64_t P = plane(d);
  std::vector<T> a(static_cast<size_t>(int64_t(d.N) * kHalves * d.Cs * P));
#pragma omp parallel for collapse(3) schedule(static) if (a.size() > 65536)
  for (int n = 0; n < d.N; ++n)
    for (int h = 0; h < kHalves; ++h)
      for (int ci = 0; ci < d.Cs; ++ci) {
        const T* xp = op.x + n * d.x_batch_stride + int64_t(selected_channel(op.sel, ci)) * d.H * d.W;
        T* ap = a.data() + ((int64_t(n) * kHalves + h) * d.Cs + ci) * P;
        for (int i = 0; i < d.Ho; ++i) {
          const T* row = xp + int64_t(2 * i + h) * d.W + h;
          for (int j = 0; j < d.Wo; ++j) ap[int64_t(i) * d.Wo + j] = op.relu ? relu(row[2 * j]) : row[2 * j];
        }
      }
  return a;
}

// conv_1's and conv_2's weights as the grouped convolution's Co x Cs.
template <class T> std::vector<T> stacked_weights(const Dims& d, const Operands<T>& op) {
  const int64_t e = weight_elems(d);
  std::vector<T> w(static_cast<size_t>(kHalves * e));
  for (int h = 0; h < kHalves; ++h) std::copy(op.w[h], op.w[h] + e, w.begin() + h * e);
  return w;
}

template <class T> void write_or_add(const T* src, int64_t n, bool accumulate, T* dst) {
  if (!dst) return;
  for (int64_t i = 0; i < n; ++i) dst[i] = accumulate ? dst[i] + src[i] : src[i];
}

}  // namespace

template <class T>
void factorized_reduce_forward(const Dims& d, const Operands<T>& op, T* running_mean, T* running_var, bool training,
                               double momentum, double eps, T* y) {
  const std::vector<T> a = gather(d, op), w = stacked_weights(d, op);
  conv2d_forward(halves_shape(d), a.data(), w.data(), op.pre);
  T* mean = op.stats;
  T* invstd = op.stats + d.Co;
  if (training)
    batch_norm_stats(op.pre, d.N, d.Co, plane(d), eps, momentum, mean, invstd, running_mean, running_var);
  else
    batch_norm_eval_stats(running_mean, running_var, d.Co, eps, mean, invstd);
  batch_norm_apply(op.pre, mean, invstd, op.gamma, op.beta, y, d.N, d.Co, plane(d));
}

template <class T>
void factorized_reduce_backward(const Dims& d, const Operands<T>& op, bool training, const T* gy, T* gx,
                                T* const* gw, T* ggamma, T* gbeta, bool accumulate) {
  const bool weights = gw[0] || gw[1];
  std::vector<T> gpre(gx || weights ? static_cast<size_t>(out_numel(d)) : 0), gaffine;
  T* gg = ggamma;
  T* gb = gbeta;
  if (accumulate && (ggamma || gbeta)) {
    gaffine.resize(static_cast<size_t>(2 * d.Co));
    gg = ggamma ? gaffine.data() : nullptr;
    gb = gbeta ? gaffine.data() + d.Co : nullptr;
  }
  batch_norm_backward(op.pre, gy, op.stats, op.stats + d.Co, op.gamma, d.N, d.Co, plane(d), training,
                      gpre.empty() ? nullptr : gpre.data(), gg, gb);
  if (gg != ggamma) write_or_add(gg, d.Co, true, ggamma);
  if (gb != gbeta) write_or_add(gb, d.Co, true, gbeta);
  if (!gx && !weights) return;

  const ConvShape cs = halves_shape(d);
  const std::vector<T> w = stacked_weights(d, op);
  const std::vector<T> a = weights ? gather(d, op) : std::vector<T>();
  std::vector<T> ga(gx ? static_cast<size_t>(cs.n * cs.x_batch_stride) : 0), gws(weights ? w.size() : 0);
  conv2d_backward(cs, weights ? a.data() : nullptr, w.data(), gpre.data(), gx ? ga.data() : nullptr,
                  weights ? gws.data() : nullptr);
  for (int h = 0; h < kHalves; ++h) write_or_add(gws.data() + h * weight_elems(d), weight_elems(d), accumulate, gw[h]);
  if (!gx) return;
  // The input: the gathered gradient back to the pixels it came from, through the ReLU; zero on
  // the channels not selected and on the pixels that feed nothing.
  const int64_t P = plane(d), HW = int64_t(d.H) * d.W;
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(d.N) * d.C * HW > 65536)
  for (int n = 0; n < d.N; ++n)
    for (int c = 0; c < d.C; ++c) {
      T* gp = gx + (int64_t(n) * d.C + c) * HW;
      std::fill(gp, gp + HW, T(0));
      const int ci = selected_slot(op.sel, d.Cs, c);
      if (ci < 0) continue;
      const T* xp = op.x + n * d.x_batch_stride + int64_t(c) * HW;
      for (int r = 0; r < d.H; ++r) {
        const int h = r % 2;  // the half this row feeds, at the columns of the same parity
        const T* g = ga.data() + ((int64_t(n) * kHalves + h) * d.Cs + ci) * P + int64_t(r / 2) * d.Wo;
        for (int j = 0; j < d.Wo; ++j) {
          const int64_t o = int64_t(r) * d.W + 2 * j + h;
          gp[o] = op.relu ? relu_grad(xp[o], g[j]) : g[j];
        }
      }
    }
}

#define BNAS_INSTANTIATE(T)                                                                                     \
  template void factorized_reduce_forward<T>(const Dims&, const Operands<T>&, T*, T*, bool, double, double, T*); \
  template void factorized_reduce_backward<T>(const Dims&, const Operands<T>&, bool, const T*, T*, T* const*, T*, \
                                              T*, bool);
BNAS_INSTANTIATE(float)
BNAS_INSTANTIATE(double)
#undef BNAS_INSTANTIATE

}  // namespace bnas::kernels::cpu
