// FactorizedReduce as one fused op (the op: engine/factorized_reduce.h): sizes, layouts and the
// per-element functions shared by kernels/cpu/factorized_reduce.cpp and
// kernels/cuda/factorized_reduce.cu. The BatchNorm arithmetic is kernels/norm_math.h's and the
// ReLU kernels/elementwise_math.h's; the CPU runs the 1x1 channel sums as GEMMs on gathered
// inputs instead of conv_at's per-pixel loop (docs/DESIGN.md, rule 1).
//
// DARTS' FactorizedReduce on the Cs input channels an edge selects:
//   a   = relu(x[:, sel])                    (or x[:, sel] when the input is already relu'd)
//   pre = cat(conv_1(a), conv_2(a[:, :, 1:, 1:]))     both 1x1, stride 2, Cs -> Co / 2
//   y   = BatchNorm2d(pre)                   (affine when gamma / beta are given)
// so output channel c of half h = c / (Co / 2) reads a at (2 i + h, 2 j + h): half 0 the even
// rows and columns, half 1 the odd ones. Input pixels with one even and one odd coordinate feed
// nothing (their gradient is 0).
//
// Layouts. x: N planes of C x H x W (sample n at x + n * x_batch_stride, so a channel slice of a
// wider tensor is read in place), H and W even; sel: [Cs] input channels or null (the first Cs).
// w[h]: Co/2 x Cs. pre and y: N x Co x Ho x Wo (Ho = H / 2, Wo = W / 2). stats [2 Co]: mean,
// invstd. gamma, beta: [Co] or null.
#pragma once
#include <cstdint>

#include "kernels/elementwise_math.h"
#include "kernels/hd.h"
#include "kernels/mixed_edge_math.h"
#include "kernels/norm_math.h"

namespace bnas::kernels::factorized_reduce {

constexpr int kHalves = 2;

// Sizes of one call.
struct Dims {
  int N, C, H, W, Cs, Co, Ho, Wo;
  int64_t x_batch_stride;
};
BNAS_HD int half_channels(const Dims& d) { return d.Co / 2; }
BNAS_HD int64_t plane(const Dims& d) { return int64_t(d.Ho) * d.Wo; }
BNAS_HD int64_t out_numel(const Dims& d) { return int64_t(d.N) * d.Co * plane(d); }
BNAS_HD double out_count(const Dims& d) { return double(d.N) * double(plane(d)); }  // per channel
BNAS_HD int64_t weight_elems(const Dims& d) { return int64_t(half_channels(d)) * d.Cs; }  // per half

// Everything a kernel reads and the buffers the forward saves for the backward.
template <class T> struct Operands {
  const T* x;            // the input (layout above)
  const int32_t* sel;    // [Cs] or null
  bool relu;             // apply the ReLU to x first
  const T* w[kHalves];   // conv_1, conv_2: Co/2 x Cs
  const T* gamma;        // [Co] or null
  const T* beta;         // [Co] or null
  T* pre;                // N x Co x Ho x Wo: the convolutions' output, the BN input
  T* stats;              // [2 Co]: mean, invstd
};

using mixed_edge::selected_channel;  // the edge's selection convention (null: the first Cs)
using mixed_edge::selected_slot;

// The activation half h reads for slot ci at output pixel (i, j).
template <class T> BNAS_HD T input_at(const Dims& d, const Operands<T>& op, int h, int n, int ci, int i, int j) {
  const T v =
      op.x[n * d.x_batch_stride + (int64_t(selected_channel(op.sel, ci)) * d.H + 2 * i + h) * d.W + 2 * j + h];
  return op.relu ? relu(v) : v;
}

// The half that input pixel (r, s) feeds (at output pixel (r / 2, s / 2)), or -1 for none.
BNAS_HD int half_fed_by(int r, int s) { return r % 2 == s % 2 ? r % 2 : -1; }

// ---- forward -------------------------------------------------------------------------------

// pre at element i = (n Co + c) HoWo + p: the 1x1 of output channel c, summed in slot order.
template <class T> BNAS_HD T conv_at(const Dims& d, const Operands<T>& op, int64_t i) {
  const int64_t P = plane(d);
  const int c = int(i / P % d.Co), n = int(i / (P * d.Co)), p = int(i % P);
  const int h = c / half_channels(d);
  const T* w = op.w[h] + int64_t(c - h * half_channels(d)) * d.Cs;
  T acc = T(0);
  for (int ci = 0; ci < d.Cs; ++ci) acc += w[ci] * input_at(d, op, h, n, ci, p / d.Wo, p % d.Wo);
  return acc;
}

// y at element i: the BatchNorm of pre with the saved statistics.
template <class T> BNAS_HD T output_at(const Dims& d, const Operands<T>& op, int64_t i) {
  const int c = int(i / plane(d) % d.Co);
  return bn_apply(op.pre[i], op.stats[c], bn_scale(op.stats[d.Co + c], op.gamma, c), op.beta, c);
}

// ---- backward ------------------------------------------------------------------------------
// coef [2 Co]: k1, k3 of every channel (kernels/norm_math.h's bn_backward_coefs).

// d pre at element i, from gy through the BatchNorm.
template <class T>
BNAS_HD T pre_grad_at(const Dims& d, const Operands<T>& op, const T* gy, const T* coef, bool training, int64_t i) {
  const int c = int(i / plane(d) % d.Co);
  return bn_backward_elem(gy[i], op.pre[i], op.stats[c], bn_scale(op.stats[d.Co + c], op.gamma, c), coef[c],
                          coef[d.Co + c], training);
}

// d x at (n, channel c, r, s) of the contiguous N x C x H x W gradient: the transposed 1x1 of the
// half the pixel feeds (output channels in order) through the ReLU; 0 on channels not selected
// and on pixels that feed nothing.
template <class T>
BNAS_HD T input_grad_at(const Dims& d, const Operands<T>& op, const T* gy, const T* coef, bool training, int n, int c,
                        int r, int s) {
  const int j = selected_slot(op.sel, d.Cs, c), h = half_fed_by(r, s);
  if (j < 0 || h < 0) return T(0);
  const int co2 = half_channels(d);
  const int64_t P = plane(d), base = (int64_t(n) * d.Co + int64_t(h) * co2) * P + int64_t(r / 2) * d.Wo + s / 2;
  T acc = T(0);
  for (int co = 0; co < co2; ++co)
    acc += op.w[h][int64_t(co) * d.Cs + j] * pre_grad_at(d, op, gy, coef, training, base + co * P);
  return op.relu ? relu_grad(op.x[n * d.x_batch_stride + (int64_t(c) * d.H + r) * d.W + s], acc) : acc;
}

// Weight-gradient term of element e of half h's weight (co = e / Cs, ci = e % Cs) at output
// pixel (n, p): d pre[n, h Co/2 + co, p] times the activation it multiplied.
template <class T>
BNAS_HD double weight_grad_term(const Dims& d, const Operands<T>& op, const T* gy, const T* coef, bool training, int h,
                                int64_t e, int n, int64_t p) {
  const int co = int(e / d.Cs), ci = int(e % d.Cs);
  const int64_t i = (int64_t(n) * d.Co + int64_t(h) * half_channels(d) + co) * plane(d) + p;
  return double(pre_grad_at(d, op, gy, coef, training, i)) *
         double(input_at(d, op, h, n, ci, int(p / d.Wo), int(p % d.Wo)));
}

}  // namespace bnas::kernels::factorized_reduce
