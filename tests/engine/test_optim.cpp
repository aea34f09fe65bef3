// Unit tests of the optimizers, gradient clipping, global norms and schedules on the CPU:
// multi-chunk groups against a plain per-element reference, clipping only above max_norm,
// learning rates read from the lr tensor, bit-exact resume through a checkpoint, DARTS's unrolled
// weight moves (WeightUnroll), and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "engine/optim.h"
#include "engine/schedule.h"
#include "engine/weight_unroll.h"
#include "optim_test_util.h"
#include "tests/error_of.h"

namespace bnas {
namespace {
using testing::error_of;
using testing::optim_temp_path;
using testing::random_tensor;
using testing::random_values;
using testing::rel_error;

// A group spanning several chunks: one parameter of 2.5 chunks and two small ones.
std::vector<Shape> group_shapes() {
  return {Shape{5, 8193}, Shape{7}, Shape{3, 4, 3, 3}};
}
std::vector<Tensor> make_params(DType dt, uint64_t seed) {
  std::vector<Tensor> ps;
  for (const Shape& s : group_shapes()) ps.push_back(random_tensor(s, seed++, dt));
  return ps;
}
void set_grads(Optimizer& opt, uint64_t seed) {
  for (const Tensor& g : opt.grads()) {
    Tensor gg = g;
    gg.copy_(random_tensor(g.shape(), seed++, g.dtype()));
  }
}
bool bit_equal(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

SgdOptions momentum_and_decay() {
  SgdOptions o;
  o.lr = 0.05;
  o.momentum = 0.9;
  o.weight_decay = 1e-2;
  return o;
}

TEST(Optim, SgdOverManyChunksMatchesAPlainLoop) {
  std::vector<Tensor> params = make_params(DType::F64, 1);
  const SgdOptions o = momentum_and_decay();
  SGD opt(params, o);
  std::vector<std::vector<double>> p, buf(params.size());
  for (const Tensor& t : params) p.push_back(t.to_doubles());
  for (int s = 0; s < 3; ++s) {
    set_grads(opt, 100 + 10 * s);
    for (size_t i = 0; i < params.size(); ++i) {
      const std::vector<double> g = opt.grads()[i].to_doubles();
      buf[i].resize(g.size());
      for (size_t k = 0; k < g.size(); ++k) {
        const double d = g[k] + o.weight_decay * p[i][k];
        buf[i][k] = s == 0 ? d : o.momentum * buf[i][k] + d;
        p[i][k] -= o.lr * buf[i][k];
      }
    }
    opt.step();
    for (size_t i = 0; i < params.size(); ++i) EXPECT_LE(rel_error(params[i].to_doubles(), p[i]), 1e-14) << i;
  }
  EXPECT_EQ(opt.step_count().to_ints(), std::vector<int32_t>{3});
  const NamedTensors st = opt.state();
  ASSERT_EQ(st.size(), 1 + params.size());
  EXPECT_EQ(st[1].first, "momentum.0");
  EXPECT_LE(rel_error(st[1].second.to_doubles(), buf[0]), 1e-14);
}

// DARTS's unrolled weight moves over a multi-chunk group with momentum and weight decay, each
// against a plain per-element loop, and the buffers saved and restored around them.
TEST(WeightUnroll, MovesMatchAPlainLoopAndRestoreExactly) {
  std::vector<Tensor> params = make_params(DType::F64, 1);
  const SgdOptions o = momentum_and_decay();
  SGD opt(params, o);
  set_grads(opt, 100);
  opt.step();  // fills the momentum buffers
  set_grads(opt, 200);
  Tensor buffer = random_tensor(Shape{4, 3}, 300, DType::F64);
  WeightUnroll unroll(opt, {buffer});
  std::vector<std::vector<double>> w, g, m;
  for (size_t i = 0; i < params.size(); ++i) {
    w.push_back(params[i].to_doubles());
    g.push_back(opt.grads()[i].to_doubles());
    m.push_back(opt.momentum_buffers()[i].to_doubles());
  }
  const std::vector<double> b0 = buffer.to_doubles();

  unroll.virtual_step();
  unroll.save_buffers();
  for (size_t i = 0; i < params.size(); ++i) {
    std::vector<double> want(w[i].size());
    for (size_t k = 0; k < want.size(); ++k)
      want[k] = w[i][k] - o.lr * (o.momentum * m[i][k] + (g[i][k] + o.weight_decay * w[i][k]));
    EXPECT_LE(rel_error(params[i].to_doubles(), want), 1e-15) << "virtual step, weight " << i;
  }
  buffer.fill_(7.0);  // a forward at the virtual weights changes the buffers

  set_grads(opt, 400);  // v
  const Tensor norm = Tensor::full(Shape{1}, 2.5, DType::F64);
  unroll.perturb(norm, -0.01);
  for (size_t i = 0; i < params.size(); ++i) {
    const std::vector<double> v = opt.grads()[i].to_doubles();
    std::vector<double> want(w[i].size());
    for (size_t k = 0; k < want.size(); ++k) want[k] = w[i][k] + (-0.01 / 2.5) * v[k];
    EXPECT_LE(rel_error(params[i].to_doubles(), want), 1e-15) << "perturbation, weight " << i;
  }
  unroll.perturb(Tensor::zeros(Shape{1}, DType::F64), 1.0);  // v == 0: w itself, no inf or nan
  for (size_t i = 0; i < params.size(); ++i) EXPECT_EQ(params[i].to_doubles(), w[i]) << "zero norm, weight " << i;

  unroll.restore();
  unroll.restore_buffers();
  for (size_t i = 0; i < params.size(); ++i) EXPECT_EQ(params[i].to_doubles(), w[i]) << "restored weight " << i;
  EXPECT_EQ(buffer.to_doubles(), b0);
}

TEST(Optim, AdamOverManyChunksMatchesAPlainLoop) {
  std::vector<Tensor> params = make_params(DType::F64, 7);
  AdamOptions o;
  o.lr = 1e-2;
  o.beta1 = 0.8;
  o.beta2 = 0.99;
  o.eps = 1e-6;
  o.weight_decay = 1e-3;
  Adam opt(params, o);
  std::vector<std::vector<double>> p, m(params.size()), v(params.size());
  for (const Tensor& t : params) p.push_back(t.to_doubles());
  for (int s = 1; s <= 3; ++s) {
    set_grads(opt, 200 + 10 * s);
    for (size_t i = 0; i < params.size(); ++i) {
      const std::vector<double> g0 = opt.grads()[i].to_doubles();
      m[i].resize(g0.size());
      v[i].resize(g0.size());
      for (size_t k = 0; k < g0.size(); ++k) {
        const double g = g0[k] + o.weight_decay * p[i][k];
        m[i][k] = o.beta1 * m[i][k] + (1 - o.beta1) * g;
        v[i][k] = o.beta2 * v[i][k] + (1 - o.beta2) * g * g;
        const double bc1 = 1 - std::pow(o.beta1, s), bc2 = 1 - std::pow(o.beta2, s);
        p[i][k] -= o.lr / bc1 * m[i][k] / (std::sqrt(v[i][k]) / std::sqrt(bc2) + o.eps);
      }
    }
    opt.step();
    for (size_t i = 0; i < params.size(); ++i) EXPECT_LE(rel_error(params[i].to_doubles(), p[i]), 1e-13) << i;
  }
  EXPECT_EQ(opt.step_count().to_ints(), std::vector<int32_t>{3});
  EXPECT_EQ(opt.state().size(), 1 + 2 * params.size());
}

TEST(Optim, PlainSgdKeepsNoBufferAndReadsTheLearningRateFromItsTensor) {
  Tensor p = Tensor::from_vector({1.0, -2.0}, {2});
  SgdOptions o;
  o.lr = 0.5;
  SGD opt({p}, o);
  EXPECT_EQ(opt.state().size(), 1u);  // "step" only
  Tensor g = opt.grads()[0];
  g.copy_(Tensor::from_vector({1.0, 1.0}, {2}));
  opt.step();
  EXPECT_EQ(p.to_doubles(), (std::vector<double>{0.5, -2.5}));
  opt.set_lr(0.25);
  EXPECT_EQ(opt.lr(), 0.25);
  EXPECT_EQ(opt.lr_tensor().to_doubles(), std::vector<double>{0.25});
  opt.step();
  EXPECT_EQ(p.to_doubles(), (std::vector<double>{0.25, -2.75}));
  // A rate written straight into the lr tensor (e.g. by a device-side schedule) is used too.
  Tensor lr = opt.lr_tensor();
  lr.fill_(1.0);
  opt.step();
  EXPECT_EQ(p.to_doubles(), (std::vector<double>{-0.75, -3.75}));
}

TEST(Optim, GradientsAreAllocatedOnceAndBackwardAccumulatesIntoThem) {
  Tensor p = Tensor::from_vector({2.0}, {1});
  p.set_requires_grad(true);
  EXPECT_FALSE(p.grad().defined());
  SgdOptions o;
  o.lr = 0.1;
  SGD opt({p}, o);
  ASSERT_TRUE(p.grad().defined());
  const void* where = p.grad().raw();
  EXPECT_EQ(p.grad().to_doubles(), std::vector<double>{0.0});
  backward(ops::scale(p, 3.0), {p});
  EXPECT_EQ(p.grad().raw(), where);
  EXPECT_EQ(p.grad().to_doubles(), std::vector<double>{3.0});
  opt.step();
  EXPECT_NEAR(p.to_doubles()[0], 2.0 - 0.1 * 3.0, 1e-7);
  opt.zero_grad();
  EXPECT_EQ(p.grad().raw(), where);
  EXPECT_EQ(p.grad().to_doubles(), std::vector<double>{0.0});
}

TEST(Optim, RefusesToStepAfterAGradientBufferWasReplaced) {
  Tensor p = Tensor::from_vector({1.0}, {1});
  SGD opt({p}, SgdOptions{});
  p.set_grad(Tensor::from_vector({1.0}, {1}));
  EXPECT_NE(error_of([&] { opt.step(); }).find("was replaced"), std::string::npos);
  EXPECT_EQ(p.to_doubles(), std::vector<double>{1.0});
}

TEST(Optim, ZeroGradClearsEveryChunk) {
  std::vector<Tensor> params = make_params(DType::F32, 3);
  SGD opt(params, SgdOptions{});
  set_grads(opt, 50);
  opt.zero_grad();
  for (const Tensor& g : opt.grads())
    for (double x : g.to_doubles()) ASSERT_EQ(x, 0.0);
}

TEST(GlobalNorm, IsTheL2NormOfAllTensorsTogether) {
  for (DType dt : {DType::F32, DType::F64}) {
    std::vector<Tensor> ts = make_params(dt, 11);
    ts.push_back(Tensor::zeros({0}, dt));  // empty tensors are allowed
    double s = 0;
    for (const Tensor& t : ts)
      for (double x : t.to_doubles()) s += x * x;
    const Tensor n = global_norm(ts);
    EXPECT_EQ(n.shape(), Shape{1});
    EXPECT_EQ(n.dtype(), dt);
    EXPECT_NEAR(n.item(), std::sqrt(s), (dt == DType::F32 ? 1e-6 : 1e-14) * std::sqrt(s));
  }
  // Strided views are read through a contiguous copy.
  Tensor x = random_tensor({2, 6, 3, 3}, 5);
  const Tensor v = x.channel_slice(1, 4);
  double s = 0;
  for (double a : v.contiguous().to_doubles()) s += a * a;
  EXPECT_NEAR(global_norm({v}).item(), std::sqrt(s), 1e-6 * std::sqrt(s));
}

TEST(GlobalNorm, IsDeterministic) {
  std::vector<Tensor> ts = make_params(DType::F32, 13);
  const double a = global_norm(ts).item();
  for (int r = 0; r < 5; ++r) EXPECT_EQ(global_norm(ts).item(), a);
}

TEST(ClipGradNorm, ScalesOnlyWhenTheNormExceedsMaxNorm) {
  for (DType dt : {DType::F32, DType::F64}) {
    std::vector<Tensor> params = make_params(dt, 21);
    SGD opt(params, SgdOptions{});
    set_grads(opt, 31);
    std::vector<Tensor> before;
    for (const Tensor& g : opt.grads()) before.push_back(g.clone());
    const double norm = global_norm(opt.grads()).item();

    // Above: scaled by max_norm / (norm + 1e-6), so the new norm is just under max_norm.
    const double max_norm = norm / 4;
    const Tensor returned = clip_grad_norm(params, max_norm);
    EXPECT_EQ(returned.item(), norm);  // the norm before clipping
    const double coef = max_norm / (norm + 1e-6);
    const double tol = dt == DType::F32 ? 1e-6 : 1e-14;
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<double> want = before[i].to_doubles();
      for (double& w : want) w *= coef;
      EXPECT_LE(rel_error(params[i].grad().to_doubles(), want), tol);
    }
    EXPECT_NEAR(global_norm(opt.grads()).item(), max_norm, 2 * tol * max_norm + 1e-6);

    // Below (and equal up to the 1e-6): untouched, bit for bit.
    std::vector<Tensor> now;
    for (const Tensor& g : opt.grads()) now.push_back(g.clone());
    opt.clip_grad_norm(2 * max_norm);
    for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(bit_equal(params[i].grad(), now[i]));
  }
}

TEST(ClipGradNorm, TheOptimizersTableGivesTheSameResultsAsTheFreeFunction) {
  for (DType dt : {DType::F32, DType::F64}) {
    std::vector<Tensor> pa = make_params(dt, 61), pb = make_params(dt, 61);
    SGD a(pa, SgdOptions{}), b(pb, SgdOptions{});
    set_grads(a, 71);
    set_grads(b, 71);
    const Tensor n = a.grad_norm();
    EXPECT_EQ(n.item(), global_norm(a.grads()).item());
    for (double max_norm : {1e9, 3.0}) {
      const double na = a.clip_grad_norm(max_norm).item(), nb = clip_grad_norm(pb, max_norm).item();
      EXPECT_EQ(na, nb);
      for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(bit_equal(a.grads()[i], b.grads()[i])) << i;
    }
    EXPECT_NEAR(a.grad_norm().item(), 3.0, 3e-6);  // 3 (norm / (norm + 1e-6)), to rounding
    EXPECT_NE(error_of([&] { a.clip_grad_norm(-1); }).find("positive max_norm"), std::string::npos);
  }
}

TEST(ClipGradNorm, SkipsParametersWithoutGradients) {
  Tensor a = Tensor::from_vector({3.0, 4.0}, {2}), b = Tensor::from_vector({1.0}, {1});
  a.set_grad(Tensor::from_vector({3.0, 4.0}, {2}));
  EXPECT_NEAR(clip_grad_norm({a, b}, 1.0).item(), 5.0, 1e-6);
  EXPECT_NEAR(a.grad().to_doubles()[0], 3.0 / (5.0 + 1e-6), 1e-7);
  EXPECT_FALSE(b.grad().defined());
  EXPECT_EQ(clip_grad_norm({b}, 1.0).item(), 0.0);
  EXPECT_EQ(clip_grad_norm({}, 1.0).item(), 0.0);
  EXPECT_NE(error_of([&] { clip_grad_norm({a}, 0.0); }).find("max_norm must be positive"), std::string::npos);
}

template <class Opt, class Options> void check_resume_is_bit_exact(const Options& o, DType dt) {
  const std::string path = optim_temp_path("resume.safetensors");
  // Run A: 2 steps, checkpoint (parameters + optimizer state), then a third step.
  std::vector<Tensor> pa = make_params(dt, 41);
  Opt a(pa, o);
  for (int s = 0; s < 2; ++s) {
    set_grads(a, 300 + 10 * s);
    a.step();
  }
  NamedTensors ckpt = a.state();
  for (size_t i = 0; i < pa.size(); ++i) ckpt.emplace_back("param." + std::to_string(i), pa[i]);
  save_safetensors(path, ckpt);
  set_grads(a, 320);
  a.step();

  // Run B: fresh parameters and optimizer, restored from the checkpoint, then the same step.
  std::vector<Tensor> pb = make_params(dt, 99);
  Opt b(pb, o);
  NamedTensors dest = b.state();
  for (size_t i = 0; i < pb.size(); ++i) dest.emplace_back("param." + std::to_string(i), pb[i]);
  load_into(path, dest);
  EXPECT_EQ(b.step_count().to_ints(), std::vector<int32_t>{2});
  set_grads(b, 320);
  b.step();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(bit_equal(pa[i], pb[i])) << "parameter " << i;
  const NamedTensors sa = a.state(), sb = b.state();
  ASSERT_EQ(sa.size(), sb.size());
  for (size_t k = 0; k < sa.size(); ++k) EXPECT_TRUE(bit_equal(sa[k].second, sb[k].second)) << sa[k].first;
}

TEST(OptimState, SgdResumesBitExactly) {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.weight_decay = 1e-3;
  check_resume_is_bit_exact<SGD>(o, DType::F32);
  check_resume_is_bit_exact<SGD>(o, DType::F64);
}

TEST(OptimState, AdamResumesBitExactly) {
  AdamOptions o;
  o.lr = 3e-4;
  o.beta1 = 0.5;
  o.weight_decay = 1e-3;
  check_resume_is_bit_exact<Adam>(o, DType::F32);
  check_resume_is_bit_exact<Adam>(o, DType::F64);
}

TEST(OptimState, NamesAreStable) {
  std::vector<Tensor> ps = make_params(DType::F32, 1);
  SgdOptions so;
  so.momentum = 0.9;
  const NamedTensors s = SGD(ps, so).state();
  EXPECT_EQ(s[0].first, "step");
  EXPECT_EQ(s[0].second.dtype(), DType::I32);
  EXPECT_EQ(s[3].first, "momentum.2");
  std::vector<Tensor> qs = make_params(DType::F32, 1);
  const NamedTensors a = Adam(qs, AdamOptions{}).state();
  EXPECT_EQ(a[1].first, "exp_avg.0");
  EXPECT_EQ(a[4].first, "exp_avg_sq.0");
  EXPECT_EQ(a[6].first, "exp_avg_sq.2");
}

TEST(Optim, RejectsBadGroupsWithClearErrors) {
  Tensor a = Tensor::zeros({2}), b = Tensor::zeros({2}, DType::F64);
  EXPECT_NE(error_of([&] { SGD({}, SgdOptions{}); }).find("empty"), std::string::npos);
  EXPECT_NE(error_of([&] { SGD({a, b}, SgdOptions{}); }).find("shares one device and dtype"), std::string::npos);
  EXPECT_NE(error_of([&] { SGD({a, a}, SgdOptions{}); }).find("updated twice"), std::string::npos);
  EXPECT_NE(error_of([&] { SGD({Tensor::zeros({2}, DType::I32)}, SgdOptions{}); }).find("float32 or float64"),
            std::string::npos);
  Tensor w = Tensor::zeros({2});
  w.set_requires_grad(true);
  const Tensor y = ops::scale(w, 2.0);
  EXPECT_NE(error_of([&] { SGD({y}, SgdOptions{}); }).find("not a leaf"), std::string::npos);
  Tensor x = Tensor::zeros({2, 4, 1, 1});
  EXPECT_NE(error_of([&] { SGD({x.channel_slice(1, 3)}, SgdOptions{}); }).find("contiguous"), std::string::npos);
  SgdOptions neg;
  neg.lr = -1;
  EXPECT_NE(error_of([&] { SGD({Tensor::zeros({1})}, neg); }).find("must not be negative"), std::string::npos);
  AdamOptions bad;
  bad.beta2 = 1.0;
  EXPECT_NE(error_of([&] { Adam({Tensor::zeros({1})}, bad); }).find("betas"), std::string::npos);
  Tensor c = Tensor::zeros({3});
  c.set_grad(Tensor::zeros({3}, DType::F64));
  EXPECT_NE(error_of([&] { SGD({c}, SgdOptions{}); }).find("gradient of parameter 0"), std::string::npos);
}

TEST(Schedule, CosineEndpointsAndWarmupRule) {
  CosineSchedule s;
  s.lr = 0.1;
  s.lr_min = 0.001;
  s.epochs = 10;
  EXPECT_DOUBLE_EQ(s(0), 0.1);
  EXPECT_DOUBLE_EQ(s(5), 0.001 + 0.099 * 0.5);
  EXPECT_NEAR(s(10), 0.001, 1e-15);
  for (int e = 1; e < 10; ++e) EXPECT_LT(s(e), s(e - 1));
  s.warmup = 4;
  EXPECT_DOUBLE_EQ(s(0), 0.025);
  EXPECT_DOUBLE_EQ(s(1), 0.05);
  EXPECT_DOUBLE_EQ(s(3), 0.1);
  EXPECT_DOUBLE_EQ(s(4), cosine_lr(0.1, 0.001, 10, 4));  // the cosine curve, not shifted
  EXPECT_NE(error_of([] { cosine_lr(0.1, 0, 0, 0); }).find("positive number of epochs"), std::string::npos);
  EXPECT_NE(error_of([] { cosine_lr(0.1, 0, 10, -1); }).find("count from 0"), std::string::npos);
}

}  // namespace
}  // namespace bnas
