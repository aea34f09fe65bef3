// relu, add, scale and the in-place axpy-style updates.
#include "engine/ops.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/elementwise.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/elementwise.cuh"
#endif

namespace bnas::ops {
using detail::check_same;

namespace {

// out = a * x + b * y over contiguous tensors of one shape (y may be undefined when b == 0).
void axpby_into(double a, const Tensor& x, double b, const Tensor& y, Tensor& out) {
  const Tensor& yy = y.defined() ? y : x;
  if (out.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::axpby(static_cast<float>(a), x.data<float>(), static_cast<float>(b),
                                      yy.data<float>(), out.data<float>(), out.numel(),
                                      detail::cuda_launch("axpby", out)));
  } else {
    BNAS_DISPATCH_FLOAT(out.dtype(), T,
                        kernels::cpu::axpby(static_cast<T>(a), x.data<T>(), static_cast<T>(b),
                                            yy.data<T>(), out.data<T>(), out.numel()));
  }
}

struct ReluNode : Node {
  Tensor y;  // output
  const char* name() const override { return "relu"; }
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    Tensor gx = Tensor::empty(y.shape(), y.dtype(), y.device());
    if (gx.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::relu_backward(y.data<float>(), gy.data<float>(), gx.data<float>(),
                                                gx.numel(), detail::cuda_launch("relu", gx)));
    } else {
      BNAS_DISPATCH_FLOAT(gx.dtype(), T,
                          kernels::cpu::relu_backward(y.data<T>(), gy.data<T>(), gx.data<T>(), gx.numel()));
    }
    return {gx};
  }
};

struct AddNode : Node {
  const char* name() const override { return "add"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {g, g}; }
};

struct ScaleNode : Node {
  double s = 1;
  const char* name() const override { return "scale"; }
  std::vector<Tensor> backward(const Tensor& g) override { return {scale(g, s)}; }
};

}  // namespace

Tensor relu(const Tensor& x_in) {
  check_same("relu", {&x_in});
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (y.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::relu_forward(x.data<float>(), y.data<float>(), y.numel(),
                                             detail::cuda_launch("relu", y)));
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T, kernels::cpu::relu_forward(x.data<T>(), y.data<T>(), y.numel()));
  }
  if (any_requires_grad({&x_in})) {
    auto node = std::make_shared<ReluNode>();
    node->y = y.detach();
    record(y, node, {&x_in});
  }
  return y;
}

Tensor add(const Tensor& a_in, const Tensor& b_in) {
  check_same("add", {&a_in, &b_in});
  BNAS_CHECK(a_in.shape() == b_in.shape(), "add: shapes ", a_in.shape().str(), " and ",
             b_in.shape().str(), " differ");
  const Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  axpby_into(1.0, a, 1.0, b, y);
  if (any_requires_grad({&a_in, &b_in})) record(y, std::make_shared<AddNode>(), {&a_in, &b_in});
  return y;
}

Tensor scale(const Tensor& x_in, double s) {
  check_same("scale", {&x_in});
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  axpby_into(s, x, 0.0, Tensor(), y);
  if (any_requires_grad({&x_in})) {
    auto node = std::make_shared<ScaleNode>();
    node->s = s;
    record(y, node, {&x_in});
  }
  return y;
}

void add_(Tensor& y, const Tensor& x_in, double alpha) {
  check_same("add_", {&y, &x_in});
  BNAS_CHECK(y.shape() == x_in.shape(), "add_: shapes ", y.shape().str(), " and ",
             x_in.shape().str(), " differ");
  BNAS_CHECK(y.is_contiguous(), "add_: the destination must be contiguous");
  const Tensor x = x_in.contiguous();
  axpby_into(alpha, x, 1.0, y, y);
}

void scale_(Tensor& x, double s) {
  check_same("scale_", {&x});
  BNAS_CHECK(x.is_contiguous(), "scale_: the tensor must be contiguous");
  axpby_into(s, x, 0.0, Tensor(), x);
}

void add_scaled_(Tensor& y, const Tensor& x_in, const Tensor& coef, double alpha) {
  const char* what = "add_scaled_";
  check_same(what, {&y, &x_in, &coef});
  BNAS_CHECK(y.shape() == x_in.shape(), what, ": shapes ", y.shape().str(), " and ",
             x_in.shape().str(), " differ");
  BNAS_CHECK(y.is_contiguous(), what, ": the destination must be contiguous");
  BNAS_CHECK(coef.numel() == 1, what, ": the coefficient must have one element, got shape ",
             coef.shape().str());
  const Tensor x = x_in.contiguous();
  const Tensor c = coef.contiguous();
  if (y.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::add_scaled(x.data<float>(), c.data<float>(), static_cast<float>(alpha),
                                           y.data<float>(), y.numel(), detail::cuda_launch(what, y)));
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T,
                        kernels::cpu::add_scaled(x.data<T>(), c.data<T>(), static_cast<T>(alpha), y.data<T>(),
                                                 y.numel()));
  }
}

}  // namespace bnas::ops
