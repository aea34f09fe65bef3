// Golden test of the search step against PyTorch (tests/reference/make_search_fixtures.py):
// the TinySupernet in float64, two steps of (first-order architecture step, weight step) from
// the same weights and batches, compared on the architecture gradients, the validation loss, the
// architecture parameters after each step and every weight and BN buffer after the last one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "engine/checkpoint.h"
#include "nas/search.h"
#include "search_test_util.h"
#include "tiny_supernet.h"

namespace bnas::nas {
namespace {

double g_worst = 0;  // the largest |got - want| / (1e-3 + |want|) of a case, printed at its end

void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const auto a = got.to_doubles(), b = want.to_doubles();
  for (size_t i = 0; i < a.size(); ++i) g_worst = std::max(g_worst, std::fabs(a[i] - b[i]) / (1e-3 + std::fabs(b[i])));
  for (size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], tol * (1e-3 + std::fabs(b[i]))) << what << " element " << i;
}

void run_case(const std::string& name) {
  const std::string path = std::string(BNAS_SOURCE_DIR) + "/tests/reference/fixtures/search/" + name + ".safetensors";
  const SafetensorsFile f = load_safetensors(path);
  g_worst = 0;
  TinySupernetOptions mo;
  mo.channels = std::stoi(f.metadata.at("C"));
  mo.pc_k = std::stoi(f.metadata.at("K"));
  mo.edge_norm = f.metadata.at("en") == "1";
  mo.classes = 4;
  mo.dtype = DType::F64;
  TinySupernet model(mo);
  int64_t n_init = 0;
  for (const auto& [k, v] : f.tensors) n_init += k.rfind("init.", 0) == 0 && k.rfind("init.arch.", 0) != 0;
  ASSERT_EQ(static_cast<size_t>(n_init), model.state_dict().size()) << "state_dict names differ from PyTorch's";
  for (auto& [n, t] : model.state_dict()) {
    Tensor d = t;
    ASSERT_TRUE(f.tensors.count("init." + n)) << n;
    d.copy_(f.tensors.at("init." + n));
  }
  for (auto& [n, t] : model.arch_parameters()) {
    Tensor d = t;
    d.copy_(f.tensors.at("init.arch." + n));
  }

  // Loaders are required by the Search but unused here: steps take the fixture's batches.
  const auto set = testing::synthetic_set(16, 4, 8, 1);
  auto loaders = testing::make_loaders(set, 4, 1);
  SearchConfig c = SearchConfig::preset_config("bnas-d");  // full channels, no warm-up of alpha
  c.channels = mo.channels;
  c.epochs = 10;
  c.lr = 0.1, c.lr_min = 0;
  c.arch_lr = 6e-3;
  Search s(model, loaders.data(), c);
  ASSERT_EQ(s.begin_epoch(0), 0.1);
  const int steps = std::stoi(f.metadata.at("steps"));
  for (int st = 0; st < steps; ++st) {
    const std::string p = "step" + std::to_string(st) + ".";
    data::Batch tb{f.tensors.at("train." + std::to_string(st) + ".images"),
                   f.tensors.at("train." + std::to_string(st) + ".labels")};
    data::Batch vb{f.tensors.at("valid." + std::to_string(st) + ".images"),
                   f.tensors.at("valid." + std::to_string(st) + ".labels")};
    s.step(tb, vb, 0);
    expect_close(s.architect().last_val_loss(), f.tensors.at(p + "val_loss"), 1e-10, p + "val_loss");
    const auto arch = model.arch_parameters();
    for (size_t i = 0; i < arch.size(); ++i) {
      expect_close(s.architect().optimizer().grads()[i], f.tensors.at(p + "arch_grad." + arch[i].first), 1e-8,
                   p + "arch_grad." + arch[i].first);
      expect_close(arch[i].second, f.tensors.at(p + "arch." + arch[i].first), 1e-8, p + "arch." + arch[i].first);
    }
  }
  const std::string last = "step" + std::to_string(steps - 1) + ".state.";
  for (const auto& [n, t] : model.state_dict()) expect_close(t, f.tensors.at(last + n), 1e-8, last + n);
  std::printf("%s: largest difference to PyTorch |a - b| / (1e-3 + |b|) = %.3e\n", name.c_str(), g_worst);
}

TEST(SearchGolden, FullChannelsTwoSteps) { run_case("tiny_full"); }
TEST(SearchGolden, PartialChannelsEdgeNormTwoSteps) { run_case("tiny_pc_en"); }

}  // namespace
}  // namespace bnas::nas
