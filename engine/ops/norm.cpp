// batch_norm: forward (train / eval), running-statistics update, and backward through the batch
// statistics. x is N x C x H x W or N x C; the kernels see it as N x C x HW (HW = 1 for 2-D).
// The node saves x, the weight and the per-channel mean / invstd it normalised with (batch
// statistics in training, running statistics in eval), so a later in-place update of the running
// statistics cannot change the backward.
#include "engine/ops.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/norm.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/norm.cuh"
#endif

namespace bnas::ops {
using detail::check_same;

namespace {

struct BnDims {
  int64_t N, C, HW;
};

BnDims bn_dims(const Tensor& x) {
  BNAS_CHECK(x.ndim() == 2 || x.ndim() == 4, "batch_norm: expected x of shape N x C x H x W or N x C, got ",
             x.shape().str());
  return {x.size(0), x.size(1), x.ndim() == 4 ? x.size(2) * x.size(3) : 1};
}

#if BNAS_WITH_CUDA
// The CUDA kernels index a channel's elements and the whole tensor with 32-bit integers and put
// the channels on the grid's y dimension.
void check_cuda_size(const Tensor& x) {
  BNAS_CHECK(x.numel() < (int64_t(1) << 31), "batch_norm: tensors of 2^31 or more elements are not supported on CUDA, got ",
             x.shape().str());
  BNAS_CHECK(x.size(1) <= 65535, "batch_norm: more than 65535 channels are not supported on CUDA, got ",
             x.shape().str());
}
Tensor workspace(const BnDims& d, Device dev) {
  return Tensor::empty({kernels::cuda::batch_norm_workspace_doubles(d.N, d.C, d.HW)}, DType::F64, dev);
}
#endif

template <class T> const T* ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }
template <class T> T* mut_ptr_or_null(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

struct BatchNormNode : Node {
  Tensor x, weight, mean, invstd;  // weight undefined when not affine
  BnDims d{};
  bool training = true;
  const char* name() const override { return "batch_norm"; }
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    Tensor gx, gw, gb;
    if (needs_grad[0]) gx = Tensor::empty(x.shape(), x.dtype(), x.device());
    if (needs_grad[1]) gw = Tensor::empty({d.C}, x.dtype(), x.device());
    if (needs_grad[2]) gb = Tensor::empty({d.C}, x.dtype(), x.device());
    if (!gx.defined() && !gw.defined() && !gb.defined()) return {Tensor(), Tensor(), Tensor()};
    if (x.is_cuda()) {
      BNAS_ON_CUDA({
        cudaStream_t s = detail::cuda_launch("batch_norm", x);
        Tensor ws = workspace(d, x.device());
        Tensor coef = Tensor::empty({2 * d.C}, DType::F32, x.device());
        kernels::cuda::batch_norm_backward(x.data<float>(), gy.data<float>(), mean.data<float>(),
                                           invstd.data<float>(), ptr_or_null<float>(weight), d.N, d.C, d.HW,
                                           training, mut_ptr_or_null<float>(gx), mut_ptr_or_null<float>(gw),
                                           mut_ptr_or_null<float>(gb), ws.data<double>(), coef.data<float>(), s);
      });
    } else {
      BNAS_DISPATCH_FLOAT(x.dtype(), T,
                          kernels::cpu::batch_norm_backward(x.data<T>(), gy.data<T>(), mean.data<T>(),
                                                            invstd.data<T>(), ptr_or_null<T>(weight), d.N, d.C,
                                                            d.HW, training, mut_ptr_or_null<T>(gx),
                                                            mut_ptr_or_null<T>(gw), mut_ptr_or_null<T>(gb)));
    }
    return {gx, gw, gb};
  }
};

void check_param(const char* what, const Tensor& t, int64_t C) {
  if (!t.defined()) return;
  BNAS_CHECK(t.ndim() == 1 && t.size(0) == C, "batch_norm: ", what, " must have shape [", C, "], got ",
             t.shape().str());
}

}  // namespace

Tensor batch_norm(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, const Tensor& running_mean,
                  const Tensor& running_var, const BatchNormArgs& a) {
  check_same("batch_norm", {&x_in, &weight_in, &bias_in, &running_mean, &running_var});
  const BnDims d = bn_dims(x_in);
  check_param("weight", weight_in, d.C);
  check_param("bias", bias_in, d.C);
  check_param("running_mean", running_mean, d.C);
  check_param("running_var", running_var, d.C);
  BNAS_CHECK(running_mean.defined() == running_var.defined(),
             "batch_norm: give both running_mean and running_var, or neither");
  BNAS_CHECK(a.training || running_mean.defined(), "batch_norm: eval mode needs running_mean and running_var");
  BNAS_CHECK(!a.training || d.N * d.HW > 1, "batch_norm: training needs more than one value per channel, got x of shape ",
             x_in.shape().str());
  BNAS_CHECK(a.eps > 0, "batch_norm: eps must be positive, got ", a.eps);
  if (running_mean.defined()) {
    BNAS_CHECK(running_mean.is_contiguous() && running_var.is_contiguous(),
               "batch_norm: running statistics are updated in place and must be contiguous");
  }
  const Tensor x = x_in.contiguous(), w = weight_in.defined() ? weight_in.contiguous() : Tensor(),
               b = bias_in.defined() ? bias_in.contiguous() : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty({d.C}, x.dtype(), x.device());
  Tensor invstd = Tensor::empty({d.C}, x.dtype(), x.device());
  if (x.is_cuda()) {
    BNAS_ON_CUDA({
      check_cuda_size(x);
      cudaStream_t s = detail::cuda_launch("batch_norm", x);
      if (a.training) {
        Tensor ws = workspace(d, x.device());
        kernels::cuda::batch_norm_stats(x.data<float>(), d.N, d.C, d.HW, a.eps, a.momentum, mean.data<float>(),
                                        invstd.data<float>(), mut_ptr_or_null<float>(running_mean),
                                        mut_ptr_or_null<float>(running_var), ws.data<double>(), s);
      } else {
        kernels::cuda::batch_norm_eval_stats(running_mean.data<float>(), running_var.data<float>(), d.C, a.eps,
                                             mean.data<float>(), invstd.data<float>(), s);
      }
      kernels::cuda::batch_norm_apply(x.data<float>(), mean.data<float>(), invstd.data<float>(),
                                      ptr_or_null<float>(w), ptr_or_null<float>(b), y.data<float>(), d.N, d.C, d.HW,
                                      s);
    });
  } else {
    BNAS_DISPATCH_FLOAT(x.dtype(), T, {
      if (a.training) {
        kernels::cpu::batch_norm_stats(x.data<T>(), d.N, d.C, d.HW, a.eps, a.momentum, mean.data<T>(),
                                       invstd.data<T>(), mut_ptr_or_null<T>(running_mean),
                                       mut_ptr_or_null<T>(running_var));
      } else {
        kernels::cpu::batch_norm_eval_stats(running_mean.data<T>(), running_var.data<T>(), d.C, a.eps,
                                            mean.data<T>(), invstd.data<T>());
      }
      kernels::cpu::batch_norm_apply(x.data<T>(), mean.data<T>(), invstd.data<T>(), ptr_or_null<T>(w),
                                     ptr_or_null<T>(b), y.data<T>(), d.N, d.C, d.HW);
    });
  }
  if (any_requires_grad({&x_in, &weight_in, &bias_in})) {
    auto node = std::make_shared<BatchNormNode>();
    node->x = x.detach();
    node->weight = w.defined() ? w.detach() : Tensor();
    node->mean = mean;
    node->invstd = invstd;
    node->d = d;
    node->training = a.training;
    record(y, node, {&x_in, &weight_in, &bias_in});
  }
  return y;
}

}  // namespace bnas::ops
