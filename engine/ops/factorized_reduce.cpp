// The fused FactorizedReduce (engine/factorized_reduce.h): argument checks, allocation, dispatch
// to kernels/{cpu,cuda}/factorized_reduce and the autograd node.
//
// Saved for backward: the input x (the caller's tensor, no copy, even when it is a channel-slice
// view), the selection, the weights, gamma (not beta), the convolutions' output pre (N x Co x Ho x Wo) and
// the BN statistics it was normalised with ([2 Co]).
#include "engine/factorized_reduce.h"

#include <type_traits>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/factorized_reduce.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/factorized_reduce.cuh"
#endif

namespace bnas::ops {
namespace {
namespace fr = kernels::factorized_reduce;

template <class T> const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <class T> T* mut_ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

// The kernels' view of one call.
struct Saved {
  fr::Dims d{};
  bool relu = true;
  Tensor x, selected, w1, w2, gamma, beta, pre, stats;

  template <class T> fr::Operands<T> operands() const {
    fr::Operands<T> op{};
    op.x = x.data<T>();
    op.sel = selected.defined() ? selected.data<int32_t>() : nullptr;
    op.relu = relu;
    op.w[0] = w1.data<T>();
    op.w[1] = w2.data<T>();
    op.gamma = ptr_or_null<T>(gamma);
    op.beta = ptr_or_null<T>(beta);
    op.pre = pre.data<T>();
    op.stats = stats.data<T>();
    return op;
  }
};

struct FactorizedReduceNode : Node {
  Saved saved;
  bool training = true;
  const char* name() const override { return "factorized_reduce"; }

  // Inputs: 0 x, 1 w1, 2 w2, 3 gamma, 4 beta.
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    const fr::Dims& d = saved.d;
    const Device dev = saved.x.device();
    const DType dt = saved.x.dtype();
    std::vector<Tensor> out(inputs.size());
    if (needs_grad[0]) out[0] = Tensor::empty({d.N, d.C, d.H, d.W}, dt, dev);
    // The parameter gradients go straight into their grad() buffers when backward() offers all of
    // them (Node::accumulate_into), else into fresh tensors.
    bool accumulate = true;
    for (size_t i = 1; i < inputs.size(); ++i)
      if (needs_grad[i])
        accumulate = accumulate && accumulate_into.size() == inputs.size() && accumulate_into[i].defined();
    std::vector<Tensor> g(inputs.size());
    for (size_t i = 1; i < inputs.size(); ++i)
      if (needs_grad[i])
        g[i] = accumulate ? accumulate_into[i] : Tensor::empty(i < 3 ? saved.w1.shape() : Shape({d.Co}), dt, dev);
    auto run = [&](auto zero) {
      using T = decltype(zero);
      T* gw[fr::kHalves] = {mut_ptr_or_null<T>(g[1]), mut_ptr_or_null<T>(g[2])};
      T* gx = mut_ptr_or_null<T>(out[0]);
      if (dev.is_cuda()) {
        if constexpr (std::is_same_v<T, float>)
          BNAS_ON_CUDA({
            Tensor ws = Tensor::empty({kernels::cuda::factorized_reduce_backward_workspace(d)}, dt, dev);
            kernels::cuda::factorized_reduce_backward(d, saved.operands<float>(), training, gy.data<float>(), gx, gw,
                                                      mut_ptr_or_null<float>(g[3]), mut_ptr_or_null<float>(g[4]),
                                                      accumulate, ws.data<float>(),
                                                      detail::cuda_launch("factorized_reduce", gy));
          });
      } else {
        kernels::cpu::factorized_reduce_backward<T>(d, saved.operands<T>(), training, gy.data<T>(), gx, gw,
                                                    mut_ptr_or_null<T>(g[3]), mut_ptr_or_null<T>(g[4]), accumulate);
      }
    };
    if (dev.is_cuda()) {
      BNAS_CHECK(dt == DType::F32, "factorized_reduce: CUDA tensors must be float32");
      run(0.0f);
    } else {
      BNAS_DISPATCH_FLOAT(dt, T, run(T(0)));
    }
    if (!accumulate)
      for (size_t i = 1; i < inputs.size(); ++i) out[i] = g[i];
    return out;
  }
};

void check_vector(const char* what, const Tensor& t, int64_t Co) {
  if (!t.defined()) return;
  BNAS_CHECK(t.ndim() == 1 && t.size(0) == Co && t.is_contiguous(), "factorized_reduce: ", what,
             " must be a contiguous [", Co, "] tensor, got ", t.shape().str());
}

}  // namespace

Tensor factorized_reduce(const Tensor& x_in, const Tensor& selected, int64_t Cs, const Tensor& w1_in,
                         const Tensor& w2_in, const Tensor& gamma_in, const Tensor& beta_in,
                         const Tensor& running_mean, const Tensor& running_var, const FactorizedReduceArgs& a) {
  detail::check_ndim("factorized_reduce", x_in, 4);
  detail::check_same("factorized_reduce", {&x_in, &w1_in, &w2_in, &gamma_in, &beta_in, &running_mean, &running_var});
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
  BNAS_CHECK(N > 0 && C > 0 && H >= 2 && W >= 2 && H % 2 == 0 && W % 2 == 0,
             "factorized_reduce: needs an N x C x H x W input with even H and W, got ", x_in.shape().str());
  BNAS_CHECK(Cs >= 1 && Cs <= C, "factorized_reduce: cannot select ", Cs, " of ", C, " input channels");
  BNAS_CHECK(w1_in.defined() && w1_in.ndim() == 4 && w1_in.size(1) == Cs && w1_in.size(2) == 1 && w1_in.size(3) == 1,
             "factorized_reduce: conv_1's weight must have shape [Co/2, ", Cs, ", 1, 1], got ",
             w1_in.defined() ? w1_in.shape().str() : std::string("none"));
  BNAS_CHECK(w2_in.defined() && w2_in.shape() == w1_in.shape(),
             "factorized_reduce: conv_2's weight must have conv_1's shape ", w1_in.shape().str(), ", got ",
             w2_in.defined() ? w2_in.shape().str() : std::string("none"));
  const int64_t Co = 2 * w1_in.size(0);
  check_vector("gamma", gamma_in, Co);
  check_vector("beta", beta_in, Co);
  check_vector("running_mean", running_mean, Co);
  check_vector("running_var", running_var, Co);
  BNAS_CHECK(running_mean.defined() == running_var.defined(),
             "factorized_reduce: give both running_mean and running_var, or neither");
  BNAS_CHECK(a.training || running_mean.defined(), "factorized_reduce: eval mode needs the running statistics");
  BNAS_CHECK(!a.training || N * (H / 2) * (W / 2) > 1,
             "factorized_reduce: training needs more than one value per channel, got x of shape ", x_in.shape().str());
  BNAS_CHECK(a.bn_eps > 0, "factorized_reduce: eps must be positive, got ", a.bn_eps);
  detail::check_channel_selection("factorized_reduce", selected, x_in, Cs, C);

  Saved sv;
  // x planes must be H x W contiguous, channels H*W apart; the batch stride is free (slices).
  sv.x = (x_in.stride(3) == 1 && x_in.stride(2) == W && x_in.stride(1) == H * W) ? x_in.detach()
                                                                                  : x_in.contiguous().detach();
  sv.selected = selected.defined() ? selected.contiguous() : Tensor();
  sv.relu = a.relu;
  sv.w1 = w1_in.contiguous().detach();
  sv.w2 = w2_in.contiguous().detach();
  sv.gamma = gamma_in.defined() ? gamma_in.detach() : Tensor();
  sv.beta = beta_in.defined() ? beta_in.detach() : Tensor();
  fr::Dims& d = sv.d;
  d.N = int(N), d.C = int(C), d.H = int(H), d.W = int(W), d.Cs = int(Cs), d.Co = int(Co);
  d.Ho = int(H / 2), d.Wo = int(W / 2);
  d.x_batch_stride = sv.x.stride(0);
  const Device dev = x_in.device();
  const DType dt = x_in.dtype();
  sv.pre = Tensor::empty({N, Co, H / 2, W / 2}, dt, dev);
  sv.stats = Tensor::empty({2 * Co}, dt, dev);
  Tensor y = Tensor::empty({N, Co, H / 2, W / 2}, dt, dev);

  auto run = [&](auto zero) {
    using T = decltype(zero);
    T* rm = mut_ptr_or_null<T>(running_mean);
    T* rv = mut_ptr_or_null<T>(running_var);
    if (dev.is_cuda()) {
      if constexpr (std::is_same_v<T, float>)
        BNAS_ON_CUDA(kernels::cuda::factorized_reduce_forward(d, sv.operands<float>(), rm, rv, a.training,
                                                              a.bn_momentum, a.bn_eps, y.data<float>(),
                                                              detail::cuda_launch("factorized_reduce", y)));
    } else {
      kernels::cpu::factorized_reduce_forward<T>(d, sv.operands<T>(), rm, rv, a.training, a.bn_momentum, a.bn_eps,
                                                 y.data<T>());
    }
  };
  if (dev.is_cuda()) {
    BNAS_CHECK(dt == DType::F32, "factorized_reduce: CUDA tensors must be float32, got ", dtype_name(dt));
    run(0.0f);
  } else {
    BNAS_DISPATCH_FLOAT(dt, T, run(T(0)));
  }

  if (any_requires_grad({&x_in, &w1_in, &w2_in, &gamma_in, &beta_in})) {
    auto node = std::make_shared<FactorizedReduceNode>();
    sv.beta = Tensor();  // the backward does not read it
    node->saved = std::move(sv);
    node->training = a.training;
    record(y, node, {&x_in, &w1_in, &w2_in, &gamma_in, &beta_in});
  }
  return y;
}

}  // namespace bnas::ops
