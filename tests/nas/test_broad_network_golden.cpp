// Golden test of the whole BNAS-v2 search network (nas/broad_network.h): forward logits, loss,
// the gradients of every weight, alpha and beta, and the updated BN running statistics of the PC
// supernet (K = 4, edge normalisation) and the full-channel supernet (K = 1), against the PyTorch
// model of tests/reference/bnas_torch.py (fixtures: tests/reference/make_network_fixtures.py).
// Also the evaluation network of BNASv2_PC_cifar_v1 (C = 2, layers 6, en_layers 2, training mode,
// no drop-path). Both sides compute in float64 from the same (float32-representable) weights and
// input.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "nas/broad_network.h"
#include "nas/eval_network.h"
#include "nas/published_genotypes.h"

namespace bnas::nas {
namespace {

const std::string kFixtures = std::string(BNAS_SOURCE_DIR) + "/tests/reference/fixtures/nas/";

// |a - b| <= 1e-6 |b| + 1e-9 max|b| element-wise: both sides compute in float64, the fixture
// stores float32 (6e-8 relative rounding).
void expect_close(const std::string& what, const Tensor& got, const Tensor& want) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<double> a = got.to_doubles(), b = want.to_doubles();
  double scale = 0;
  for (double v : b) scale = std::max(scale, std::abs(v));
  size_t bad = 0;
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double err = std::abs(a[i] - b[i]), tol = 1e-6 * std::abs(b[i]) + 1e-9 * scale;
    if (!(err <= tol)) ++bad;
    worst = std::max(worst, err / (std::abs(b[i]) + 1e-9 * scale + 1e-300));
  }
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << a.size() << " elements differ (worst relative error "
                     << worst << ")";
}

// Loads the fixture's weights into `f32` with the strict load_into (every name present, none
// extra, same shapes) and into the float64 network `net`, runs one training forward and
// backward and compares everything the fixture holds.
template <class Net>
void golden(const std::string& name, Net& f32, Net& net, NamedTensors arch) {
  const std::string state = kFixtures + name + "_state.safetensors";
  load_into(state, f32.named_parameters());
  {
    const SafetensorsFile w = load_safetensors(state);
    ASSERT_EQ(w.tensors.size(), net.named_parameters().size());
    for (auto& [n, t] : net.named_parameters()) t.copy_(w.tensors.at(n));
  }
  const SafetensorsFile f = load_safetensors(kFixtures + name + "_golden.safetensors");
  auto ref = [&](const std::string& k) {
    auto it = f.tensors.find(k);
    if (it == f.tensors.end()) BNAS_FAIL("the fixture has no tensor ", k);
    return it->second;
  };
  for (auto& [n, t] : arch) t.copy_(ref(n));
  const Tensor x = ref("input").to(DType::F64);
  const Tensor logits = net.forward(x, true);
  const Tensor loss = ops::cross_entropy(logits, ref("labels"));
  expect_close("logits", logits, ref("logits"));
  expect_close("loss", ops::reshape(loss, {1}), ref("loss"));

  const NamedTensors params = net.named_parameters();
  std::vector<Tensor> leaves;
  for (const auto& [n, t] : params) leaves.push_back(t);
  for (const auto& [n, t] : arch) leaves.push_back(t);
  const std::vector<Tensor> g = grad(loss, leaves);
  size_t checked = 0;
  for (size_t i = 0; i < params.size(); ++i, ++checked)
    expect_close("grad." + params[i].first, g[i], ref("grad." + params[i].first));
  for (size_t i = 0; i < arch.size(); ++i, ++checked)
    expect_close("grad." + arch[i].first, g[params.size() + i], ref("grad." + arch[i].first));
  for (const auto& [n, t] : net.named_buffers()) {
    expect_close("running." + n, t, ref("running." + n));
    ++checked;
  }
  // Every tensor of the fixture was compared (the names agree both ways).
  EXPECT_EQ(checked + 4 + arch.size(), f.tensors.size());
}

void supernet_golden(const std::string& name, SupernetConfig cfg) {
  cfg.C = 4;
  BroadSupernet f32(cfg);
  cfg.dtype = DType::F64;
  BroadSupernet net(cfg);
  golden(name, f32, net, net.arch_parameters());
}

TEST(BroadSupernetGolden, PartialChannelSupernetMatchesPyTorch) { supernet_golden("pc", SupernetConfig::pc_cifar()); }

TEST(BroadSupernetGolden, FullChannelSupernetMatchesPyTorch) { supernet_golden("full", SupernetConfig::full_cifar()); }

TEST(EvalNetworkGolden, BnasV2PcCifarV1MatchesPyTorch) {
  EvalNetworkConfig c;
  c.C = 2;
  const Genotype& g = published_genotype("BNASv2_PC_cifar_v1");
  EvalNetwork f32(g, c);
  c.dtype = DType::F64;
  EvalNetwork net(g, c);
  golden("eval", f32, net, {});
}

}  // namespace
}  // namespace bnas::nas
