// The fused partial-channel mixed edge (engine/mixed_edge.h): argument checks, allocation,
// dispatch to kernels/{cpu,cuda}/mixed_edge and the autograd node.
//
// Saved for backward: the input x (the caller's tensor, no copy, even when it is a channel-slice
// view), the selection and its complement, the branch outputs (already alive in the graph), the
// weights, the edge weight and 4 statistics per selected channel. The pool outputs are not
// saved: the backward recomputes them from x.
#include "engine/mixed_edge.h"

#include <type_traits>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/mixed_edge.h"
#include "kernels/mixed_edge_math.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/mixed_edge.cuh"
#endif

namespace bnas::ops {
namespace {
namespace me = kernels::mixed_edge;

template <class T> const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// The branch slots of the branch tensors (each one branch, N x Cs x Ho x Wo, or a stack of them,
// m x N x Cs x Ho x Wo) in order: p[slot] = the slot's first element, or null for an undefined
// tensor (a gradient not requested).
template <class P> void slot_pointers(const std::vector<Tensor>& ts, const std::vector<Tensor>& shapes, P (&p)[me::kMaxBranches]) {
  int slot = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const int64_t m = shapes[i].ndim() == 5 ? shapes[i].size(0) : 1, per = shapes[i].numel() / m;
    for (int64_t q = 0; q < m; ++q, ++slot)
      p[slot] = ts[i].defined() ? ts[i].template data<std::remove_const_t<std::remove_pointer_t<P>>>() + q * per : nullptr;
  }
}
template <class T> T* mut_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
const int32_t* ints_or_null(const Tensor& t) { return t.defined() ? t.data<int32_t>() : nullptr; }

struct MixedEdgeNode : Node {
  me::Dims d{};
  bool training = true;
  Tensor x, selected, rest, weights, edge_weight, stats;
  std::vector<Tensor> branches;
  const char* name() const override { return "mixed_edge"; }

  // Inputs: 0 x, 1 weights, 2 edge_weight, 3.. branches.
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    const Device dev = x.device();
    const DType dt = x.dtype();
    std::vector<Tensor> out(inputs.size());
    Tensor gx, gw, gew;
    if (needs_grad[0]) gx = Tensor::empty({d.N, d.C, d.H, d.W}, dt, dev);
    if (needs_grad[1]) gw = Tensor::empty({me::kNumPrimitives}, dt, dev);
    if (needs_grad[2]) gew = Tensor::empty(edge_weight.shape(), dt, dev);
    std::vector<Tensor> gbr(branches.size());
    for (size_t i = 0; i < branches.size(); ++i)
      if (needs_grad[3 + i]) gbr[i] = Tensor::empty(branches[i].shape(), dt, dev);
    if (x.is_cuda()) {
      BNAS_ON_CUDA({
        const float* bp[me::kMaxBranches] = {};
        float* gbp[me::kMaxBranches] = {};
        slot_pointers(branches, branches, bp);
        slot_pointers(gbr, branches, gbp);
        cudaStream_t s = detail::cuda_launch("mixed_edge", x);
        const int64_t nws = kernels::cuda::mixed_edge_backward_workspace_doubles(d);
        Tensor ws = Tensor::empty({nws > 0 ? nws : 1}, DType::F64, dev);
        kernels::cuda::mixed_edge_backward(d, x.data<float>(), ints_or_null(selected), ints_or_null(rest), bp,
                                           weights.data<float>(), ptr_or_null<float>(edge_weight),
                                           stats.data<float>(), training, gy.data<float>(), mut_or_null<float>(gx),
                                           gbp, mut_or_null<float>(gw), mut_or_null<float>(gew),
                                           ws.data<double>(), s);
      });
    } else {
      BNAS_DISPATCH_FLOAT(dt, T, {
        const T* bp[me::kMaxBranches] = {};
        T* gbp[me::kMaxBranches] = {};
        slot_pointers(branches, branches, bp);
        slot_pointers(gbr, branches, gbp);
        kernels::cpu::mixed_edge_backward<T>(d, x.data<T>(), ints_or_null(selected), ints_or_null(rest), bp,
                                             weights.data<T>(), ptr_or_null<T>(edge_weight), stats.data<T>(),
                                             training, gy.data<T>(), mut_or_null<T>(gx), gbp, mut_or_null<T>(gw),
                                             mut_or_null<T>(gew));
      });
    }
    out[0] = gx;
    out[1] = gw;
    out[2] = gew;
    for (size_t i = 0; i < branches.size(); ++i) out[3 + i] = gbr[i];
    return out;
  }
};

void check_vector(const char* what, const Tensor& t, int64_t n) {
  BNAS_CHECK(t.ndim() == 1 && t.size(0) == n, "mixed_edge: ", what, " must have shape [", n, "], got ",
             t.shape().str());
}

}  // namespace

Tensor mixed_edge(const Tensor& x_in, const Tensor& selected, const std::vector<Tensor>& branches_in,
                  const Tensor& weights_in, const Tensor& edge_weight_in, const Tensor& rm_max,
                  const Tensor& rv_max, const Tensor& rm_avg, const Tensor& rv_avg, const MixedEdgeArgs& a) {
  detail::check_ndim("mixed_edge", x_in, 4);
  BNAS_CHECK(a.stride == 1 || a.stride == 2, "mixed_edge: stride must be 1 or 2, got ", a.stride);
  BNAS_CHECK(a.k >= 1, "mixed_edge: the channel proportion k must be at least 1, got ", a.k);
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
  BNAS_CHECK(C % a.k == 0, "mixed_edge: ", C, " input channels cannot be split into k = ", a.k, " groups");
  BNAS_CHECK(N > 0 && C > 0 && H > 0 && W > 0, "mixed_edge: empty input ", x_in.shape().str());
  if (a.k > 1 && a.stride == 2)
    BNAS_CHECK(H % 2 == 0 && W % 2 == 0, "mixed_edge: the 2x2 max-pooled bypass of a stride-2 edge needs an even "
               "height and width, got ", H, "x", W);
  const int64_t Cs = C / a.k, Ho = (H - 1) / a.stride + 1, Wo = (W - 1) / a.stride + 1;
  const int64_t nb = a.stride == 1 ? 4 : 5;
  detail::check_same("mixed_edge", {&x_in, &weights_in, &edge_weight_in, &rm_max, &rv_max, &rm_avg, &rv_avg});
  int64_t slots = 0;
  for (const Tensor& b : branches_in) {
    detail::check_same("mixed_edge", {&x_in, &b});
    const bool stacked = b.ndim() == 5 && b.size(0) >= 1;
    BNAS_CHECK(b.shape() == Shape({N, Cs, Ho, Wo}) || (stacked && b.shape() == Shape({b.size(0), N, Cs, Ho, Wo})),
               "mixed_edge: every branch output must have shape ", Shape({N, Cs, Ho, Wo}).str(),
               " (or m x that, for m stacked branches), got ", b.shape().str());
    slots += stacked ? b.size(0) : 1;
  }
  BNAS_CHECK(slots == nb, "mixed_edge: a stride-", a.stride, " edge takes ", nb,
             " branch outputs (sep_conv_3x3, sep_conv_5x5, dil_conv_3x3, dil_conv_5x5",
             a.stride == 2 ? ", skip's FactorizedReduce" : "", "), got ", slots);
  BNAS_CHECK(weights_in.defined(), "mixed_edge: the candidate weights are required");
  check_vector("weights", weights_in, 8);
  if (edge_weight_in.defined())
    BNAS_CHECK(edge_weight_in.numel() == 1, "mixed_edge: the edge weight must have one element, got ",
               edge_weight_in.shape().str());
  for (const Tensor* r : {&rm_max, &rv_max, &rm_avg, &rv_avg}) {
    if (r->defined()) {
      check_vector("each running statistic", *r, Cs);
      BNAS_CHECK(r->is_contiguous(), "mixed_edge: running statistics must be contiguous");
    } else {
      BNAS_CHECK(a.training, "mixed_edge: eval mode needs the four running statistics of the pool BatchNorms");
    }
  }
  detail::check_channel_selection("mixed_edge", selected, x_in, Cs, C);

  // x planes must be H x W contiguous, channels H*W apart; the batch stride is free (slices).
  const Tensor x = (x_in.stride(3) == 1 && x_in.stride(2) == W && x_in.stride(1) == H * W) ? x_in : x_in.contiguous();
  const Tensor sel = selected.defined() ? selected.contiguous() : Tensor();
  const Tensor weights = weights_in.contiguous();
  const Tensor edge_weight = edge_weight_in.defined() ? edge_weight_in.contiguous() : Tensor();
  std::vector<Tensor> branches;
  for (const Tensor& b : branches_in) branches.push_back(b.contiguous());

  me::Dims d{};
  d.N = int(N), d.C = int(C), d.H = int(H), d.W = int(W), d.k = a.k, d.stride = a.stride;
  d.Cs = int(Cs), d.Ho = int(Ho), d.Wo = int(Wo);
  d.x_batch_stride = x.stride(0);
  d.num_branches = int(nb);

  const Device dev = x.device();
  Tensor y = Tensor::empty({N, C, Ho, Wo}, x.dtype(), dev);
  Tensor stats = Tensor::empty({me::kNumStats * Cs}, x.dtype(), dev);
  Tensor rest = (sel.defined() && a.k > 1) ? Tensor::empty({C - Cs}, DType::I32, dev) : Tensor();
  if (y.is_cuda()) {
    BNAS_ON_CUDA({
      const float* bp[me::kMaxBranches] = {};
      slot_pointers(branches, branches, bp);
      cudaStream_t s = detail::cuda_launch("mixed_edge", y);
      const int64_t nws = kernels::cuda::mixed_edge_forward_workspace_doubles(d, a.training);
      Tensor ws = Tensor::empty({nws > 0 ? nws : 1}, DType::F64, dev);
      kernels::cuda::mixed_edge_forward(d, x.data<float>(), ints_or_null(sel), bp, weights.data<float>(),
                                        ptr_or_null<float>(edge_weight), mut_or_null<float>(rm_max),
                                        mut_or_null<float>(rv_max), mut_or_null<float>(rm_avg),
                                        mut_or_null<float>(rv_avg), a.training, a.bn_momentum, a.bn_eps,
                                        y.data<float>(), stats.data<float>(),
                                        rest.defined() ? rest.data<int32_t>() : nullptr, ws.data<double>(), s);
    });
  } else {
    BNAS_DISPATCH_FLOAT(x.dtype(), T, {
      const T* bp[me::kMaxBranches] = {};
      slot_pointers(branches, branches, bp);
      kernels::cpu::mixed_edge_forward<T>(d, x.data<T>(), ints_or_null(sel), bp, weights.data<T>(),
                                          ptr_or_null<T>(edge_weight), mut_or_null<T>(rm_max), mut_or_null<T>(rv_max),
                                          mut_or_null<T>(rm_avg), mut_or_null<T>(rv_avg), a.training, a.bn_momentum,
                                          a.bn_eps, y.data<T>(), stats.data<T>(),
                                          rest.defined() ? rest.data<int32_t>() : nullptr);
    });
  }

  std::vector<const Tensor*> ins{&x_in, &weights_in, &edge_weight_in};
  for (const Tensor& b : branches_in) ins.push_back(&b);
  bool any = false;
  for (const Tensor* t : ins) any = any || (t->defined() && t->requires_grad());
  if (grad_enabled() && any) {
    auto node = std::make_shared<MixedEdgeNode>();
    node->d = d;
    node->training = a.training;
    node->x = x.detach();
    node->selected = sel;
    node->rest = rest;
    node->weights = weights.detach();
    node->edge_weight = edge_weight.defined() ? edge_weight.detach() : Tensor();
    node->stats = stats;
    for (const Tensor& b : branches) node->branches.push_back(b.detach());
    record(y, node, ins);
  }
  return y;
}

}  // namespace bnas::ops
