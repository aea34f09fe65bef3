// linear: y = x w^T + b. OpenBLAS on the CPU, cuBLAS (default math, no TF32) on CUDA; the bias
// gradient is a fixed-order column sum on both backends.
#include "engine/ops.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/linear.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/linear.cuh"
#endif

namespace bnas::ops {
namespace {

// The data pointer of an optional tensor (null when undefined).
template <class T> T* opt(const Tensor& t) { return t.defined() ? t.data<T>() : nullptr; }

struct LinearNode : Node {
  Tensor x, w;  // x is kept only when w needs a gradient, w only when x does
  int64_t n = 0, in = 0, out = 0;
  bool has_bias = false;
  const char* name() const override { return "linear"; }
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    Tensor gx, gw, gb;
    if (needs_grad[0]) gx = Tensor::empty({n, in}, gy.dtype(), gy.device());
    if (needs_grad[1]) gw = Tensor::empty({out, in}, gy.dtype(), gy.device());
    if (has_bias && needs_grad[2]) gb = Tensor::empty({out}, gy.dtype(), gy.device());
    if (gy.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::linear_backward(
          cublas_handle(gy.device()), detail::cuda_launch("linear", gy), gw.defined() ? x.data<float>() : nullptr,
          gx.defined() ? w.data<float>() : nullptr, gy.data<float>(), opt<float>(gx), opt<float>(gw),
          opt<float>(gb), n, in, out));
    } else {
      BNAS_DISPATCH_FLOAT(gy.dtype(), T,
                          kernels::cpu::linear_backward<T>(gw.defined() ? x.data<T>() : nullptr,
                                                           gx.defined() ? w.data<T>() : nullptr, gy.data<T>(),
                                                           opt<T>(gx), opt<T>(gw), opt<T>(gb), n, in, out));
    }
    return {gx, gw, gb};
  }
};

}  // namespace

Tensor linear(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in) {
  detail::check_same("linear", {&x_in, &w_in, &b_in});
  BNAS_CHECK(x_in.ndim() == 2, "linear: the input must be 2-D (N x In), got shape ", x_in.shape().str());
  BNAS_CHECK(w_in.ndim() == 2, "linear: the weight must be 2-D (Out x In), got shape ", w_in.shape().str());
  BNAS_CHECK(w_in.size(1) == x_in.size(1), "linear: the weight ", w_in.shape().str(), " takes ", w_in.size(1),
             " input features but the input ", x_in.shape().str(), " has ", x_in.size(1));
  if (b_in.defined())
    BNAS_CHECK(b_in.ndim() == 1 && b_in.size(0) == w_in.size(0), "linear: the bias must have shape [",
               w_in.size(0), "] (one value per output feature), got ", b_in.shape().str());
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  const int64_t n = x.size(0), in = x.size(1), out = w.size(0);
  Tensor y = Tensor::empty({n, out}, x.dtype(), x.device());
  if (y.numel() > 0) {
    if (y.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::linear_forward(cublas_handle(y.device()), detail::cuda_launch("linear", y),
                                                 x.data<float>(), w.data<float>(), opt<float>(b),
                                                 y.data<float>(), n, in, out));
    } else {
      BNAS_DISPATCH_FLOAT(y.dtype(), T,
                          kernels::cpu::linear_forward<T>(x.data<T>(), w.data<T>(), opt<T>(b), y.data<T>(),
                                                          n, in, out));
    }
  }
  if (any_requires_grad({&x_in, &w_in, &b_in})) {
    auto node = std::make_shared<LinearNode>();
    node->n = n, node->in = in, node->out = out;
    node->has_bias = b.defined();
    if (w_in.requires_grad()) node->x = x.detach();
    if (x_in.requires_grad()) node->w = w.detach();
    record(y, node, {&x_in, &w_in, &b_in});
  }
  return y;
}

}  // namespace bnas::ops
