// The fused mixed edge on the CPU against the unfused composition of engine ops (outputs, every
// input gradient, updated running statistics), in float64 and float32, over k in {1, 4},
// stride 1 / 2, fixed and random selection, train and eval; plus channel-slice inputs,
// needs_grad, no-grad mode and argument errors. The float64 gradient check against finite
// differences and the PyTorch golden tests are the harness cases of tests/ops/cases_mixed_edge.cpp.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>

#include "engine/check.h"
#include "tests/mixed_edge/mixed_edge_util.h"

namespace bnas::testing {
namespace {

double rel_err(const Tensor& a, const Tensor& b) {
  const std::vector<double> x = a.to_doubles(), y = b.to_doubles();
  EXPECT_EQ(x.size(), y.size());
  double num = 0, den = 1e-12;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
    num = std::max(num, std::abs(x[i] - y[i]));
    den = std::max(den, std::abs(y[i]));
  }
  return num / den;
}

struct Param {
  EdgeConfig cfg;
  DType dtype;
};

std::vector<Param> params() {
  std::vector<Param> out;
  for (DType dt : {DType::F64, DType::F32})
    for (int k : {1, 4})
      for (int s : {1, 2})
        for (bool random : {false, true})
          for (bool training : {true, false}) {
            if (k == 1 && random) continue;  // k = 1 selects every channel
            EdgeConfig c;
            c.k = k;
            c.stride = s;
            c.random = random;
            c.training = training;
            out.push_back({c, dt});
          }
  EdgeConfig odd;  // odd spatial size, full channels, stride 2, no edge weight
  odd.C = 6, odd.H = 7, odd.W = 5, odd.k = 1, odd.stride = 2, odd.edge_weight = false;
  out.push_back({odd, DType::F64});
  EdgeConfig k2;  // k = 2 with a random selection, rectangular planes
  k2.C = 10, k2.H = 6, k2.W = 10, k2.k = 2, k2.random = true;
  out.push_back({k2, DType::F64});
  return out;
}

class MixedEdgeVsUnfused : public ::testing::TestWithParam<Param> {};

TEST_P(MixedEdgeVsUnfused, OutputsGradientsAndRunningStats) {
  const Param& prm = GetParam();
  const EdgeConfig& c = prm.cfg;
  const EdgeProblem p = EdgeProblem::make(c, 1000 + c.k * 10 + c.stride);
  // float64 compositions agree to rounding; float32 to a few ulps of the largest value (the two
  // sum candidates and BN statistics in different orders).
  const double tol = prm.dtype == DType::F64 ? 1e-11 : 2e-6;
  EdgeTensors fused(p, prm.dtype, Device::cpu()), ref(p, prm.dtype, Device::cpu());
  const Tensor yf = fused_edge(fused, c, fused.x);
  const Tensor yr = unfused_edge(ref, c, p.sel);
  ASSERT_EQ(yf.shape(), yr.shape());
  EXPECT_LE(rel_err(yf, yr), tol) << "output";
  for (int q = 0; q < 4; ++q) EXPECT_LE(rel_err(fused.running[q], ref.running[q]), tol) << "running stat " << q;
  const std::vector<Tensor> gf = grad(yf, fused.leaves(), fused.gy);
  const std::vector<Tensor> gr = grad(yr, ref.leaves(), ref.gy);
  ASSERT_EQ(gf.size(), gr.size());
  for (size_t i = 0; i < gf.size(); ++i) EXPECT_LE(rel_err(gf[i], gr[i]), tol) << "gradient of leaf " << i;
}

INSTANTIATE_TEST_SUITE_P(Cpu, MixedEdgeVsUnfused, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<Param>& i) {
                           return i.param.cfg.name() + (i.param.dtype == DType::F64 ? "_f64" : "_f32");
                         });

TEST(MixedEdge, ChannelSliceInputIsReadInPlace) {
  EdgeConfig c;
  c.random = true;
  c.stride = 2;
  const EdgeProblem p = EdgeProblem::make(c, 7);
  EdgeTensors t(p, DType::F64, Device::cpu());
  // The edge input as channels [5, 5 + C) of a wider tensor.
  Generator g(3, RngStream::Test);
  Tensor wide = Tensor::from_vector(g.normal(static_cast<uint64_t>(c.N * (c.C + 9) * c.H * c.W)),
                                    {c.N, c.C + 9, c.H, c.W}, DType::F64);
  Tensor view = wide.channel_slice(5, 5 + c.C);
  view.copy_(t.x.detach());
  ASSERT_FALSE(view.is_contiguous());
  view.set_requires_grad(true);
  const Tensor yv = fused_edge(t, c, view);
  const std::vector<Tensor> gv = grad(yv, {view}, t.gy);
  EdgeTensors t2(p, DType::F64, Device::cpu());
  const Tensor yc = fused_edge(t2, c, t2.x);
  const std::vector<Tensor> gc = grad(yc, {t2.x}, t2.gy);
  EXPECT_EQ(yv.to_doubles(), yc.to_doubles());
  EXPECT_EQ(gv[0].to_doubles(), gc[0].to_doubles());
}

TEST(MixedEdge, OnlyRequestedGradientsAreComputed) {
  EdgeConfig c;
  c.random = true;
  const EdgeProblem p = EdgeProblem::make(c, 11);
  EdgeTensors all(p, DType::F64, Device::cpu());
  const std::vector<Tensor> g_all = grad(fused_edge(all, c, all.x), all.leaves(), all.gy);
  // Architecture step: only the weights and the edge weight.
  EdgeTensors arch(p, DType::F64, Device::cpu());
  const std::vector<Tensor> g_arch = grad(fused_edge(arch, c, arch.x), {arch.w, arch.e}, arch.gy);
  EXPECT_EQ(g_arch[0].to_doubles(), g_all[1].to_doubles());
  EXPECT_EQ(g_arch[1].to_doubles(), g_all[2].to_doubles());
  // Only x, with branches that do not require grad at all.
  EdgeTensors xonly(p, DType::F64, Device::cpu());
  for (Tensor& b : xonly.branches) b = b.detach();
  const std::vector<Tensor> g_x = grad(fused_edge(xonly, c, xonly.x), {xonly.x}, xonly.gy);
  EXPECT_EQ(g_x[0].to_doubles(), g_all[0].to_doubles());
  // The none candidate always gets a zero gradient.
  EXPECT_EQ(g_all[1].to_doubles()[0], 0.0);
}

TEST(MixedEdge, NoGradModeStillUpdatesRunningStats) {
  EdgeConfig c;
  const EdgeProblem p = EdgeProblem::make(c, 5);
  EdgeTensors a(p, DType::F64, Device::cpu()), b(p, DType::F64, Device::cpu());
  Tensor ya;
  {
    NoGradGuard ng;
    ya = fused_edge(a, c, a.x);
  }
  EXPECT_TRUE(ya.is_leaf());
  const Tensor yb = fused_edge(b, c, b.x);
  EXPECT_EQ(ya.to_doubles(), yb.to_doubles());
  for (int q = 0; q < 4; ++q) {
    EXPECT_EQ(a.running[q].to_doubles(), b.running[q].to_doubles());
    EXPECT_NE(a.running[q].to_doubles(), p.running[q]) << "running stat " << q << " was not updated";
  }
}

TEST(MixedEdge, CpuResultsDoNotDependOnThreadCount) {
  EdgeConfig c;
  c.N = 3, c.C = 16, c.H = c.W = 12, c.random = true, c.stride = 2;
  const EdgeProblem p = EdgeProblem::make(c, 13);
  std::vector<std::vector<double>> runs;
  const int saved = omp_get_max_threads();
  for (int threads : {1, 3}) {
    omp_set_num_threads(threads);
    EdgeTensors t(p, DType::F32, Device::cpu());
    const Tensor y = fused_edge(t, c, t.x);
    std::vector<double> all = y.to_doubles();
    for (const Tensor& g : grad(y, t.leaves(), t.gy)) {
      const std::vector<double> v = g.to_doubles();
      all.insert(all.end(), v.begin(), v.end());
    }
    for (const Tensor& r : t.running) {
      const std::vector<double> v = r.to_doubles();
      all.insert(all.end(), v.begin(), v.end());
    }
    runs.push_back(all);
  }
  omp_set_num_threads(saved);
  EXPECT_EQ(runs[0], runs[1]);
}

TEST(MixedEdge, BadArgumentsThrow) {
  EdgeConfig c;
  const EdgeProblem p = EdgeProblem::make(c, 9);
  EdgeTensors t(p, DType::F64, Device::cpu());
  auto call = [&](const Tensor& x, const Tensor& sel, const std::vector<Tensor>& br, const ops::MixedEdgeArgs& a,
                  bool with_running = true) {
    return ops::mixed_edge(x, sel, br, t.w, t.e, with_running ? t.running[0] : Tensor(),
                           with_running ? t.running[1] : Tensor(), with_running ? t.running[2] : Tensor(),
                           with_running ? t.running[3] : Tensor(), a);
  };
  ops::MixedEdgeArgs a = edge_args(c);
  EXPECT_THROW(call(t.x, Tensor(), {t.branches[0], t.branches[1], t.branches[2]}, a), Error);  // 3 branches
  ops::MixedEdgeArgs k3 = a;
  k3.k = 3;  // 16 channels do not split into 3 groups
  EXPECT_THROW(call(t.x, Tensor(), t.branches, k3), Error);
  ops::MixedEdgeArgs s3 = a;
  s3.stride = 3;
  EXPECT_THROW(call(t.x, Tensor(), t.branches, s3), Error);
  ops::MixedEdgeArgs eval = a;
  eval.training = false;
  EXPECT_THROW(call(t.x, Tensor(), t.branches, eval, false), Error);  // eval needs running stats
  EXPECT_NO_THROW(call(t.x, Tensor(), t.branches, a, false));          // training does not
  EXPECT_THROW(call(t.x, Tensor::from_ints({3, 1, 7, 9}, {4}), t.branches, a), Error);   // not increasing
  EXPECT_THROW(call(t.x, Tensor::from_ints({1, 3, 7, 16}, {4}), t.branches, a), Error);  // out of range
  EXPECT_THROW(call(t.x, Tensor::from_ints({1, 3, 7}, {3}), t.branches, a), Error);      // wrong count
  EdgeConfig odd = c;  // the 2x2 bypass pool needs an even size
  odd.H = 7;
  odd.stride = 2;
  const EdgeProblem po = EdgeProblem::make(odd, 9);
  EdgeTensors to(po, DType::F64, Device::cpu());
  EXPECT_THROW(fused_edge(to, odd, to.x), Error);
}

}  // namespace
}  // namespace bnas::testing
