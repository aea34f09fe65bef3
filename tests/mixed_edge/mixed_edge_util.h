// Shared by the mixed-edge tests: random problems and the UNFUSED composition of engine ops that
// the fused op must equal (the PC-DARTS MixedOp: gather the selected channels, max / avg pool each
// followed by non-affine BatchNorm, weighted sum of the 8 candidates, bypass copy or 2x2 max
// pool, concat, channel shuffle, times the edge weight).
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/mixed_edge.h"
#include "engine/ops.h"
#include "engine/rng.h"

namespace bnas::testing {

struct EdgeConfig {
  int64_t N = 4, C = 16, H = 8, W = 8;
  int k = 4, stride = 1;
  bool random = false, training = true, edge_weight = true;
  std::string name() const {
    return "N" + std::to_string(N) + "_C" + std::to_string(C) + "_" + std::to_string(H) + "x" + std::to_string(W) +
           "_k" + std::to_string(k) + "_s" + std::to_string(stride) + (random ? "_random" : "_fixed") +
           (training ? "_train" : "_eval") + (edge_weight ? "" : "_noew");
  }
  int64_t cs() const { return C / k; }
  int64_t ho() const { return (H - 1) / stride + 1; }
  int64_t wo() const { return (W - 1) / stride + 1; }
  int num_branches() const { return stride == 1 ? 4 : 5; }
};

// One problem's tensors (host values, so that they can be placed on any device in any dtype).
struct EdgeProblem {
  EdgeConfig cfg;
  std::vector<int32_t> sel;  // empty: the first C/k channels
  std::vector<double> x, w, e, gy;
  std::vector<std::vector<double>> branches;
  std::vector<double> running[4];  // mean max, var max, mean avg, var avg

  static EdgeProblem make(const EdgeConfig& c, uint64_t seed) {
    EdgeProblem p;
    p.cfg = c;
    Generator g(seed, RngStream::Test);
    p.x = g.normal(static_cast<uint64_t>(c.N * c.C * c.H * c.W));
    for (int i = 0; i < c.num_branches(); ++i) p.branches.push_back(g.normal(static_cast<uint64_t>(c.N * c.cs() * c.ho() * c.wo())));
    const std::vector<double> a = g.normal(8);  // softmax of a random alpha row
    double z = 0;
    for (double v : a) z += std::exp(v);
    for (double v : a) p.w.push_back(std::exp(v) / z);
    p.e = {0.25 + 0.5 * g.uniform(1)[0]};
    p.gy = g.normal(static_cast<uint64_t>(c.N * c.C * c.ho() * c.wo()));
    for (int q = 0; q < 4; ++q) {
      std::vector<double> v = g.normal(static_cast<uint64_t>(c.cs()), q % 2 ? 1.0 : 0.0, q % 2 ? 0.2 : 0.3);
      if (q % 2)
        for (double& x : v) x = std::abs(x) + 0.5;
      p.running[q] = v;
    }
    if (c.random) {
      std::vector<uint32_t> perm = g.permutation(static_cast<uint32_t>(c.C));
      for (int64_t j = 0; j < c.cs(); ++j) p.sel.push_back(static_cast<int32_t>(perm[static_cast<size_t>(j)]));
      std::sort(p.sel.begin(), p.sel.end());
    }
    return p;
  }
};

// Tensors of a problem on one device and dtype; the differentiable ones require grad.
struct EdgeTensors {
  Tensor x, sel, w, e, gy;
  std::vector<Tensor> branches;
  Tensor running[4];

  EdgeTensors(const EdgeProblem& p, DType dt, Device dev) {
    const EdgeConfig& c = p.cfg;
    x = Tensor::from_vector(p.x, {c.N, c.C, c.H, c.W}, dt, dev).set_requires_grad(true);
    if (!p.sel.empty()) sel = Tensor::from_ints(p.sel, {c.cs()}, dev);
    w = Tensor::from_vector(p.w, {8}, dt, dev).set_requires_grad(true);
    if (c.edge_weight) e = Tensor::from_vector(p.e, {1}, dt, dev).set_requires_grad(true);
    for (const auto& b : p.branches)
      branches.push_back(Tensor::from_vector(b, {c.N, c.cs(), c.ho(), c.wo()}, dt, dev).set_requires_grad(true));
    for (int q = 0; q < 4; ++q) running[q] = Tensor::from_vector(p.running[q], {c.cs()}, dt, dev);
    gy = Tensor::from_vector(p.gy, {c.N, c.C, c.ho(), c.wo()}, dt, dev);
  }
  // Leaves in a fixed order: x, w, (e), branches.
  std::vector<Tensor> leaves() const {
    std::vector<Tensor> l{x, w};
    if (e.defined()) l.push_back(e);
    for (const Tensor& b : branches) l.push_back(b);
    return l;
  }
};

inline ops::MixedEdgeArgs edge_args(const EdgeConfig& c) {
  ops::MixedEdgeArgs a;
  a.stride = c.stride;
  a.k = c.k;
  a.training = c.training;
  return a;
}

inline Tensor fused_edge(const EdgeTensors& t, const EdgeConfig& c, const Tensor& x) {
  return ops::mixed_edge(x, t.sel, t.branches, t.w, t.e, t.running[0], t.running[1], t.running[2], t.running[3],
                         edge_args(c));
}

// Channels [0, C) split into the selection (sel, or the first C/k) and the rest, increasing.
inline void split_channels(const EdgeConfig& c, const std::vector<int32_t>& sel, std::vector<int64_t>& chosen,
                           std::vector<int64_t>& rest) {
  chosen.clear();
  rest.clear();
  std::vector<bool> used(static_cast<size_t>(c.C), false);
  for (int64_t j = 0; j < c.cs(); ++j) {
    const int64_t ch = sel.empty() ? j : sel[static_cast<size_t>(j)];
    chosen.push_back(ch);
    used[static_cast<size_t>(ch)] = true;
  }
  for (int64_t ch = 0; ch < c.C; ++ch)
    if (!used[static_cast<size_t>(ch)]) rest.push_back(ch);
}

inline Tensor gather_channels(const Tensor& x, const std::vector<int64_t>& chans) {
  std::vector<Tensor> parts;
  for (int64_t ch : chans) parts.push_back(ops::narrow(x, 1, ch, 1));
  return parts.size() == 1 ? parts[0] : ops::concat_channels(parts);
}

// The reference composition of engine ops.
inline Tensor unfused_edge(const EdgeTensors& t, const EdgeConfig& c, const std::vector<int32_t>& sel) {
  std::vector<int64_t> chosen, rest;
  split_channels(c, sel, chosen, rest);
  const Tensor xs = gather_channels(t.x, chosen);
  ops::BatchNormArgs bn;
  bn.training = c.training;
  const Tensor mp = ops::batch_norm(ops::max_pool2d(xs, {3, c.stride, 1}), Tensor(), Tensor(), t.running[0],
                                    t.running[1], bn);
  const Tensor ap = ops::batch_norm(ops::avg_pool2d(xs, {3, c.stride, 1}), Tensor(), Tensor(), t.running[2],
                                    t.running[3], bn);
  const Tensor skip = c.stride == 1 ? xs : t.branches[4];
  Tensor y = ops::weighted_sum({ops::strided_zero(xs, c.stride), mp, ap, skip, t.branches[0], t.branches[1],
                                t.branches[2], t.branches[3]},
                               t.w);
  if (c.k > 1) {
    const Tensor xr = gather_channels(t.x, rest);
    const Tensor byp = c.stride == 1 ? xr : ops::max_pool2d(xr, {2, 2, 0});
    y = ops::channel_shuffle(ops::concat_channels({y, byp}), c.k);
  }
  if (t.e.defined()) y = ops::weighted_sum({y}, t.e);
  return y;
}

}  // namespace bnas::testing
