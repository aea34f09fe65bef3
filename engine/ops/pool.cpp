// max_pool2d, avg_pool2d (count_include_pad = false) and global_avg_pool. Max pooling saves the
// arg-max of every output (int32 plane index) so its backward needs neither x nor a recompute.
#include "engine/ops.h"
#include "engine/ops/dispatch.h"
#include "kernels/cpu/pool.h"

#if BNAS_WITH_CUDA
#include "kernels/cuda/pool.cuh"
#endif

namespace bnas::ops {
using detail::check_same;
using kernels::PoolGeom;

namespace {

PoolGeom pool_geom(const char* op, const Tensor& x, const Pool2dArgs& a) {
  detail::check_ndim(op, x, 4);
  BNAS_CHECK(a.kernel >= 1 && a.stride >= 1 && a.padding >= 0, op, ": kernel and stride must be positive and padding ",
             "non-negative, got kernel ", a.kernel, ", stride ", a.stride, ", padding ", a.padding);
  BNAS_CHECK(2 * a.padding <= a.kernel, op, ": padding must be at most half the kernel, got kernel ", a.kernel,
             " and padding ", a.padding);
  const int64_t H = x.size(2), W = x.size(3);
  BNAS_CHECK(H + 2 * a.padding >= a.kernel && W + 2 * a.padding >= a.kernel, op, ": input ", x.shape().str(),
             " is smaller than the ", a.kernel, "x", a.kernel, " window (padding ", a.padding, ")");
  BNAS_CHECK(H * W < (int64_t(1) << 31), op, ": planes of 2^31 or more elements are not supported, got ",
             x.shape().str());
  PoolGeom g;
  g.H = static_cast<int>(H);
  g.W = static_cast<int>(W);
  g.k = a.kernel;
  g.s = a.stride;
  g.p = a.padding;
  g.Ho = kernels::pool_out_size(g.H, g.k, g.s, g.p);
  g.Wo = kernels::pool_out_size(g.W, g.k, g.s, g.p);
  return g;
}

struct MaxPoolNode : Node {
  Tensor argmax;  // int32, output shape
  Shape in_shape;
  DType dtype = DType::F32;
  PoolGeom g{};
  const char* name() const override { return "max_pool2d"; }
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    Tensor gx = Tensor::empty(in_shape, dtype, gy.device());
    const int64_t planes = in_shape[0] * in_shape[1];
    if (gx.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::max_pool2d_backward(gy.data<float>(), argmax.data<int32_t>(), gx.data<float>(),
                                                      planes, g, detail::cuda_launch("max_pool2d", gx)));
    } else {
      BNAS_DISPATCH_FLOAT(dtype, T,
                          kernels::cpu::max_pool2d_backward(gy.data<T>(), argmax.data<int32_t>(), gx.data<T>(),
                                                            planes, g));
    }
    return {gx};
  }
};

struct AvgPoolNode : Node {
  Shape in_shape;
  DType dtype = DType::F32;
  PoolGeom g{};
  const char* name() const override { return "avg_pool2d"; }
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    Tensor gx = Tensor::empty(in_shape, dtype, gy.device());
    const int64_t planes = in_shape[0] * in_shape[1];
    if (gx.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::avg_pool2d_backward(gy.data<float>(), gx.data<float>(), planes, g,
                                                      detail::cuda_launch("avg_pool2d", gx)));
    } else {
      BNAS_DISPATCH_FLOAT(dtype, T, kernels::cpu::avg_pool2d_backward(gy.data<T>(), gx.data<T>(), planes, g));
    }
    return {gx};
  }
};

struct GlobalAvgPoolNode : Node {
  Shape in_shape;
  DType dtype = DType::F32;
  const char* name() const override { return "global_avg_pool"; }
  std::vector<Tensor> backward(const Tensor& gy_in) override {
    const Tensor gy = gy_in.contiguous();
    Tensor gx = Tensor::empty(in_shape, dtype, gy.device());
    const int64_t planes = in_shape[0] * in_shape[1], hw = in_shape[2] * in_shape[3];
    if (gx.is_cuda()) {
      BNAS_ON_CUDA(kernels::cuda::global_avg_pool_backward(gy.data<float>(), gx.data<float>(), planes, hw,
                                                           detail::cuda_launch("global_avg_pool", gx)));
    } else {
      BNAS_DISPATCH_FLOAT(dtype, T, kernels::cpu::global_avg_pool_backward(gy.data<T>(), gx.data<T>(), planes, hw));
    }
    return {gx};
  }
};

}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dArgs& a) {
  check_same("max_pool2d", {&x_in});
  const PoolGeom g = pool_geom("max_pool2d", x_in, a);
  const Tensor x = x_in.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  Tensor y = Tensor::empty({x.size(0), x.size(1), g.Ho, g.Wo}, x.dtype(), x.device());
  const bool rec = any_requires_grad({&x_in});
  Tensor argmax = rec ? Tensor::empty(y.shape(), DType::I32, x.device()) : Tensor();
  int32_t* arg = rec ? argmax.data<int32_t>() : nullptr;
  if (y.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::max_pool2d_forward(x.data<float>(), y.data<float>(), arg, planes, g,
                                                   detail::cuda_launch("max_pool2d", y)));
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T, kernels::cpu::max_pool2d_forward(x.data<T>(), y.data<T>(), arg, planes, g));
  }
  if (rec) {
    auto node = std::make_shared<MaxPoolNode>();
    node->argmax = argmax;
    node->in_shape = x.shape();
    node->dtype = x.dtype();
    node->g = g;
    record(y, node, {&x_in});
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dArgs& a) {
  check_same("avg_pool2d", {&x_in});
  const PoolGeom g = pool_geom("avg_pool2d", x_in, a);
  const Tensor x = x_in.contiguous();
  const int64_t planes = x.size(0) * x.size(1);
  Tensor y = Tensor::empty({x.size(0), x.size(1), g.Ho, g.Wo}, x.dtype(), x.device());
  if (y.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::avg_pool2d_forward(x.data<float>(), y.data<float>(), planes, g,
                                                   detail::cuda_launch("avg_pool2d", y)));
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T, kernels::cpu::avg_pool2d_forward(x.data<T>(), y.data<T>(), planes, g));
  }
  if (any_requires_grad({&x_in})) {
    auto node = std::make_shared<AvgPoolNode>();
    node->in_shape = x.shape();
    node->dtype = x.dtype();
    node->g = g;
    record(y, node, {&x_in});
  }
  return y;
}

Tensor global_avg_pool(const Tensor& x_in) {
  check_same("global_avg_pool", {&x_in});
  detail::check_ndim("global_avg_pool", x_in, 4);
  const Tensor x = x_in.contiguous();
  const int64_t planes = x.size(0) * x.size(1), hw = x.size(2) * x.size(3);
  BNAS_CHECK(hw > 0, "global_avg_pool: the input has no spatial elements, got ", x.shape().str());
  Tensor y = Tensor::empty({x.size(0), x.size(1)}, x.dtype(), x.device());
  if (y.is_cuda()) {
    BNAS_ON_CUDA(kernels::cuda::global_avg_pool_forward(x.data<float>(), y.data<float>(), planes, hw,
                                                        detail::cuda_launch("global_avg_pool", y)));
  } else {
    BNAS_DISPATCH_FLOAT(y.dtype(), T, kernels::cpu::global_avg_pool_forward(x.data<T>(), y.data<T>(), planes, hw));
  }
  if (any_requires_grad({&x_in})) {
    auto node = std::make_shared<GlobalAvgPoolNode>();
    node->in_shape = x.shape();
    node->dtype = x.dtype();
    record(y, node, {&x_in});
  }
  return y;
}

}  // namespace bnas::ops
