// The fused convolution branches of a search edge (the op: engine/conv_branches.h): stages,
// geometry and layouts shared by kernels/cpu/conv_branches.cpp and kernels/cuda/conv_branches.cu,
// and the per-element functions of the CUDA kernels. Their BatchNorm and ReLU arithmetic is
// kernels/norm_math.h's and kernels/elementwise_math.h's, which the CPU kernels the CPU reference
// composes also use; the CPU reference runs the convolutions through kernels/cpu/conv.h instead
// of these per-pixel loops (docs/DESIGN.md, rule 1).
//
// The four parametric candidates of a mixed edge in search form (docs/METHOD.md §2), on the Cs
// input channels the edge selects, all of them starting from relu(x_sel):
//   branch 0 sep_conv_3x3 = stage 0 (dw 3x3, stride s, pad 1) then stage 4 (dw 3x3, pad 1)
//   branch 1 sep_conv_5x5 = stage 1 (dw 5x5, stride s, pad 2) then stage 5 (dw 5x5, pad 2)
//   branch 2 dil_conv_3x3 = stage 2 (dw 3x3, stride s, pad 2, dilation 2)
//   branch 3 dil_conv_5x5 = stage 3 (dw 5x5, stride s, pad 4, dilation 2)
// A stage is ReLU -> depthwise k x k -> 1x1 (Cs -> Cs) -> BatchNorm without affine parameters.
// Stages 0..3 read relu(x[:, sel]); stages 4 and 5 read relu of stage 0's and 1's BN output. Every
// stage's output is Ho x Wo (the paddings keep the sizes equal), so each intermediate buffer is
// N x Cs x Ho x Wo and a stage's 1x1 and BN act on one output pixel's Cs values.
//
// Layouts. x: N planes of C x H x W (sample n at x + n * x_batch_stride, so a channel slice of a
// wider tensor is read in place); sel: [Cs] input channels or null (the first Cs). Depthwise
// weights Cs x k x k, pointwise weights Cs(out) x Cs(in). Per stage buffers N x Cs x Ho x Wo: dw
// (depthwise output), pre (1x1 output, the BN input); stats [2 Cs] = mean, invstd.
#pragma once
#include <cstdint>

#include "kernels/elementwise_math.h"
#include "kernels/hd.h"
#include "kernels/mixed_edge_math.h"
#include "kernels/norm_math.h"

namespace bnas::kernels::conv_branches {

constexpr int kNumBranches = 4;  // primitives 4..7
constexpr int kNumStages = 6;
constexpr int kNumFirstStages = 4;  // stages 0..3 read the edge input

struct StageGeom {
  int k, dilation, pad;
};
// Depthwise geometry of stage s (stride: the edge's for stages 0..3, 1 for 4 and 5).
BNAS_HD StageGeom stage_geom(int s) {
  switch (s) {
    case 0: case 4: return {3, 1, 1};
    case 1: case 5: return {5, 1, 2};
    case 2: return {3, 2, 2};
    default: return {5, 2, 4};
  }
}
// The stage whose BN output is branch b's output, and the stage stage s reads (-1: the edge input).
BNAS_HD int output_stage(int b) { return b < 2 ? b + 4 : b; }
BNAS_HD int input_stage(int s) { return s >= kNumFirstStages ? s - kNumFirstStages : -1; }

// Sizes of one call.
struct Dims {
  int N, C, H, W, Cs, stride, Ho, Wo;
  int64_t x_batch_stride;
};
BNAS_HD int64_t plane(const Dims& d) { return int64_t(d.Ho) * d.Wo; }
BNAS_HD int64_t stage_numel(const Dims& d) { return int64_t(d.N) * d.Cs * plane(d); }  // one buffer
BNAS_HD double stage_count(const Dims& d) { return double(d.N) * double(plane(d)); }  // per channel
BNAS_HD int in_h(const Dims& d, int s) { return s < kNumFirstStages ? d.H : d.Ho; }
BNAS_HD int in_w(const Dims& d, int s) { return s < kNumFirstStages ? d.W : d.Wo; }
BNAS_HD int stage_stride(const Dims& d, int s) { return s < kNumFirstStages ? d.stride : 1; }
BNAS_HD int64_t dw_weights(int s) { return int64_t(stage_geom(s).k) * stage_geom(s).k; }  // per channel

// Everything a kernel needs about the six stages: the per-stage pointers (null when unused).
template <class T> struct Stages {
  const T* x;                  // the edge input (layout above)
  const int32_t* sel;          // [Cs] or null
  const T* wdw[kNumStages];    // Cs x k x k
  const T* wpw[kNumStages];    // Cs x Cs
  T* dw[kNumStages];           // N x Cs x Ho x Wo
  T* pre[kNumStages];          // N x Cs x Ho x Wo
  T* stats[kNumStages];        // [2 Cs]: mean, invstd
};

using mixed_edge::selected_channel;  // the edge's selection convention (null: the first Cs)
using mixed_edge::selected_slot;

// The activation stage s reads at (n, ci, h, w) inside its input plane: relu of the edge input
// (stages 0..3) or relu of the normalised output of its input stage (4, 5).
template <class T> BNAS_HD T stage_input(const Dims& d, const Stages<T>& st, int s, int n, int ci, int h, int w) {
  const int is = input_stage(s);
  T v;
  if (is < 0) {
    v = st.x[n * d.x_batch_stride + (int64_t(selected_channel(st.sel, ci)) * d.H + h) * d.W + w];
  } else {
    const T* in = st.pre[is] + (int64_t(n) * d.Cs + ci) * plane(d);
    v = bn_normalize(in[int64_t(h) * d.Wo + w], st.stats[is][ci], st.stats[is][d.Cs + ci]);
  }
  return relu(v);
}
// d relu at the same place: whether the ReLU passed its input.
template <class T> BNAS_HD bool stage_input_passes(const Dims& d, const Stages<T>& st, int s, int n, int ci, int h, int w) {
  return stage_input(d, st, s, n, ci, h, w) > T(0);
}

// Input row of output row o under tap t (may fall in the padding).
BNAS_HD int tap_in(int o, int t, int stride, const StageGeom& g) { return o * stride - g.pad + t * g.dilation; }

// ---- forward -------------------------------------------------------------------------------

// Stage s at output pixel (n, ho, wo): the depthwise outputs of the Cs channels into dw and their
// 1x1 combination into pre (both at offset n Cs HoWo + p, channel stride HoWo). The 1x1 sums its
// inputs in channel order, in the output buffer.
template <class T> BNAS_HD void stage_forward_at(const Dims& d, const Stages<T>& st, int s, int n, int ho, int wo) {
  const StageGeom g = stage_geom(s);
  const int stride = stage_stride(d, s), H = in_h(d, s), W = in_w(d, s), Cs = d.Cs;
  const int64_t P = plane(d), base = int64_t(n) * Cs * P + int64_t(ho) * d.Wo + wo;
  const T* wpw = st.wpw[s];
  T* pre = st.pre[s] + base;
  for (int co = 0; co < Cs; ++co) pre[co * P] = T(0);
  for (int ci = 0; ci < Cs; ++ci) {
    const T* wk = st.wdw[s] + int64_t(ci) * g.k * g.k;
    T acc = T(0);
    for (int kh = 0; kh < g.k; ++kh) {
      const int h = tap_in(ho, kh, stride, g);
      if (h < 0 || h >= H) continue;
      for (int kw = 0; kw < g.k; ++kw) {
        const int w = tap_in(wo, kw, stride, g);
        if (w < 0 || w >= W) continue;
        acc += wk[kh * g.k + kw] * stage_input(d, st, s, n, ci, h, w);
      }
    }
    st.dw[s][base + ci * P] = acc;
    for (int co = 0; co < Cs; ++co) pre[co * P] += wpw[co * Cs + ci] * acc;
  }
}

// Branch b's output at element i (n Cs HoWo + c HoWo + p) of its N x Cs x Ho x Wo block.
template <class T> BNAS_HD T branch_output_at(const Dims& d, const Stages<T>& st, int b, int64_t i) {
  const int s = output_stage(b);
  const int c = int((i / plane(d)) % d.Cs);
  return bn_normalize(st.pre[s][i], st.stats[s][c], st.stats[s][d.Cs + c]);
}

// ---- backward ------------------------------------------------------------------------------
// Per stage, the gradient of its BN output gy (the branch's output gradient, or for stages 0 and
// 1 what stages 4 and 5 send back) gives, through the BN, g_pre; through the 1x1, g_dw; through
// the depthwise, the gradient of the stage's input activation.

// The backward's scratch, in elements of T: the BN-output gradients of stages 0 and 1 (what
// stages 4 and 5 send back), then g_pre and g_dw of every stage (N x Cs x Ho x Wo each), then the
// BN backward coefficients of every stage ([2 Cs] each).
struct BwdLayout {
  int64_t gfirst, gpre, gdw, coef, total;
};
BNAS_HD BwdLayout bwd_layout(const Dims& d) {
  const int64_t S = stage_numel(d);
  return {0, 2 * S, 8 * S, 14 * S, 14 * S + int64_t(kNumStages) * 2 * d.Cs};
}
// The branch whose output stage s's BN gives (-1 for stages 0 and 1).
BNAS_HD int branch_of_stage(int s) { return s >= kNumFirstStages ? s - kNumFirstStages : (s >= 2 ? s : -1); }
// Where the gradient of stage s's BN output lives: in gy (4 x N x Cs x Ho x Wo) for the output
// stages, in the scratch for stages 0 and 1.
template <class T> BNAS_HD const T* stage_gy(const Dims& d, const T* gy, const T* ws, int s) {
  const int b = branch_of_stage(s);
  return b >= 0 ? gy + b * stage_numel(d) : ws + bwd_layout(d).gfirst + s * stage_numel(d);
}
template <class T> BNAS_HD T* stage_gpre(const Dims& d, T* ws, int s) { return ws + bwd_layout(d).gpre + s * stage_numel(d); }
template <class T> BNAS_HD T* stage_gdw(const Dims& d, T* ws, int s) { return ws + bwd_layout(d).gdw + s * stage_numel(d); }
template <class T> BNAS_HD T* stage_coef(const Dims& d, T* ws, int s) { return ws + bwd_layout(d).coef + s * 2 * d.Cs; }

// Stage s at output pixel (n, p): g_pre = BN backward of gy, and g_dw = 1x1^T g_pre (Cs values
// each, written at offset n Cs HoWo + p with channel stride HoWo). The 1x1 transpose sums over the
// output channels in order.
template <class T>
BNAS_HD void stage_pw_backward_at(const Dims& d, const Stages<T>& st, int s, const T* gy, const T* coef, bool training,
                                  int n, int64_t p, T* gpre, T* gdw) {
  const int Cs = d.Cs;
  const int64_t P = plane(d), base = int64_t(n) * Cs * P + p;
  const T* stats = st.stats[s];
  for (int co = 0; co < Cs; ++co) {
    const int64_t i = base + co * P;
    gpre[i] = bn_backward_elem(gy[i], st.pre[s][i], stats[co], stats[Cs + co], coef[co], coef[Cs + co], training);
  }
  const T* wpw = st.wpw[s];
  for (int ci = 0; ci < Cs; ++ci) {
    T acc = T(0);
    for (int co = 0; co < Cs; ++co) acc += wpw[co * Cs + ci] * gpre[base + co * P];
    gdw[base + ci * P] = acc;
  }
}

// d of stage s's input activation at (n, ci, h, w) of its input plane: the depthwise transpose,
// gathering from the outputs whose window holds (h, w), taps in ascending order.
template <class T>
BNAS_HD T stage_dw_backward_at(const Dims& d, const Stages<T>& st, int s, const T* gdw, int n, int ci, int h, int w) {
  const StageGeom g = stage_geom(s);
  const int stride = stage_stride(d, s);
  const T* wk = st.wdw[s] + int64_t(ci) * g.k * g.k;
  const T* gp = gdw + (int64_t(n) * d.Cs + ci) * plane(d);
  T acc = T(0);
  for (int kh = 0; kh < g.k; ++kh) {
    const int hh = h + g.pad - kh * g.dilation;
    if (hh < 0 || hh % stride != 0 || hh / stride >= d.Ho) continue;
    for (int kw = 0; kw < g.k; ++kw) {
      const int ww = w + g.pad - kw * g.dilation;
      if (ww < 0 || ww % stride != 0 || ww / stride >= d.Wo) continue;
      acc += wk[kh * g.k + kw] * gp[int64_t(hh / stride) * d.Wo + ww / stride];
    }
  }
  return acc;
}

// Weight-gradient terms of stage s at output pixel (n, p = ho Wo + wo):
//   d wpw[co][ci] += g_pre[co] dw[ci];   d wdw[ci][tap] += g_dw[ci] input(ci, tap).
// Element e of the stage's weight gradient: e < Cs^2 is wpw[e / Cs][e % Cs], then Cs k^2 of wdw.
template <class T>
BNAS_HD double stage_weight_grad_term(const Dims& d, const Stages<T>& st, int s, const T* gpre, const T* gdw, int64_t e,
                                      int n, int ho, int wo) {
  const int Cs = d.Cs;
  const int64_t P = plane(d), base = int64_t(n) * Cs * P + int64_t(ho) * d.Wo + wo;
  if (e < int64_t(Cs) * Cs) {
    const int co = int(e / Cs), ci = int(e % Cs);
    return double(gpre[base + co * P]) * double(st.dw[s][base + ci * P]);
  }
  const StageGeom g = stage_geom(s);
  const int64_t r = e - int64_t(Cs) * Cs;
  const int ci = int(r / (g.k * g.k)), t = int(r % (g.k * g.k));
  const int stride = stage_stride(d, s);
  const int h = tap_in(ho, t / g.k, stride, g), w = tap_in(wo, t % g.k, stride, g);
  if (h < 0 || h >= in_h(d, s) || w < 0 || w >= in_w(d, s)) return 0.0;
  return double(gdw[base + ci * P]) * double(stage_input(d, st, s, n, ci, h, w));
}
BNAS_HD int64_t stage_weight_elems(int Cs, int s) { return int64_t(Cs) * Cs + int64_t(Cs) * dw_weights(s); }

}  // namespace bnas::kernels::conv_branches
