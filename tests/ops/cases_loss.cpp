// Op cases: softmax, log_softmax, cross_entropy (mirrored by tests/reference/op_cases/loss.py),
// and plain tests of count_correct (not differentiable, so outside the OpCase harness) and of
// out-of-range labels.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/device.h"
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;
// One warp per row: lanes take strided elements and a butterfly of shuffles adds them (the CPU
// adds in index order), CUDA's expf and logf are not correctly rounded (up to 2 ulps), and nvcc
// contracts the gradients' y * (gy - dot) and gy - p * gsum.
BNAS_OP_CASES(gpu_parity_all(1e-5, 1e-5, "warp-tree row sums, CUDA's expf/logf (2 ulps) and FMAs", {
    {"softmax_1d", {normal({7})}, [](const V& in) { return ops::softmax(in[0]); }},
    {"softmax_2d", {normal({4, 10})}, [](const V& in) { return ops::softmax(in[0]); }},
    // Rows longer than a warp: every lane of the CUDA kernel takes several elements.
    {"softmax_2d_wide", {normal({3, 70})}, [](const V& in) { return ops::softmax(in[0]); }},
    {"log_softmax_1d", {normal({7})}, [](const V& in) { return ops::log_softmax(in[0]); }},
    {"log_softmax_2d", {normal({4, 10})}, [](const V& in) { return ops::log_softmax(in[0]); }},
    {"cross_entropy", {normal({6, 10}), labels(6, 10)},
     [](const V& in) { return ops::cross_entropy(in[0], in[1], 0.0); }},
    {"cross_entropy_smooth", {normal({6, 10}), labels(6, 10)},
     [](const V& in) { return ops::cross_entropy(in[0], in[1], 0.1); }},
    {"cross_entropy_smooth_wide", {normal({3, 40}), labels(3, 40)},
     [](const V& in) { return ops::cross_entropy(in[0], in[1], 0.1); }},
}));

// Logits with known arg-maxes, including a tie (the first maximum wins) and rows whose maximum
// is not the label.
Tensor known_logits(DType t, Device d) {
  return Tensor::from_vector({0.1, 0.9, 0.3,     // arg-max 1
                              2.0, -1.0, 2.0,    // tie: 0
                              -3.0, -2.0, -1.0,  // 2
                              0.5, 0.5, 0.5,     // tie: 0
                              1.0, 4.0, 3.0},    // 1
                             {5, 3}, t, d);
}

TEST(OpsUnit, CountCorrectKnownRowsCpu) {
  const Tensor labels = Tensor::from_ints({1, 0, 0, 1, 1}, {5});
  for (DType t : {DType::F32, DType::F64}) {
    const Tensor c = ops::count_correct(known_logits(t, Device::cpu()), labels);
    EXPECT_EQ(c.dtype(), DType::F32);
    EXPECT_EQ(c.shape(), Shape({1}));
    EXPECT_EQ(c.item(), 3.0);  // rows 0, 1 and 4
  }
}

TEST(OpsUnit, CountCorrectIsNotRecorded) {
  Tensor x = known_logits(DType::F64, Device::cpu());
  x.set_requires_grad(true);
  const Tensor c = ops::count_correct(x, Tensor::from_ints({1, 0, 0, 1, 1}, {5}));
  EXPECT_FALSE(c.requires_grad());
}

TEST(OpsUnit, OutOfRangeLabelsThrowOnCpu) {
  const Tensor x = known_logits(DType::F32, Device::cpu());
  for (int32_t bad : {-1, 3}) {
    const Tensor labels = Tensor::from_ints({1, 0, bad, 1, 1}, {5});
    EXPECT_THROW(ops::count_correct(x, labels), Error);
    EXPECT_THROW(ops::cross_entropy(x, labels, 0.1), Error);
  }
  EXPECT_THROW(ops::cross_entropy(x, Tensor::from_ints({1, 0, 0}, {3})), Error);  // wrong count
  EXPECT_THROW(ops::cross_entropy(x, Tensor::from_vector({1, 0, 0, 1, 1}, {5})), Error);  // not int32
}

TEST(OpsGpu, CountCorrectMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  const Device gpu = Device::cuda(0);
  EXPECT_EQ(ops::count_correct(known_logits(DType::F32, gpu), Tensor::from_ints({1, 0, 0, 1, 1}, {5}, gpu)).item(),
            3.0);
  // Random rows, many with ties (values rounded to a coarse grid), several row lengths.
  std::mt19937 rng(std::random_device{}());
  for (int K : {3, 10, 33, 100}) {
    const int N = 300;
    std::vector<double> v(static_cast<size_t>(N * K));
    for (double& e : v) e = std::round(std::normal_distribution<double>(0, 2)(rng));
    std::vector<int32_t> l(N);
    for (int32_t& e : l) e = static_cast<int32_t>(rng() % K);
    const Tensor x = Tensor::from_vector(v, {N, K});
    const Tensor labels = Tensor::from_ints(l, {N});
    const Tensor out = ops::count_correct(x.to(gpu), labels.to(gpu));
    ASSERT_TRUE(out.is_cuda());
    EXPECT_EQ(out.item(), ops::count_correct(x, labels).item()) << "K = " << K;
  }
}

// On the GPU an out-of-range label cannot throw (that would need a sync): its row adds 0 to the
// loss sum and gets a zero gradient, and it never counts as correct.
TEST(OpsGpu, OutOfRangeLabelsContributeNothing) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  const Device gpu = Device::cuda(0);
  Generator gen(3, RngStream::Test);
  const Tensor x = Tensor::from_vector(gen.normal(4 * 5), {4, 5});
  const Tensor bad = Tensor::from_ints({2, 7, 0, -1}, {4}, gpu);
  const Tensor xg = x.to(gpu).set_requires_grad(true);
  const Tensor loss = ops::cross_entropy(xg, bad, 0.1);
  const Tensor g = grad(loss, {xg})[0];
  // The valid rows 0 and 2 alone, rescaled from a mean over 2 rows to a mean over 4.
  const std::vector<double> xv = x.to_doubles();
  std::vector<double> valid(xv.begin(), xv.begin() + 5);
  valid.insert(valid.end(), xv.begin() + 10, xv.begin() + 15);
  const double ref =
      ops::cross_entropy(Tensor::from_vector(valid, {2, 5}), Tensor::from_ints({2, 0}, {2}), 0.1).item() * 0.5;
  // The GPU's loss comes through warp sums, CUDA's expf/logf (2 ulps; the emulator's host libm
  // matches the CPU: 0 measured there) and a block tree over the rows; the CPU adds in order.
  // 1e-5 is ~40 ulps of a loss near 0.7: room for those, far below a wrong row's effect (~0.3).
  EXPECT_NEAR(loss.item(), ref, 1e-5);
  const std::vector<double> gv = g.to_doubles();
  for (int k = 0; k < 5; ++k) {
    EXPECT_EQ(gv[5 + k], 0.0);
    EXPECT_EQ(gv[15 + k], 0.0);
  }
  EXPECT_EQ(ops::count_correct(x.to(gpu), bad).item() <= 2.0, true);
}

}  // namespace
}  // namespace bnas::testing

// Many rows (many blocks of warps, a multi-pass batch mean), long rows, and reproducibility.
namespace bnas::testing {
namespace {

TEST(OpsGpu, SoftmaxAndCrossEntropyOnManyRows) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  const Device gpu = Device::cuda(0);
  // Within 1e-5: the rows are warp-tree sums (the CPU adds in order), CUDA's expf/logf are off
  // by up to 2 ulps, nvcc contracts the gradients into FMAs, and the batch mean is a block tree.
  // Measured on the emulated device: up to 3e-6 (softmax and its gradient at K = 1000, whose
  // sum of 1000 exponentials rounds in another order); 1e-5 leaves room for CUDA's expf.
  // The arg-max count is exact: a selection over the same floats, ties to the first on both.
  for (int K : {10, 100, 1000}) {
    const int N = 2000;
    Generator gen(static_cast<uint64_t>(K), RngStream::Test);
    const Tensor x = Tensor::from_vector(gen.normal(static_cast<uint64_t>(N * K), 0, 3), {N, K});
    std::vector<int32_t> l(N);
    for (int32_t& e : l) e = static_cast<int32_t>(gen.below(static_cast<uint32_t>(K)));
    const Tensor labels = Tensor::from_ints(l, {N});
    Tensor xc = x.clone().set_requires_grad(true);
    Tensor xg = x.to(gpu).set_requires_grad(true);
    const Tensor lg = labels.to(gpu);
    const Tensor loss_c = ops::cross_entropy(xc, labels, 0.1), loss_g = ops::cross_entropy(xg, lg, 0.1);
    EXPECT_LE(relative_error(loss_g.to_doubles(), loss_c.to_doubles()), 1e-5) << "K = " << K;
    const std::vector<double> gc = grad(loss_c, {xc})[0].to_doubles();
    const std::vector<double> gg = grad(loss_g, {xg})[0].to_doubles();
    EXPECT_LE(relative_error(gg, gc), 1e-5) << "K = " << K;
    EXPECT_EQ(ops::cross_entropy(xg, lg, 0.1).to_doubles(), loss_g.to_doubles()) << "loss not reproducible";
    for (bool log : {false, true}) {
      const Tensor yc = log ? ops::log_softmax(xc) : ops::softmax(xc);
      const Tensor yg = log ? ops::log_softmax(xg) : ops::softmax(xg);
      EXPECT_LE(relative_error(yg.to_doubles(), yc.to_doubles()), 1e-5) << "K = " << K << " log " << log;
      const Tensor r = Tensor::from_vector(gen.normal(static_cast<uint64_t>(N * K)), {N, K});
      EXPECT_LE(relative_error(grad(yg, {xg}, r.to(gpu))[0].to_doubles(), grad(yc, {xc}, r)[0].to_doubles()), 1e-5)
          << "K = " << K << " log " << log;
    }
    EXPECT_EQ(ops::count_correct(xg, lg).item(), ops::count_correct(x, labels).item()) << "K = " << K;
  }
}

}  // namespace
}  // namespace bnas::testing
