// Golden tests of the optimizers, gradient clipping and the cosine schedule against PyTorch
// (fixtures from tests/reference/make_optim_fixtures.py): 3 steps of torch.optim.SGD / Adam
// (after clip_grad_norm_ where the case says so) on a few parameters with fixed gradients,
// compared after every step in float32 (1e-5 relative, the bound) and in float64
// (1e-12: the two sides then differ by rounding only).
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <tuple>

#include "engine/checkpoint.h"
#include "engine/optim.h"
#include "engine/schedule.h"
#include "optim_test_util.h"

namespace bnas {
namespace {
using testing::optim_fixture;
using testing::rel_error;

double meta_double(const SafetensorsFile& f, const std::string& key) { return std::stod(f.metadata.at(key)); }

class OptimGolden : public ::testing::TestWithParam<std::tuple<std::string, DType>> {};

TEST_P(OptimGolden, MatchesTorch) {
  const auto& [name, dt] = GetParam();
  const SafetensorsFile f = load_safetensors(optim_fixture(name));
  const std::string pre = dt == DType::F32 ? "f32." : "f64.";
  const double tol = dt == DType::F32 ? 1e-5 : 1e-12;
  const int nparams = std::stoi(f.metadata.at("params")), steps = std::stoi(f.metadata.at("steps"));
  const double max_norm = meta_double(f, "max_norm");

  std::vector<Tensor> params;
  for (int i = 0; i < nparams; ++i) params.push_back(f.tensors.at("param." + std::to_string(i)).to(dt).clone());
  std::unique_ptr<Optimizer> opt;
  if (f.metadata.at("opt") == "sgd") {
    SgdOptions o;
    o.lr = meta_double(f, "lr");
    o.momentum = meta_double(f, "momentum");
    o.weight_decay = meta_double(f, "weight_decay");
    opt = std::make_unique<SGD>(params, o);
  } else {
    AdamOptions o;
    o.lr = meta_double(f, "lr");
    o.beta1 = meta_double(f, "beta1");
    o.beta2 = meta_double(f, "beta2");
    o.eps = meta_double(f, "eps");
    o.weight_decay = meta_double(f, "weight_decay");
    opt = std::make_unique<Adam>(params, o);
  }

  for (int s = 0; s < steps; ++s) {
    opt->zero_grad();
    for (int i = 0; i < nparams; ++i) {
      Tensor g = opt->grads()[i];
      g.copy_(f.tensors.at("grad." + std::to_string(s) + "." + std::to_string(i)));
    }
    if (max_norm > 0) {
      const Tensor norm = opt->clip_grad_norm(max_norm);
      EXPECT_LE(rel_error(norm, f.tensors.at(pre + "norm." + std::to_string(s))), tol) << "norm at step " << s;
    }
    opt->step();
    for (int i = 0; i < nparams; ++i) {
      const std::string key = pre + "param." + std::to_string(s) + "." + std::to_string(i);
      EXPECT_LE(rel_error(params[i], f.tensors.at(key)), tol) << key;
    }
  }
  for (const auto& [sname, t] : opt->state()) {
    const std::string key = pre + "state." + sname;
    ASSERT_TRUE(f.tensors.count(key)) << "the fixture has no " << key;
    if (t.dtype() == DType::I32)
      EXPECT_EQ(t.to_ints(), f.tensors.at(key).to_ints()) << key;
    else
      EXPECT_LE(rel_error(t, f.tensors.at(key)), tol) << key;
  }
}

INSTANTIATE_TEST_SUITE_P(Torch, OptimGolden,
                         ::testing::Combine(::testing::Values("sgd_momentum_wd_clip", "sgd_momentum_wd", "sgd_plain",
                                                              "adam_wd", "adam_arch", "adam_clip"),
                                            ::testing::Values(DType::F32, DType::F64)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + (std::get<1>(info.param) == DType::F32 ? "_f32" : "_f64");
                         });

TEST(ScheduleGolden, CosineAndWarmupMatchTorchOverFiftyEpochs) {
  const SafetensorsFile f = load_safetensors(optim_fixture("schedule"));
  const int cases = std::stoi(f.metadata.at("cases"));
  ASSERT_GT(cases, 0);
  for (int k = 0; k < cases; ++k) {
    const std::string spec = f.metadata.at("case." + std::to_string(k));
    CosineSchedule sched;
    char comma;
    std::istringstream in(spec);
    in >> sched.lr >> comma >> sched.lr_min >> comma >> sched.epochs >> comma >> sched.warmup;
    ASSERT_TRUE(in) << spec;
    const std::vector<double> want = f.tensors.at("lr." + std::to_string(k)).to_doubles();
    ASSERT_EQ(static_cast<int>(want.size()), sched.epochs);
    for (int e = 0; e < sched.epochs; ++e)
      EXPECT_NEAR(sched(e), want[e], 1e-12 * sched.lr) << "case " << spec << ", epoch " << e;
  }
}

}  // namespace
}  // namespace bnas
