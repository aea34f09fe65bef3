// The fused mixed edge against PyTorch (tests/reference/make_mixed_edge_fixtures.py) on inputs the
// op harness's random ones never hold: NaN in max-pool windows (PyTorch's max takes the last NaN in
// scan order, which decides where d x goes) and training batch statistics over one element (the
// running variance becomes NaN, as torch.batch_norm makes it). Float32 on the CPU and, where there
// is one (a GPU or the emulated device), on cuda:0: the output, every gradient and the running
// statistics, NaN exactly where PyTorch has NaN.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/device.h"
#include "engine/mixed_edge.h"

namespace bnas::testing {
namespace {

struct Param {
  std::string fixture;
  bool cuda;
};
void PrintTo(const Param& p, std::ostream* os) { *os << p.fixture << (p.cuda ? " on cuda:0" : " on the CPU"); }

// NaN exactly where PyTorch (ref) has NaN; elsewhere max |got - ref| <= 1e-5 max |ref| (float32
// against float64).
void expect_matches(const Tensor& got, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  const std::vector<double> a = got.to_doubles(), b = ref.to_doubles();
  double num = 0, den = 1e-12;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(std::isnan(a[i]), std::isnan(b[i])) << what << ": element " << i << " is " << a[i] << ", PyTorch's "
                                                  << b[i];
    if (std::isnan(b[i])) continue;
    num = std::max(num, std::abs(a[i] - b[i]));
    den = std::max(den, std::abs(b[i]));
  }
  EXPECT_LE(num / den, 1e-5) << what;
}

class MixedEdgeGolden : public ::testing::TestWithParam<Param> {};

TEST_P(MixedEdgeGolden, MatchesPyTorch) {
  const Param& prm = GetParam();
  if (prm.cuda && !cuda_available()) GTEST_SKIP() << "no GPU on this machine";
  const Device dev = prm.cuda ? Device::cuda(0) : Device::cpu();
  const std::string path =
      std::string(BNAS_SOURCE_DIR) + "/tests/reference/fixtures/mixed_edge/" + prm.fixture + ".safetensors";
  ASSERT_TRUE(std::ifstream(path).good()) << "missing fixture " << path
                                          << " (run tests/reference/make_mixed_edge_fixtures.py)";
  const SafetensorsFile f = load_safetensors(path);
  auto in = [&](const std::string& name, bool differentiable) {
    Tensor t = f.tensors.at(name).to(dev).clone();
    if (differentiable) t.set_requires_grad(true);
    return t;
  };
  ops::MixedEdgeArgs a;
  a.stride = std::stoi(f.metadata.at("stride"));
  a.k = std::stoi(f.metadata.at("k"));
  a.training = f.metadata.at("training") == "1";
  std::vector<Tensor> leaves{in("x", true), in("weights", true), in("edge_weight", true)};
  std::vector<std::string> names{"x", "weights", "edge_weight"};
  for (int i = 0; i < (a.stride == 1 ? 4 : 5); ++i) {
    names.push_back("branch." + std::to_string(i));
    leaves.push_back(in(names.back(), true));
  }
  Tensor running[4];
  for (int q = 0; q < 4; ++q) running[q] = in("running." + std::to_string(q), false);
  const std::vector<Tensor> branches(leaves.begin() + 3, leaves.end());
  const Tensor y = ops::mixed_edge(leaves[0], in("sel", false), branches, leaves[1], leaves[2], running[0],
                                   running[1], running[2], running[3], a);
  expect_matches(y, f.tensors.at("output"), "output");
  for (int q = 0; q < 4; ++q)
    expect_matches(running[q], f.tensors.at("running_after." + std::to_string(q)), "running statistic " + std::to_string(q));
  const std::vector<Tensor> g = grad(y, leaves, in("grad_out", false));
  for (size_t i = 0; i < leaves.size(); ++i) expect_matches(g[i], f.tensors.at("grad." + names[i]), "d " + names[i]);
}

std::vector<Param> params() {
  std::vector<Param> out;
  for (bool cuda : {false, true})
    for (const char* name :
         {"nan_s1_eval", "nan_s2_eval", "nan_s2_train", "one_element_s1_train", "one_element_s2_train"})
      out.push_back({name, cuda});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, MixedEdgeGolden, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<Param>& i) {
                           return i.param.fixture + (i.param.cuda ? "_cuda" : "_cpu");
                         });

}  // namespace
}  // namespace bnas::testing
