// Op cases: conv2d (1x1 batched and direct, 3x3 stride 1/2, dilated, depthwise, grouped, the
// FactorizedReduce 1x1 stride 2 on an odd-sized input, channel-slice inputs) and linear.
#include <gtest/gtest.h>

#include <string>

#include "engine/conv_algorithms.h"
#include "engine/memory.h"
#include "engine/rng.h"
#include "tests/error_of.h"
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;

ops::Conv2dArgs conv(int stride, int padding, int dilation = 1, int groups = 1) {
  ops::Conv2dArgs a;
  a.stride = stride, a.padding = padding, a.dilation = dilation, a.groups = groups;
  return a;
}
// Case applying conv2d(in[0], in[1], a).
OpCase conv_case(std::string name, Shape x, Shape w, ops::Conv2dArgs a) {
  return {std::move(name), {normal(x), normal(w)}, [a](const V& in) { return ops::conv2d(in[0], in[1], a); }};
}
// conv2d on the channel slice x[:, c0:c1] of a constant input (read in place through its batch
// stride; the slice view carries no autograd history, so only w is differentiable).
OpCase slice_case(std::string name, Shape x, int64_t c0, int64_t c1, Shape w, ops::Conv2dArgs a) {
  return {std::move(name), {constant(x), normal(w)},
          [=](const V& in) { return ops::conv2d(in[0].channel_slice(c0, c1), in[1], a); }};
}

// cuDNN chooses its algorithm per shape and GPU (implicit GEMM, Winograd, FFT), accumulates with
// FMAs in its own order and, for FFT and Winograd, through transforms that round on their own:
// left at the harness's historical 1e-5 (a few dozen terms per output) whatever the emulator
// measures, since its cuDNN stand-in runs the CPU's direct sums.
BNAS_OP_CASES(gpu_parity_all(1e-5, 1e-5, "cuDNN's algorithms sum in other orders, with FMAs and transforms", {
    conv_case("conv1x1", {2, 4, 3, 3}, {6, 4, 1, 1}, conv(1, 0)),
    // 16 x 16 planes take the direct GEMM path (no im2col).
    conv_case("conv1x1_direct", {1, 2, 16, 16}, {3, 2, 1, 1}, conv(1, 0)),
    conv_case("conv3x3_s1", {2, 3, 5, 5}, {4, 3, 3, 3}, conv(1, 1)),
    conv_case("conv3x3_s2", {2, 3, 6, 6}, {4, 3, 3, 3}, conv(2, 1)),
    conv_case("conv3x3_d2", {2, 3, 6, 6}, {4, 3, 3, 3}, conv(1, 2, 2)),
    conv_case("conv5x5_d2", {1, 3, 8, 8}, {2, 3, 5, 5}, conv(1, 4, 2)),
    conv_case("conv3x3_groups2", {2, 4, 5, 5}, {6, 2, 3, 3}, conv(1, 1, 1, 2)),
    // FactorizedReduce's second path: 1x1 stride 2 on x[:, :, 1:, 1:] (an odd-sized plane).
    conv_case("conv1x1_s2_odd", {2, 4, 7, 7}, {4, 4, 1, 1}, conv(2, 0)),
    conv_case("dwconv3x3_s2", {2, 4, 7, 7}, {4, 1, 3, 3}, conv(2, 1, 1, 4)),
    conv_case("dwconv5x5_s2", {2, 3, 8, 8}, {3, 1, 5, 5}, conv(2, 2, 1, 3)),
    conv_case("dwconv3x3_d2", {2, 3, 6, 6}, {3, 1, 3, 3}, conv(1, 2, 2, 3)),
    conv_case("dwconv5x5_d2_s2", {1, 3, 9, 9}, {3, 1, 5, 5}, conv(2, 4, 2, 3)),
    slice_case("conv3x3_channel_slice", {2, 6, 4, 4}, 1, 4, {2, 3, 3, 3}, conv(1, 1)),
    slice_case("dwconv3x3_channel_slice", {2, 6, 5, 5}, 2, 5, {3, 1, 3, 3}, conv(1, 1, 1, 3)),
}));
// cuBLAS's SGEMM accumulates with FMAs in its own (blocked, possibly split-K) order; the CPU's
// GEMM rounds each product. Sums of 4 to 6 terms: a few ulps of the largest (up to 1.3e-7
// measured on the emulated device, whose cuBLAS stand-in adds in order with FMAs).
BNAS_OP_CASES(gpu_parity_all(1e-5, 1e-5, "cuBLAS sums 4-6 products with FMAs in its own order", {
    {"linear", {normal({4, 6}), normal({5, 6}), normal({5})},
     [](const V& in) { return ops::linear(in[0], in[1], in[2]); }},
    {"linear_nobias", {normal({4, 6}), normal({5, 6})},
     [](const V& in) { return ops::linear(in[0], in[1], Tensor()); }},
}));

Tensor randn(const Shape& s, uint64_t seed, Device d = Device::cpu()) {
  Generator g(seed, RngStream::Test);
  return Tensor::from_vector(g.normal(static_cast<uint64_t>(s.numel())), s, DType::F32, d);
}
struct ConvRun {
  std::vector<double> y, gx, gw;
};
// conv2d forward and both gradients (upstream gradient r drawn from seed 99).
ConvRun run_conv(const Tensor& x0, const Tensor& w0, const ops::Conv2dArgs& a, Device d = Device::cpu()) {
  Tensor x = x0.detach().to(d), w = w0.detach().to(d);  // on the CPU: views stay views
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  const Tensor y = ops::conv2d(x, w, a);
  const std::vector<Tensor> g = grad(y, {x, w}, randn(y.shape(), 99, d));
  return {y.to_doubles(), g[0].to_doubles(), g[1].to_doubles()};
}

}  // namespace

TEST(OpsUnit, Conv2dRejectsBadArguments) {
  const Tensor x = randn({2, 4, 5, 5}, 1);
  auto conv = [&](const Tensor& xx, const Shape& w, ops::Conv2dArgs a = {}) {
    return error_of([&] { ops::conv2d(xx, Tensor::zeros(w), a); });
  };
  EXPECT_NE(conv(x, {4, 3, 3, 3}).find("expects 3 input channels per group"), std::string::npos);
  EXPECT_NE(conv(x, {3, 2, 3, 3}, {1, 1, 1, 2}).find("must divide"), std::string::npos);
  EXPECT_NE(conv(x, {4, 4, 5, 5}, {1, 0, 2, 1}).find("smaller than the dilated kernel"), std::string::npos);
  EXPECT_NE(conv(randn({4, 5, 5}, 2), {4, 4, 3, 3}).find("must be 4-D"), std::string::npos);
  EXPECT_NE(conv(x, {4, 4, 3, 3}, {0, 1, 1, 1}).find("stride >= 1"), std::string::npos);
  EXPECT_NE(error_of([&] { ops::conv2d(x, Tensor::zeros({4, 4, 3, 3}, DType::F64)); }).find("dtypes"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::linear(randn({2, 5}, 3), randn({3, 4}, 4), Tensor()); }).find("input features"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ops::linear(randn({2, 4}, 3), randn({3, 4}, 4), randn({4}, 5)); }).find("bias"),
            std::string::npos);
  // An empty batch is valid: an empty output, and a zero weight gradient.
  Tensor w = randn({4, 4, 3, 3}, 6);
  w.set_requires_grad(true);
  const Tensor y = ops::conv2d(Tensor::zeros({0, 4, 5, 5}), w, {1, 1, 1, 1});
  EXPECT_EQ(y.shape(), Shape({0, 4, 5, 5}));
  EXPECT_EQ(grad(y, {w}, Tensor::zeros(y.shape()))[0].to_doubles(), std::vector<double>(144, 0.0));
}

// A channel slice is read in place (no copy) and gives exactly what its contiguous copy gives;
// gradients reach the full tensor through the differentiable narrow.
TEST(OpsUnit, Conv2dReadsChannelSliceViews) {
  const Tensor base = randn({3, 7, 6, 6}, 7);
  ASSERT_FALSE(base.channel_slice(2, 5).is_contiguous());
  for (int groups : {1, 3}) {
    const Tensor w = randn({3, 3 / groups, 3, 3}, 8 + groups);
    const ops::Conv2dArgs a{2, 1, 1, groups};
    const ConvRun view = run_conv(base.channel_slice(2, 5), w, a);
    const ConvRun copy = run_conv(base.channel_slice(2, 5).contiguous(), w, a);
    EXPECT_EQ(view.y, copy.y) << "groups " << groups;
    EXPECT_EQ(view.gw, copy.gw) << "groups " << groups;
    Tensor full = base.clone(), wl = w.clone();
    full.set_requires_grad(true);
    const Tensor y = ops::conv2d(ops::narrow(full, 1, 2, 3), wl, a);
    EXPECT_EQ(y.to_doubles(), copy.y);
    const std::vector<double> gfull = grad(y, {full}, randn(y.shape(), 99))[0].to_doubles();
    const int64_t plane = 36;
    for (int64_t n = 0; n < 3; ++n)
      for (int64_t c = 0; c < 7; ++c)
        for (int64_t p = 0; p < plane; ++p) {
          const double g = gfull[static_cast<size_t>((n * 7 + c) * plane + p)];
          const double want = (c >= 2 && c < 5) ? copy.gx[static_cast<size_t>((n * 3 + c - 2) * plane + p)] : 0.0;
          ASSERT_EQ(g, want) << "groups " << groups << " n " << n << " c " << c << " p " << p;
        }
  }
}

TEST(OpsUnit, Conv2dGradientSubsets) {
  for (int groups : {1, 4}) {
    Tensor x = randn({2, 4, 5, 5}, 20), w = randn({4, 4 / groups, 3, 3}, 21);
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    const Tensor y = ops::conv2d(x, w, {1, 1, 1, groups});
    const Tensor r = randn(y.shape(), 22);
    const std::vector<Tensor> both = grad(y, {x, w}, r);
    EXPECT_EQ(grad(y, {x}, r)[0].to_doubles(), both[0].to_doubles()) << "groups " << groups;
    EXPECT_EQ(grad(y, {w}, r)[0].to_doubles(), both[1].to_doubles()) << "groups " << groups;
  }
}

// The CPU kernel splits the forward pass into blocks of output rows (40 x 40 outputs: two
// blocks) and the weight gradient into partial sums over blocks of samples (17 samples: 9
// blocks of 2); the result must equal sample-by-sample convolution (float32 sums in another
// order: 1e-5 norm-wise).
TEST(OpsUnit, Conv2dBlockedWorkMatchesPerSample) {
  const int64_t N = 17;
  const Tensor x = randn({N, 8, 40, 40}, 30), w = randn({2, 8, 3, 3}, 31);
  const ops::Conv2dArgs a{1, 1, 1, 1};
  const ConvRun all = run_conv(x, w, a);
  std::vector<double> y, gx, gw(all.gw.size(), 0.0);
  const Tensor r = randn({N, 2, 40, 40}, 99);
  for (int64_t n = 0; n < N; ++n) {
    Tensor xn = ops::narrow(x, 0, n, 1).contiguous().clone(), wn = w.clone();
    xn.set_requires_grad(true);
    wn.set_requires_grad(true);
    const Tensor yn = ops::conv2d(xn, wn, a);
    const std::vector<Tensor> g = grad(yn, {xn, wn}, ops::narrow(r, 0, n, 1).contiguous());
    for (double v : yn.to_doubles()) y.push_back(v);
    for (double v : g[0].to_doubles()) gx.push_back(v);
    const std::vector<double> gwn = g[1].to_doubles();
    for (size_t i = 0; i < gw.size(); ++i) gw[i] += gwn[i];
  }
  EXPECT_LE(relative_error(all.y, y), 1e-5);
  EXPECT_LE(relative_error(all.gx, gx), 1e-5);
  EXPECT_LE(relative_error(all.gw, gw), 1e-5);
}

// Search-network shapes at batch 8 (the harness's cases are tiny): cuDNN picks other
// algorithms here (FFT, Winograd, implicit GEMM variants), whose transforms round differently
// from the CPU's direct sums, hence 1e-4; with deterministic() on, two runs are bit-identical.
TEST(OpsGpu, Conv2dSearchShapesMatchCpuAndRepeat) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  struct Case {
    Shape x, w;
    ops::Conv2dArgs a;
  };
  const std::vector<Case> cases = {
      {{8, 3, 32, 32}, {48, 3, 3, 3}, {1, 1, 1, 1}},     {{8, 48, 32, 32}, {32, 48, 1, 1}, {1, 0, 1, 1}},
      {{8, 32, 32, 32}, {32, 1, 3, 3}, {2, 1, 1, 32}},   {{8, 32, 16, 16}, {32, 1, 5, 5}, {1, 2, 1, 32}},
      {{8, 32, 16, 16}, {32, 1, 3, 3}, {1, 2, 2, 32}},   {{8, 64, 8, 8}, {64, 1, 5, 5}, {1, 4, 2, 64}},
      {{8, 64, 8, 8}, {64, 64, 1, 1}, {1, 0, 1, 1}},     {{8, 48, 31, 31}, {32, 48, 1, 1}, {2, 0, 1, 1}},
      {{8, 64, 16, 16}, {64, 64, 3, 3}, {1, 1, 1, 1}},   {{8, 64, 16, 16}, {64, 32, 3, 3}, {1, 1, 1, 2}},
  };
  const bool was = deterministic();
  set_deterministic(true);
  for (const Case& c : cases) {
    const Tensor x = randn(c.x, 40), w = randn(c.w, 41);
    const ConvRun cpu = run_conv(x, w, c.a), gpu = run_conv(x, w, c.a, Device::cuda(0));
    const ConvRun again = run_conv(x, w, c.a, Device::cuda(0));
    const std::string what = c.x.str() + " * " + c.w.str();
    EXPECT_LE(relative_error(gpu.y, cpu.y), 1e-4) << what << ": output";
    EXPECT_LE(relative_error(gpu.gx, cpu.gx), 1e-4) << what << ": grad x";
    EXPECT_LE(relative_error(gpu.gw, cpu.gw), 1e-4) << what << ": grad w";
    EXPECT_TRUE(gpu.y == again.y && gpu.gx == again.gx && gpu.gw == again.gw) << what << ": two GPU runs differ";
  }
  set_deterministic(was);
}

// Every cuDNN choice is in the registry (forward, backward data, backward filter of the shape,
// with a name and a workspace size), and once the first step has chosen the algorithms and
// grown the per-stream workspace, repeated steps leave the pool's reserved bytes alone.
TEST(OpsGpu, Conv2dAlgorithmsAreRecordedAndSteadyStepsAllocateNothing) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: " << cuda_unavailable_reason();
  const Device d = Device::cuda(0);
  const Tensor x = randn({8, 24, 20, 20}, 60), w = randn({40, 24, 3, 3}, 61);  // a shape no other test uses
  const ops::Conv2dArgs a = conv(1, 1);
  run_conv(x, w, a, d);
  kernels::ConvShape s;
  s.n = 8, s.cin = 24, s.h = 20, s.w = 20, s.cout = 40, s.kh = 3, s.kw = 3, s.stride = 1, s.pad = 1;
  s.ho = 20, s.wo = 20, s.x_batch_stride = 24 * 20 * 20;
  const std::string shape = kernels::conv_shape_text(s);
  int found[3] = {0, 0, 0};
  for (const ConvAlgorithm& c : conv_algorithms()) {
    if (kernels::conv_shape_text(c.shape) != shape) continue;
    const int k = c.direction == "fwd" ? 0 : c.direction == "bwd_data" ? 1 : c.direction == "bwd_filter" ? 2 : -1;
    ASSERT_GE(k, 0) << c.direction;
    ++found[k];
    EXPECT_EQ(c.device, 0);
    EXPECT_FALSE(c.name.empty());
    EXPECT_NE(c.name, "UNKNOWN") << format_conv_algorithm(c);
    EXPECT_EQ(c.fallback, !c.fallback_reason.empty()) << format_conv_algorithm(c);
    EXPECT_NE(format_conv_algorithm(c).find(shape), std::string::npos);
  }
  for (int k = 0; k < 3; ++k) EXPECT_EQ(found[k], 1) << "direction " << k;
  // Steady state: same shapes, same tensors' sizes; the workspace is reused, not reallocated.
  synchronize(d);
  const size_t reserved = memory_stats(d).reserved;
  for (int i = 0; i < 5; ++i) run_conv(x, w, a, d);
  synchronize(d);
  EXPECT_EQ(memory_stats(d).reserved, reserved);
}

TEST(OpsGpu, LinearClassifierShapeMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  const Tensor x = randn({64, 304}, 50), w = randn({10, 304}, 51), b = randn({10}, 52);
  std::vector<std::vector<double>> res[2];
  for (int k = 0; k < 2; ++k) {
    const Device d = k ? Device::cuda(0) : Device::cpu();
    Tensor xd = x.to(d).clone(), wd = w.to(d).clone(), bd = b.to(d).clone();
    for (Tensor* t : {&xd, &wd, &bd}) t->set_requires_grad(true);
    const Tensor y = ops::linear(xd, wd, bd);
    const std::vector<Tensor> g = grad(y, {xd, wd, bd}, randn(y.shape(), 53, d));
    res[k] = {y.to_doubles(), g[0].to_doubles(), g[1].to_doubles(), g[2].to_doubles()};
  }
  // The output and the input and weight gradients are GEMMs (sums of 304 and 64 products): cuBLAS
  // accumulates with FMAs in its own blocked order, the CPU's GEMM in another (5e-7 measured).
  for (size_t i = 0; i < 3; ++i) EXPECT_LE(relative_error(res[1][i], res[0][i]), 1e-5) << "tensor " << i;
  // The bias gradient adds each column of gy in row order on both (kernels/linear_math.h): bitwise.
  EXPECT_EQ(res[1][3], res[0][3]) << "bias gradient";
}

}  // namespace bnas::testing
