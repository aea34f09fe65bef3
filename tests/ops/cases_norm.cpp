// Op cases: batch_norm (train / eval, affine or not, with or without running statistics, 4-D and
// 2-D) and the running-statistics update itself (bn_running_*: the output is the updated
// statistic plus the weight, so the case stays differentiable while checking the in-place update).
#include "tests/ops/harness.h"

namespace bnas::testing {
namespace {
using V = std::vector<Tensor>;
const Shape X{4, 3, 3, 3}, X2{8, 5};
const Shape C3{3}, C5{5};
ops::BatchNormArgs train(double momentum = 0.1) { return {true, momentum, 1e-5}; }
ops::BatchNormArgs eval() { return {false, 0.1, 1e-5}; }

// The statistics are double sums (block trees from the channel's first element on the GPU, in
// order from the exact mean on the CPU), rounded once to float: mean and invstd agree but for a
// rare 1-ulp straddle. Then nvcc contracts (x - mean) * a + b and the backward's
// a * (gy - k1 - (x - mean) * k3) into FMAs: a few ulps of the largest value. Measured up to
// 1.4e-7 (output and gradients, emulated device, 150 runs on fresh inputs); bound 1e-6.
BNAS_OP_CASES(gpu_parity_all(1e-6, 1e-6, "double statistics rounded once to float, then FMAs in the affine steps", {
    {"bn_train_affine", {normal(X), normal(C3), normal(C3), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], train()); }},
    {"bn_train_noaffine_running", {normal(X), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], train()); }},
    {"bn_train_noaffine_nostats", {normal(X)},
     [](const V& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), train()); }},
    {"bn_train_weight_only", {normal(X), normal(C3)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], Tensor(), Tensor(), Tensor(), train()); }},
    {"bn_eval_affine", {normal(X), normal(C3), normal(C3), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], eval()); }},
    {"bn_train_2d_affine", {normal(X2), normal(C5), normal(C5), constant(C5), positive(C5)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], train()); }},
    {"bn_eval_2d_affine", {normal(X2), normal(C5), normal(C5), constant(C5), positive(C5)},
     [](const V& in) { return ops::batch_norm(in[0], in[1], in[2], in[3], in[4], eval()); }},
}));
// Bitwise: eval without affine parameters is (x - mean) * invstd with mean the running mean and
// invstd = 1 / sqrt(running var + eps) in double rounded once (IEEE on both), so a subtraction and
// a multiplication per element, nothing to contract; backward is invstd * gy.
BNAS_OP_CASES(gpu_parity_all(0, 0, "a subtraction and a multiplication per element: exact", {
    {"bn_eval_noaffine", {normal(X), constant(C3), positive(C3)},
     [](const V& in) { return ops::batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], eval()); }},
}));
// The updated running statistics are double sums in another order (see above) rounded once to
// float: at most 1 ulp apart (6e-8 relative; 0 measured), bound 1e-6. Their gradient is the
// upstream gradient itself (the add's): exact.
BNAS_OP_CASES(gpu_parity_all(1e-6, 0, "double running statistics rounded once to float: at most 1 ulp", {
    // x is a constant here: the running statistics depend on it without a gradient.
    {"bn_running_mean", {constant(X), normal(C3), constant(C3), positive(C3)},
     [](const V& in) {
       ops::batch_norm(in[0], in[1], Tensor(), in[2], in[3], train());
       return ops::add(in[2], in[1]);
     }},
    {"bn_running_var", {constant(X), normal(C3), constant(C3), positive(C3)},
     [](const V& in) {
       ops::batch_norm(in[0], in[1], Tensor(), in[2], in[3], train(0.3));
       return ops::add(in[3], in[1]);
     }},
    {"bn_running_var_2d", {constant(X2), normal(C5), constant(C5), positive(C5)},
     [](const V& in) {
       ops::batch_norm(in[0], Tensor(), Tensor(), in[2], in[3], train());
       return ops::add(in[3], in[1]);
     }},
}));
}  // namespace
}  // namespace bnas::testing


// ---- plain tests: argument checks, views, gradient subsets, multi-chunk GPU reductions ------
#include <gtest/gtest.h>

#include "engine/device.h"

namespace bnas::testing {
namespace {

Tensor randn(const Shape& s, uint64_t seed, double mean = 0, double std = 1) {
  Generator gen(seed, RngStream::Test);
  return Tensor::from_vector(gen.normal(static_cast<uint64_t>(s.numel()), mean, std), s);
}

TEST(OpsUnit, BatchNormRejectsBadArguments) {
  const Tensor x = randn({4, 3, 2, 2}, 1), c3 = randn({3}, 2), c4 = randn({4}, 3);
  const ops::BatchNormArgs eval{false, 0.1, 1e-5};
  EXPECT_THROW(ops::batch_norm(randn({4, 3, 2}, 4), Tensor(), Tensor(), Tensor(), Tensor()), Error);
  EXPECT_THROW(ops::batch_norm(x, c4, Tensor(), Tensor(), Tensor()), Error);
  EXPECT_THROW(ops::batch_norm(x, Tensor(), Tensor(), c3, Tensor()), Error);
  EXPECT_THROW(ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), eval), Error);
  EXPECT_THROW(ops::batch_norm(randn({1, 3}, 5), Tensor(), Tensor(), Tensor(), Tensor()), Error);
  EXPECT_THROW(ops::batch_norm(x, c3.to(DType::F64), Tensor(), Tensor(), Tensor()), Error);
  EXPECT_NO_THROW(ops::batch_norm(randn({1, 3}, 5), Tensor(), Tensor(), c3.clone(), c3.clone(), eval));
}

// A channel-slice view gives the same results as its contiguous copy, and the running
// statistics of the view's channels are updated.
TEST(OpsUnit, BatchNormReadsChannelSliceViews) {
  const Tensor base = randn({3, 7, 4, 5}, 6, 2.0, 3.0);
  const Tensor view = base.channel_slice(2, 5);
  ASSERT_FALSE(view.is_contiguous());
  const Tensor w = randn({3}, 7), b = randn({3}, 8);
  Tensor rm1 = Tensor::zeros({3}), rv1 = Tensor::full({3}, 1.0), rm2 = rm1.clone(), rv2 = rv1.clone();
  const Tensor y1 = ops::batch_norm(view, w, b, rm1, rv1);
  const Tensor y2 = ops::batch_norm(view.contiguous(), w, b, rm2, rv2);
  EXPECT_EQ(y1.to_doubles(), y2.to_doubles());
  EXPECT_EQ(rm1.to_doubles(), rm2.to_doubles());
  EXPECT_EQ(rv1.to_doubles(), rv2.to_doubles());
  EXPECT_NEAR(rm1.to_doubles()[0], 0.2, 0.1);  // 0.1 * mean, mean ~ 2
}

// Asking for a subset of the gradients gives the same values as asking for all of them.
TEST(OpsUnit, BatchNormGradientSubsets) {
  for (bool training : {true, false}) {
    Tensor x = randn({4, 3, 3, 3}, 9), w = randn({3}, 10), b = randn({3}, 11);
    x.set_requires_grad(true);
    w.set_requires_grad(true);
    b.set_requires_grad(true);
    const Tensor rm = randn({3}, 12), rv = Tensor::full({3}, 0.7);
    const Tensor y = ops::batch_norm(x, w, b, rm, rv, {training, 0.0, 1e-5});
    const Tensor r = randn(y.shape(), 13);
    const std::vector<Tensor> all = grad(y, {x, w, b}, r);
    for (size_t k = 0; k < 3; ++k) {
      const std::vector<Tensor> one = grad(y, {std::vector<Tensor>{x, w, b}[k]}, r);
      EXPECT_EQ(one[0].to_doubles(), all[k].to_doubles()) << "training " << training << ", input " << k;
    }
  }
}

// Large channels on the GPU: several reduction chunks per channel (uneven last chunk), a mean
// far from zero, the 2-D form; CUDA against the CPU and bitwise repeatability on the GPU.
struct BnResult {
  std::vector<double> y, rm, rv, gx, gw, gb;
};
BnResult run_bn(const Shape& shape, double mean, bool training, Device d) {
  const int64_t C = shape[1];
  Tensor x = randn(shape, 21, mean, 0.5).to(d).clone(), w = randn({C}, 22).to(d).clone(),
         b = randn({C}, 23).to(d).clone();
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor rm = randn({C}, 24).to(d).clone(), rv = Tensor::full({C}, 1.5).to(d).clone();
  const Tensor y = ops::batch_norm(x, w, b, rm, rv, {training, 0.1, 1e-5});
  const std::vector<Tensor> g = grad(y, {x, w, b}, randn(y.shape(), 25).to(d));
  return {y.to_doubles(), rm.to_doubles(), rv.to_doubles(), g[0].to_doubles(), g[1].to_doubles(), g[2].to_doubles()};
}

TEST(OpsGpu, BatchNormLargeChannelsMatchCpuAndRepeat) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  const std::vector<Shape> shapes = {{64, 3, 17, 17}, {16, 4, 32, 32}, {20000, 3}, {2, 5, 3, 3}};
  for (const Shape& s : shapes)
    for (double mean : {0.0, 50.0})
      for (bool training : {true, false}) {
        const BnResult cpu = run_bn(s, mean, training, Device::cpu());
        const BnResult gpu = run_bn(s, mean, training, Device::cuda(0));
        const BnResult again = run_bn(s, mean, training, Device::cuda(0));
        const std::string what = s.str() + " mean " + std::to_string(mean) + (training ? " train" : " eval");
        // Double sums in another order rounded once to float (running statistics, weight and
        // bias gradients: 0 measured, at most 1 ulp) and FMAs in the affine steps (output and
        // input gradient: up to 1.0e-7 measured on the emulated device); 1e-6 is ~10x that.
        EXPECT_LE(relative_error(gpu.y, cpu.y), 1e-6) << what << ": output";
        EXPECT_LE(relative_error(gpu.rm, cpu.rm), 1e-6) << what << ": running mean";
        EXPECT_LE(relative_error(gpu.rv, cpu.rv), 1e-6) << what << ": running var";
        EXPECT_LE(relative_error(gpu.gx, cpu.gx), 1e-6) << what << ": grad x";
        EXPECT_LE(relative_error(gpu.gw, cpu.gw), 1e-6) << what << ": grad weight";
        EXPECT_LE(relative_error(gpu.gb, cpu.gb), 1e-6) << what << ": grad bias";
        EXPECT_TRUE(gpu.y == again.y && gpu.rm == again.rm && gpu.rv == again.rv && gpu.gx == again.gx &&
                    gpu.gw == again.gw && gpu.gb == again.gb)
            << what << ": two GPU runs differ";
      }
}

}  // namespace
}  // namespace bnas::testing
