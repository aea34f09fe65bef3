// Op cases: max_pool2d (3x3 stride 1 / 2 padding 1, 2x2 stride 2), avg_pool2d (3x3 stride 1 / 2
// padding 1, padding not counted) and global_avg_pool; odd and even sizes exercise the borders.
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;
ops::Pool2dArgs pool(int k, int s, int p) { return {k, s, p}; }

// Bitwise: max pooling selects, forward (the same first maximum) and backward (each input adds
// the gradients of the windows that chose it, in the same (oh, ow) order on both); average
// pooling adds the window in the same row-major order and divides once, and its gather backward
// adds gy / count in the same order: additions and divisions, which nvcc never contracts.
BNAS_OP_CASES(gpu_parity_all(0, 0, "selections, and the same sums in the same order without products: exact", {
    {"max_pool_k3s1p1", {normal({2, 3, 5, 5})}, [](const V& in) { return ops::max_pool2d(in[0], pool(3, 1, 1)); }},
    {"max_pool_k3s2p1", {normal({2, 3, 7, 7})}, [](const V& in) { return ops::max_pool2d(in[0], pool(3, 2, 1)); }},
    {"max_pool_k3s2p1_even", {normal({2, 2, 6, 8})}, [](const V& in) { return ops::max_pool2d(in[0], pool(3, 2, 1)); }},
    {"max_pool_k2s2p0", {normal({2, 3, 6, 6})}, [](const V& in) { return ops::max_pool2d(in[0], pool(2, 2, 0)); }},
    {"max_pool_k2s2p0_odd", {normal({2, 2, 5, 7})}, [](const V& in) { return ops::max_pool2d(in[0], pool(2, 2, 0)); }},
    {"avg_pool_k3s1p1", {normal({2, 3, 5, 5})}, [](const V& in) { return ops::avg_pool2d(in[0], pool(3, 1, 1)); }},
    {"avg_pool_k3s2p1", {normal({2, 3, 7, 7})}, [](const V& in) { return ops::avg_pool2d(in[0], pool(3, 2, 1)); }},
    {"avg_pool_k3s2p1_even", {normal({2, 2, 6, 8})}, [](const V& in) { return ops::avg_pool2d(in[0], pool(3, 2, 1)); }},
}));
// Global pooling sums a plane in double (a warp of strided lanes and a shuffle tree on the GPU,
// in index order on the CPU): the doubles differ by ~1e-16 and round to the same float unless they
// straddle a rounding boundary, so the output may differ by 1 ulp (6e-8 relative; 1e-6 bound).
// Backward is the same double division gy / HW, rounded once: exact.
BNAS_OP_CASES(gpu_parity_all(1e-6, 0, "double plane sums in another order: at most 1 float ulp", {
    {"global_avg_pool", {normal({2, 3, 4, 5})}, [](const V& in) { return ops::global_avg_pool(in[0]); }},
}));
}  // namespace
}  // namespace bnas::testing

// ---- plain tests: ties, argument checks, views, larger GPU shapes -------------------------
#include <gtest/gtest.h>

#include <cmath>

#include "engine/device.h"

namespace bnas::testing {
namespace {

Tensor pool_randn(const Shape& s, uint64_t seed) {
  Generator gen(seed, RngStream::Test);
  return Tensor::from_vector(gen.normal(static_cast<uint64_t>(s.numel())), s);
}

// Ties go to the first maximum in scan order (PyTorch's CPU rule; expected values from PyTorch).
TEST(OpsUnit, MaxPoolTiesRouteToFirstMaximum) {
  const std::vector<Device> devices = cuda_available() ? std::vector<Device>{Device::cpu(), Device::cuda(0)}
                                                       : std::vector<Device>{Device::cpu()};
  for (Device d : devices) {
    Tensor x = Tensor::zeros({1, 1, 4, 4}, DType::F32, d);
    x.set_requires_grad(true);
    const Tensor y1 = ops::max_pool2d(x, {3, 1, 1});
    EXPECT_EQ(grad(y1, {x}, Tensor::full(y1.shape(), 1.0, DType::F32, d))[0].to_doubles(),
              (std::vector<double>{4, 2, 2, 0, 2, 1, 1, 0, 2, 1, 1, 0, 0, 0, 0, 0}))
        << d.str();
    const Tensor y2 = ops::max_pool2d(x, {3, 2, 1});
    EXPECT_EQ(grad(y2, {x}, Tensor::full(y2.shape(), 1.0, DType::F32, d))[0].to_doubles(),
              (std::vector<double>{1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}))
        << d.str();
  }
}

// NaN and infinities (expected values from PyTorch 1.13's CPU max_pool2d): a NaN in the window
// wins over everything, +inf included, and of several NaNs the last in scan order takes the
// gradient; a window without NaN takes its first maximum.
TEST(OpsUnit, MaxPoolNaNAndInfinity) {
  const double nan = std::nan(""), inf = INFINITY;
  const std::vector<Device> devices = cuda_available() ? std::vector<Device>{Device::cpu(), Device::cuda(0)}
                                                       : std::vector<Device>{Device::cpu()};
  for (Device d : devices) {
    Tensor x = Tensor::from_vector(std::vector<double>{1, nan, 2, -inf, nan, 0, inf, -inf, 3, -1, 5, -inf, -inf, -inf,
                                                       -inf, -inf},
                                   {1, 1, 4, 4})
                   .to(d);
    x.set_requires_grad(true);
    const Tensor y = ops::max_pool2d(x, {3, 1, 1});
    const std::vector<double> got = y.to_doubles();
    const std::vector<double> want{nan, nan, nan, inf, nan, nan, nan, inf, nan, nan, inf, inf, 3, 5, 5, 5};
    for (size_t i = 0; i < want.size(); ++i)
      EXPECT_TRUE(std::isnan(want[i]) ? std::isnan(got[i]) : got[i] == want[i]) << d.str() << " output " << i;
    EXPECT_EQ(grad(y, {x}, Tensor::full(y.shape(), 1.0, DType::F32, d))[0].to_doubles(),
              (std::vector<double>{0, 2, 0, 0, 6, 0, 4, 0, 1, 0, 3, 0, 0, 0, 0, 0}))
        << d.str();
  }
}

TEST(OpsUnit, PoolingRejectsBadArguments) {
  const Tensor x = pool_randn({1, 2, 5, 5}, 1);
  EXPECT_THROW(ops::max_pool2d(x, {3, 1, 2}), Error);    // padding over half the kernel
  EXPECT_THROW(ops::avg_pool2d(x, {3, 0, 1}), Error);    // stride 0
  EXPECT_THROW(ops::max_pool2d(pool_randn({2, 5, 5}, 2), {3, 1, 1}), Error);
  EXPECT_THROW(ops::avg_pool2d(pool_randn({1, 1, 1, 1}, 3), {3, 2, 0}), Error);  // window larger than input
  EXPECT_THROW(ops::global_avg_pool(pool_randn({2, 5}, 4)), Error);
  EXPECT_EQ(ops::max_pool2d(x, {3, 2, 1}).shape(), (Shape{1, 2, 3, 3}));
  EXPECT_EQ(ops::max_pool2d(x, {2, 2, 0}).shape(), (Shape{1, 2, 2, 2}));
}

TEST(OpsUnit, PoolingReadsChannelSliceViews) {
  const Tensor base = pool_randn({2, 6, 5, 7}, 5);
  const Tensor view = base.channel_slice(1, 4);
  ASSERT_FALSE(view.is_contiguous());
  const Tensor copy = view.contiguous();
  EXPECT_EQ(ops::max_pool2d(view, {3, 2, 1}).to_doubles(), ops::max_pool2d(copy, {3, 2, 1}).to_doubles());
  EXPECT_EQ(ops::avg_pool2d(view, {3, 1, 1}).to_doubles(), ops::avg_pool2d(copy, {3, 1, 1}).to_doubles());
  EXPECT_EQ(ops::global_avg_pool(view).to_doubles(), ops::global_avg_pool(copy).to_doubles());
}

// Search-network-sized planes on the GPU (more than a warp per plane for global pooling):
// CUDA against the CPU, and two GPU runs bitwise equal. Max and average pooling are bitwise
// (selections; the same additions in the same order and one division, nothing to contract);
// global pooling's double plane sums, added in another order, may round to floats 1 ulp apart
// (6e-8 relative; bound 1e-6), and its gradient is one double division rounded once (bitwise).
TEST(OpsGpu, PoolingLargePlanesMatchCpuAndRepeat) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  using Fn = std::function<Tensor(const Tensor&)>;
  struct Op {
    std::string name;
    Fn fn;
    double out_tol;
  };
  const std::vector<Op> ops_ = {
      {"max_k3s1", [](const Tensor& x) { return ops::max_pool2d(x, {3, 1, 1}); }, 0},
      {"max_k3s2", [](const Tensor& x) { return ops::max_pool2d(x, {3, 2, 1}); }, 0},
      {"max_k2s2", [](const Tensor& x) { return ops::max_pool2d(x, {2, 2, 0}); }, 0},
      {"avg_k3s1", [](const Tensor& x) { return ops::avg_pool2d(x, {3, 1, 1}); }, 0},
      {"avg_k3s2", [](const Tensor& x) { return ops::avg_pool2d(x, {3, 2, 1}); }, 0},
      {"global", [](const Tensor& x) { return ops::global_avg_pool(x); }, 1e-6},
  };
  const Tensor x0 = pool_randn({8, 16, 33, 31}, 6);
  for (const auto& [name, fn, out_tol] : ops_) {
    std::vector<std::vector<double>> outs, grads;
    for (Device d : {Device::cpu(), Device::cuda(0), Device::cuda(0)}) {
      Tensor x = x0.to(d).clone();
      x.set_requires_grad(true);
      const Tensor y = fn(x);
      const Tensor r = pool_randn(y.shape(), 7).to(d);
      outs.push_back(y.to_doubles());
      grads.push_back(grad(y, {x}, r)[0].to_doubles());
    }
    EXPECT_LE(relative_error(outs[1], outs[0]), out_tol) << name << ": output";
    EXPECT_EQ(grads[1], grads[0]) << name << ": gradient";
    EXPECT_TRUE(outs[1] == outs[2] && grads[1] == grads[2]) << name << ": two GPU runs differ";
  }
}

}  // namespace
}  // namespace bnas::testing
