// The fused convolution branches (engine/conv_branches.h): argument checks, allocation, dispatch
// to kernels/{cpu,cuda}/conv_branches and the autograd node.
//
// Saved for backward: the input x (the caller's tensor, no copy, even when it is a channel-slice
// view), the selection, the weights, and per stage its depthwise output, its 1x1 output and its
// BN statistics (one buffer of 12 N Cs Ho Wo values, one of 12 Cs).
#include "engine/conv_branches.h"

#include <type_traits>

#include "engine/autograd.h"
#include "engine/ops/dispatch.h"
#include "kernels/conv_branches_math.h"
#include "kernels/cpu/conv_branches.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/conv_branches.cuh"
#endif

namespace bnas::ops {
namespace {
namespace cb = kernels::conv_branches;

// The kernels' view of one call: x, the selection and the weights, with the saved buffers.
struct Saved {
  cb::Dims d{};
  Tensor x, selected, buffers, stats;
  std::vector<Tensor> weights;

  template <class T> cb::Stages<T> stages() const {
    cb::Stages<T> st{};
    st.x = x.data<T>();
    st.sel = selected.defined() ? selected.data<int32_t>() : nullptr;
    const int64_t S = cb::stage_numel(d);
    for (int s = 0; s < cb::kNumStages; ++s) {
      st.wdw[s] = weights[2 * s].data<T>();
      st.wpw[s] = weights[2 * s + 1].data<T>();
      st.dw[s] = buffers.data<T>() + s * S;
      st.pre[s] = buffers.data<T>() + (cb::kNumStages + s) * S;
      st.stats[s] = stats.data<T>() + s * 2 * d.Cs;
    }
    return st;
  }
};

struct ConvBranchesNode : Node {
  Saved saved;
  bool training = true;
  const char* name() const override { return "conv_branches"; }

  // Inputs: 0 x, 1 + i weights[i].
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    const cb::Dims& d = saved.d;
    const Device dev = saved.x.device();
    const DType dt = saved.x.dtype();
    std::vector<Tensor> out(inputs.size());
    if (needs_grad[0]) out[0] = Tensor::empty({d.N, d.C, d.H, d.W}, dt, dev);
    // The weight gradients go straight into the parameters' grad() buffers when backward() offers
    // all of them (Node::accumulate_into), else into fresh tensors.
    bool any_weight = false, accumulate = true;
    for (size_t i = 0; i < saved.weights.size(); ++i)
      if (needs_grad[1 + i]) {
        any_weight = true;
        accumulate = accumulate && accumulate_into.size() == inputs.size() && accumulate_into[1 + i].defined();
      }
    std::vector<Tensor> gw(saved.weights.size());
    for (size_t i = 0; i < saved.weights.size(); ++i)
      if (needs_grad[1 + i]) gw[i] = accumulate ? accumulate_into[1 + i] : Tensor::empty(saved.weights[i].shape(), dt, dev);
    auto run = [&](auto zero) {
      using T = decltype(zero);
      T* gwdw[cb::kNumStages] = {};
      T* gwpw[cb::kNumStages] = {};
      for (int s = 0; s < cb::kNumStages; ++s) {
        if (gw[2 * s].defined()) gwdw[s] = gw[2 * s].data<T>();
        if (gw[2 * s + 1].defined()) gwpw[s] = gw[2 * s + 1].data<T>();
      }
      T* gx = out[0].defined() ? out[0].data<T>() : nullptr;
      if (dev.is_cuda()) {
        if constexpr (std::is_same_v<T, float>)
          BNAS_ON_CUDA({
            Tensor ws = Tensor::empty({kernels::cuda::conv_branches_backward_workspace(d)}, dt, dev);
            kernels::cuda::conv_branches_backward(d, saved.stages<float>(), training, gy.data<float>(), gx,
                                                  any_weight ? gwdw : nullptr, any_weight ? gwpw : nullptr, accumulate,
                                                  ws.data<float>(), detail::cuda_launch("conv_branches", gy));
          });
      } else {
        kernels::cpu::conv_branches_backward<T>(d, saved.stages<T>(), training, gy.data<T>(), gx,
                                                any_weight ? gwdw : nullptr, any_weight ? gwpw : nullptr, accumulate);
      }
    };
    if (dev.is_cuda()) {
      BNAS_CHECK(dt == DType::F32, "conv_branches: CUDA tensors must be float32");
      run(0.0f);
    } else {
      BNAS_DISPATCH_FLOAT(dt, T, run(T(0)));
    }
    if (!accumulate)
      for (size_t i = 0; i < gw.size(); ++i) out[1 + i] = gw[i];
    return out;
  }
};

}  // namespace

Tensor conv_branches(const Tensor& x_in, const Tensor& selected, int64_t Cs, const std::vector<Tensor>& weights_in,
                     const std::vector<Tensor>& running, const ConvBranchesArgs& a) {
  detail::check_ndim("conv_branches", x_in, 4);
  BNAS_CHECK(a.stride == 1 || a.stride == 2, "conv_branches: stride must be 1 or 2, got ", a.stride);
  const int64_t N = x_in.size(0), C = x_in.size(1), H = x_in.size(2), W = x_in.size(3);
  BNAS_CHECK(N > 0 && C > 0 && H > 0 && W > 0, "conv_branches: empty input ", x_in.shape().str());
  BNAS_CHECK(Cs >= 1 && Cs <= C, "conv_branches: cannot select ", Cs, " of ", C, " input channels");
  BNAS_CHECK(!a.training || N * ((H - 1) / a.stride + 1) * ((W - 1) / a.stride + 1) > 1,
             "conv_branches: training needs more than one value per channel, got x of shape ", x_in.shape().str());
  BNAS_CHECK(weights_in.size() == 2 * cb::kNumStages, "conv_branches: expected ", 2 * cb::kNumStages,
             " weights (depthwise and 1x1 of each of the six stages), got ", weights_in.size());
  BNAS_CHECK(running.empty() || running.size() == 2 * cb::kNumStages, "conv_branches: expected ",
             2 * cb::kNumStages, " running statistics or none, got ", running.size());
  BNAS_CHECK(a.training || !running.empty(), "conv_branches: eval mode needs the running statistics");
  for (int s = 0; s < cb::kNumStages; ++s) {
    const int k = cb::stage_geom(s).k;
    const Tensor& wd = weights_in[static_cast<size_t>(2 * s)];
    const Tensor& wp = weights_in[static_cast<size_t>(2 * s + 1)];
    detail::check_same("conv_branches", {&x_in, &wd, &wp});
    BNAS_CHECK(wd.shape() == Shape({Cs, 1, k, k}), "conv_branches: stage ", s, "'s depthwise weight must have shape ",
               Shape({Cs, 1, k, k}).str(), ", got ", wd.shape().str());
    BNAS_CHECK(wp.shape() == Shape({Cs, Cs, 1, 1}), "conv_branches: stage ", s, "'s 1x1 weight must have shape ",
               Shape({Cs, Cs, 1, 1}).str(), ", got ", wp.shape().str());
  }
  for (const Tensor& r : running) {
    detail::check_same("conv_branches", {&x_in, &r});
    BNAS_CHECK(r.ndim() == 1 && r.size(0) == Cs && r.is_contiguous(),
               "conv_branches: every running statistic must be a contiguous [", Cs, "] tensor, got ", r.shape().str());
  }
  detail::check_channel_selection("conv_branches", selected, x_in, Cs, C);

  Saved sv;
  // x planes must be H x W contiguous, channels H*W apart; the batch stride is free (slices).
  sv.x = (x_in.stride(3) == 1 && x_in.stride(2) == W && x_in.stride(1) == H * W) ? x_in.detach()
                                                                                  : x_in.contiguous().detach();
  sv.selected = selected.defined() ? selected.contiguous() : Tensor();
  for (const Tensor& w : weights_in) sv.weights.push_back(w.contiguous().detach());
  cb::Dims& d = sv.d;
  d.N = int(N), d.C = int(C), d.H = int(H), d.W = int(W), d.Cs = int(Cs), d.stride = a.stride;
  d.Ho = int((H - 1) / a.stride + 1), d.Wo = int((W - 1) / a.stride + 1);
  d.x_batch_stride = sv.x.stride(0);
  const Device dev = x_in.device();
  const DType dt = x_in.dtype();
  sv.buffers = Tensor::empty({2 * cb::kNumStages * cb::stage_numel(d)}, dt, dev);
  sv.stats = Tensor::empty({cb::kNumStages * 2 * Cs}, dt, dev);
  Tensor y = Tensor::empty({cb::kNumBranches, N, Cs, d.Ho, d.Wo}, dt, dev);

  auto run = [&](auto zero) {
    using T = decltype(zero);
    T* rp[2 * cb::kNumStages] = {};
    for (size_t i = 0; i < running.size(); ++i) rp[i] = running[i].data<T>();
    T* const* r = running.empty() ? nullptr : rp;
    if (dev.is_cuda()) {
      if constexpr (std::is_same_v<T, float>)
        BNAS_ON_CUDA(kernels::cuda::conv_branches_forward(d, sv.stages<float>(), r, a.training, a.bn_momentum, a.bn_eps,
                                                          y.data<float>(), detail::cuda_launch("conv_branches", y)));
    } else {
      kernels::cpu::conv_branches_forward<T>(d, sv.stages<T>(), r, a.training, a.bn_momentum, a.bn_eps, y.data<T>());
    }
  };
  if (dev.is_cuda()) {
    BNAS_CHECK(dt == DType::F32, "conv_branches: CUDA tensors must be float32, got ", dtype_name(dt));
    run(0.0f);
  } else {
    BNAS_DISPATCH_FLOAT(dt, T, run(T(0)));
  }

  std::vector<const Tensor*> ins{&x_in};
  for (const Tensor& w : weights_in) ins.push_back(&w);
  bool any = false;
  for (const Tensor* t : ins) any = any || t->requires_grad();
  if (grad_enabled() && any) {
    auto node = std::make_shared<ConvBranchesNode>();
    node->saved = std::move(sv);
    node->training = a.training;
    record(y, node, ins);
  }
  return y;
}

}  // namespace bnas::ops
