// The BNAS-v2 search network (nas/broad_network.h): every shape of docs/METHOD.md §4's table,
// the parameter counts of the authors' networks, checkpoint names, architecture parameters,
// channel selection, and the activation memory kept for backward per image. The golden test of
// the whole supernet against PyTorch is test_broad_network_golden.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/checkpoint.h"
#include "engine/ops.h"
#include "nas/broad_network.h"
#include "network_test_util.h"

namespace bnas::nas {
namespace {

using namespace testing;  // network_test_util.h

void expect_table_shapes(const std::map<std::string, Shape>& s, int64_t n) {
  const std::map<std::string, Shape> expected = {
      {"stem", {n, 48, 32, 32}},       {"gap_tap.0", {n, 16, 8, 8}},    {"conv_cell.0", {n, 128, 16, 16}},
      {"gap_tap.1", {n, 32, 8, 8}},     {"en_input.0", {n, 32, 8, 8}},   {"conv_cell.1", {n, 256, 8, 8}},
      {"en_input.1", {n, 256, 8, 8}},   {"en_cell.0", {n, 256, 8, 8}},   {"en_output.0", {n, 256, 8, 8}},
      {"concat", {n, 304, 8, 8}},       {"logits", {n, 10}}};
  EXPECT_EQ(s.size(), expected.size());
  expect_shapes(s, expected);
}

// ---- shapes -----------------------------------------------------------------------------------

TEST(BroadSupernet, ShapesOfTheCifarSearchNetworkPc) {
  BroadSupernet net(SupernetConfig::pc_cifar());
  EXPECT_EQ(net.final_channels(), 304);
  expect_table_shapes(trace_shapes(net, random_images(2, 3, 32, 1)), 2);
}

TEST(BroadSupernet, ShapesOfTheCifarSearchNetworkFullChannels) {
  BroadSupernet net(SupernetConfig::full_cifar());
  expect_table_shapes(trace_shapes(net, random_images(2, 3, 32, 1)), 2);
}

TEST(BroadSupernet, CellInputsOfTheTable) {
  // conv cell 0: pre0 RCB 48->32, pre1 RCB 48->32; conv cell 1: pre0 FactorizedReduce 48->64,
  // pre1 RCB 128->64; enhancement cell 0: pre0 RCB 32->64, pre1 RCB 256->64.
  BroadSupernet net(SupernetConfig::pc_cifar());
  std::map<std::string, Shape> p;
  for (const auto& [n, t] : net.named_parameters()) p[n] = t.shape();
  EXPECT_EQ(p.at("conv_cells.0.preprocess0.op.1.weight"), Shape({32, 48, 1, 1}));
  EXPECT_EQ(p.at("conv_cells.0.preprocess1.op.1.weight"), Shape({32, 48, 1, 1}));
  EXPECT_EQ(p.at("conv_cells.1.preprocess0.conv_1.weight"), Shape({32, 48, 1, 1}));
  EXPECT_EQ(p.at("conv_cells.1.preprocess0.conv_2.weight"), Shape({32, 48, 1, 1}));
  EXPECT_EQ(p.at("conv_cells.1.preprocess1.op.1.weight"), Shape({64, 128, 1, 1}));
  EXPECT_EQ(p.at("en_cells.0.preprocess0.op.1.weight"), Shape({64, 32, 1, 1}));
  EXPECT_EQ(p.at("en_cells.0.preprocess1.op.1.weight"), Shape({64, 256, 1, 1}));
  EXPECT_EQ(p.at("restricted_convs_gap.0.op.1.weight"), Shape({16, 48, 1, 1}));
  EXPECT_EQ(p.at("restricted_convs_gap.1.op.1.weight"), Shape({32, 128, 1, 1}));
  EXPECT_EQ(p.at("restricted_convs_en.0.op.1.weight"), Shape({32, 128, 1, 1}));
  EXPECT_EQ(p.at("restricted_convs_en.1.op.1.weight"), Shape({256, 256, 1, 1}));
  EXPECT_EQ(p.at("restricted_ens_gap.0.op.1.weight"), Shape({256, 256, 1, 1}));
  EXPECT_EQ(p.at("classifier.weight"), Shape({10, 304}));
  EXPECT_EQ(p.at("classifier.bias"), Shape({10}));
  // The GAP FactorizedReduces in the authors' creation order: tap 0 once when tap 1 appears,
  // then taps 0 and 1 after the last cell; the enhancement path reduces input 0 once.
  EXPECT_EQ(p.at("reduction_convs_gap.0.conv_1.weight"), Shape({8, 16, 1, 1}));
  EXPECT_EQ(p.at("reduction_convs_gap.1.conv_1.weight"), Shape({8, 16, 1, 1}));
  EXPECT_EQ(p.at("reduction_convs_gap.2.conv_1.weight"), Shape({16, 32, 1, 1}));
  EXPECT_EQ(p.count("reduction_convs_gap.3.conv_1.weight"), 0u);
  EXPECT_EQ(p.at("reduction_convs_en.0.conv_1.weight"), Shape({16, 32, 1, 1}));
  EXPECT_EQ(p.count("reduction_convs_en.1.conv_1.weight"), 0u);
}

TEST(BroadSupernet, ImageNetSearchNetworkShapes) {
  SupernetConfig cfg = SupernetConfig::pc_imagenet();
  cfg.C = 4;  // small width, real structure and resolution
  cfg.classes = 10;
  BroadSupernet net(cfg);
  expect_shapes(trace_shapes(net, random_images(2, 3, 224, 2)),
                {{"stem0", {2, 12, 56, 56}},
                 {"stem1", {2, 12, 28, 28}},
                 {"conv_cell.0", {2, 32, 14, 14}},
                 {"conv_cell.1", {2, 64, 7, 7}},
                 {"gap_tap.0", {2, 4, 7, 7}},
                 {"gap_tap.1", {2, 8, 7, 7}},
                 {"en_input.0", {2, 8, 7, 7}},
                 {"en_input.1", {2, 64, 7, 7}},
                 {"concat", {2, 4 + 8 + 64, 7, 7}},
                 {"logits", {2, 10}}});
}

TEST(BroadSupernet, OneChannelTransferInput) {
  SupernetConfig cfg = SupernetConfig::pc_cifar();
  cfg.C = 4;
  cfg.input_channels = 1;
  cfg.input_size = 28;
  BroadSupernet net(cfg);
  expect_shapes(trace_shapes(net, random_images(2, 1, 28, 3)),
                {{"conv_cell.0", {2, 32, 14, 14}}, {"concat", {2, 4 + 8 + 64, 7, 7}}});
  EXPECT_THROW(net.forward(random_images(2, 3, 28, 3), true), Error);
}

TEST(BroadSupernet, DeeperConvolutionBlocks) {
  // layers = 4: deep cells 0 and 2, broad cells 1 and 3.
  SupernetConfig cfg = SupernetConfig::pc_cifar();
  cfg.C = 4;
  cfg.layers = 4;
  cfg.en_layers = 2;
  BroadSupernet net(cfg);
  expect_shapes(trace_shapes(net, random_images(2, 3, 32, 4)),
                {{"conv_cell.0", {2, 16, 32, 32}},
                 {"conv_cell.1", {2, 32, 16, 16}},
                 {"conv_cell.2", {2, 32, 16, 16}},
                 {"conv_cell.3", {2, 64, 8, 8}},
                 {"gap_tap.0", {2, 4, 8, 8}},
                 {"gap_tap.1", {2, 8, 8, 8}},
                 {"en_output.0", {2, 16, 8, 8}},
                 {"en_output.1", {2, 64, 8, 8}},
                 {"concat", {2, 4 + 8 + 16 + 64, 8, 8}}});
  EXPECT_THROW(
      [] {
        SupernetConfig c = SupernetConfig::pc_cifar();
        c.layers = 3;
        BroadSupernet bad(c);
      }(),
      Error);
}

// ---- parameter counts -------------------------------------------------------------------------

TEST(BroadSupernet, ParameterCountsOfTheAuthorsNetworks) {
  EXPECT_EQ(BroadSupernet(SupernetConfig::full_cifar()).parameter_count(), 1224762);
  EXPECT_EQ(BroadSupernet(SupernetConfig::pc_cifar()).parameter_count(), 289242);
  EXPECT_EQ(BroadSupernet(SupernetConfig::pc_imagenet()).parameter_count(), 831744);
  // EN and the channel selection add no weights.
  SupernetConfig c = SupernetConfig::pc_cifar();
  c.edge_norm = false;
  c.selection = ChannelSelection::kRandom;
  EXPECT_EQ(BroadSupernet(c).parameter_count(), 289242);
}

// ---- names, weights and architecture parameters -----------------------------------------------

TEST(BroadSupernet, CheckpointNamesAreTheAuthorsModulePaths) {
  BroadSupernet net(SupernetConfig::pc_cifar());
  std::map<std::string, Shape> sd;
  for (const auto& [n, t] : net.state_dict()) {
    EXPECT_EQ(sd.count(n), 0u) << "duplicate name " << n;
    sd[n] = t.shape();
  }
  // Conv cell 0, edge 3 (node 1, input s1), sep_conv_3x3 (primitive 4), first depthwise conv:
  // node width 32, K = 4 -> 8 channels.
  EXPECT_EQ(sd.at("conv_cells.0._ops.3._ops.4.op.1.weight"), Shape({8, 1, 3, 3}));
  EXPECT_EQ(sd.at("conv_cells.0._ops.3._ops.4.op.6.weight"), Shape({8, 8, 1, 1}));
  EXPECT_EQ(sd.at("conv_cells.0._ops.3._ops.4.op.7.running_var"), Shape({8}));
  // The pools' BN inside the op (nn.Sequential(pool, BatchNorm2d)).
  EXPECT_EQ(sd.at("conv_cells.1._ops.13._ops.1.1.running_mean"), Shape({16}));
  EXPECT_EQ(sd.at("en_cells.0._ops.0._ops.2.1.running_var"), Shape({16}));
  // skip_connect on a stride-2 edge is a FactorizedReduce; on stride 1 it has no tensors.
  EXPECT_EQ(sd.at("conv_cells.0._ops.0._ops.3.conv_1.weight"), Shape({4, 8, 1, 1}));
  EXPECT_EQ(sd.at("conv_cells.0._ops.2._ops.3.conv_1.weight"), Shape({4, 8, 1, 1}));  // s0 -> node 1
  EXPECT_EQ(sd.count("conv_cells.0._ops.4._ops.3.conv_1.weight"), 0u);                // node 0 -> node 1
  EXPECT_EQ(sd.at("conv_cells.0._ops.13._ops.7.op.1.weight"), Shape({8, 1, 5, 5}));
  EXPECT_EQ(sd.at("stem.0.weight"), Shape({48, 3, 3, 3}));
  EXPECT_EQ(sd.at("stem.1.running_mean"), Shape({48}));
  EXPECT_EQ(sd.at("conv_cells.0.preprocess0.op.2.running_mean"), Shape({32}));
  EXPECT_EQ(sd.count("conv_cells.0.preprocess0.op.2.weight"), 0u);  // search-form cell BN: not affine
  EXPECT_EQ(sd.at("restricted_convs_gap.0.op.2.weight"), Shape({16}));  // broad-path BN: affine
  EXPECT_EQ(sd.at("reduction_convs_gap.0.bn.bias"), Shape({16}));
  EXPECT_EQ(sd.count("alpha_conv"), 0u);  // architecture parameters stay out of the weights
  // state_dict order: module attribute order, own tensors first.
  const NamedTensors all = net.state_dict();
  EXPECT_EQ(all.front().first, "stem.0.weight");
  EXPECT_EQ(all.back().first, "classifier.bias");
  auto first = [&](const std::string& prefix) {
    for (size_t i = 0; i < all.size(); ++i)
      if (all[i].first.rfind(prefix, 0) == 0) return i;
    return all.size();
  };
  const std::vector<std::string> order = {"stem.", "conv_cells.0.", "conv_cells.1.", "en_cells.0.",
                                          "reduction_convs_gap.", "reduction_convs_en.", "restricted_convs_gap.",
                                          "restricted_convs_en.", "restricted_ens_gap.", "classifier."};
  for (size_t i = 1; i < order.size(); ++i) EXPECT_LT(first(order[i - 1]), first(order[i])) << order[i];

  SupernetConfig in = SupernetConfig::pc_imagenet();
  in.C = 4;
  BroadSupernet imagenet(in);
  std::set<std::string> names;
  for (const auto& [n, t] : imagenet.state_dict()) names.insert(n);
  for (const char* n : {"stem0.0.weight", "stem0.1.weight", "stem0.3.weight", "stem0.4.running_var",
                        "stem1.1.weight", "stem1.2.bias", "conv_cells.0.preprocess0.conv_1.weight"})
    EXPECT_EQ(names.count(n), 1u) << n;
}

TEST(BroadSupernet, WeightsAndArchitectureParameters) {
  BroadSupernet net(SupernetConfig::pc_cifar());
  const std::vector<Tensor> w = net.weights();
  int64_t n = 0;
  for (const Tensor& t : w) {
    EXPECT_TRUE(t.requires_grad());
    EXPECT_TRUE(t.is_leaf());
    n += t.numel();
  }
  EXPECT_EQ(n, 289242);
  EXPECT_EQ(w.size(), net.named_parameters().size());
  EXPECT_TRUE(w.front().same_as(net.weights().front()));  // the same tensors on every call

  const NamedTensors arch = net.arch_parameters();
  ASSERT_EQ(arch.size(), 4u);
  const std::vector<std::string> names = {"alpha_conv", "alpha_enh", "beta_conv", "beta_enh"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(arch[i].first, names[i]);
    EXPECT_TRUE(arch[i].second.requires_grad());
    EXPECT_EQ(arch[i].second.shape(), i < 2 ? Shape({14, 8}) : Shape({14}));
    // 1e-3 * N(0, 1).
    double sq = 0;
    for (double v : arch[i].second.to_doubles()) sq += v * v;
    const double rms = std::sqrt(sq / arch[i].second.numel());
    EXPECT_GT(rms, 0.5e-3);
    EXPECT_LT(rms, 1.5e-3);
  }
  // Seeded: the same seed gives the same alpha and weights; another seed different ones; alpha
  // does not depend on the network's size.
  SupernetConfig c = SupernetConfig::pc_cifar();
  BroadSupernet same(c);
  EXPECT_EQ(same.alpha_conv.to_doubles(), net.alpha_conv.to_doubles());
  EXPECT_EQ(same.weights()[5].to_doubles(), net.weights()[5].to_doubles());
  c.seed = 7;
  BroadSupernet other(c);
  EXPECT_NE(other.alpha_conv.to_doubles(), net.alpha_conv.to_doubles());
  EXPECT_NE(other.weights()[5].to_doubles(), net.weights()[5].to_doubles());
  SupernetConfig small = SupernetConfig::pc_cifar();
  small.C = 8;
  EXPECT_EQ(BroadSupernet(small).alpha_enh.to_doubles(), net.alpha_enh.to_doubles());

  BroadSupernet full(SupernetConfig::full_cifar());
  ASSERT_EQ(full.arch_parameters().size(), 2u);  // no EN: alphas only
  EXPECT_EQ(full.alpha_conv.to_doubles(), net.alpha_conv.to_doubles());
  const Genotype g = net.genotype();
  EXPECT_NO_THROW(validate_genotype(g));
}

TEST(BroadSupernet, RandomChannelSelection) {
  SupernetConfig c = SupernetConfig::pc_cifar();
  c.C = 4;
  const Tensor x = random_images(2, 3, 32, 5);
  BroadSupernet fixed(c);
  c.selection = ChannelSelection::kRandom;
  BroadSupernet r1(c), r2(c);
  NoGradGuard no_grad;
  const std::vector<double> yf = fixed.forward(x, true).to_doubles();
  EXPECT_EQ(r1.channel_draws(), 0u);
  const std::vector<double> y1 = r1.forward(x, true).to_doubles();
  EXPECT_EQ(r1.channel_draws(), 1u);  // one draw per forward, for every edge at once
  EXPECT_EQ(r2.forward(x, true).to_doubles(), y1);  // same seed, same subsets
  EXPECT_NE(y1, yf);
  EXPECT_NE(r1.forward(x, true).to_doubles(), y1);  // a fresh subset per forward
  // A resumed run that restores the draw counter draws the same subsets.
  r2.set_channel_draws(r1.channel_draws());
  EXPECT_EQ(r2.forward(x, true).to_doubles(), r1.forward(x, true).to_doubles());
  EXPECT_EQ(fixed.channel_draws(), 0u);  // the fixed selection draws nothing
  EXPECT_NO_THROW(fixed.set_channel_draws(0));
  EXPECT_THROW(fixed.set_channel_draws(1), Error);
}

TEST(BroadSupernet, RandomSelectionGradientsReachEveryWeight) {
  SupernetConfig c = SupernetConfig::pc_cifar();
  c.C = 4;
  c.selection = ChannelSelection::kRandom;
  BroadSupernet net(c);
  const Tensor y = net.forward(random_images(2, 3, 32, 6), true);
  const Tensor loss = ops::cross_entropy(y, Tensor::from_ints({1, 2}, {2}));
  std::vector<Tensor> leaves = net.weights();
  for (const auto& [n, t] : net.arch_parameters()) leaves.push_back(t);
  const std::vector<Tensor> g = grad(loss, leaves);
  ASSERT_EQ(g.size(), leaves.size());
  for (size_t i = 0; i < g.size(); ++i) ASSERT_TRUE(g[i].defined()) << i;
}

TEST(BroadSupernet, InferenceUsesAndKeepsTheRunningStatistics) {
  SupernetConfig c = SupernetConfig::pc_cifar();
  c.C = 4;
  BroadSupernet net(c);
  const Tensor x = random_images(2, 3, 32, 10);
  auto buffers = [&] {
    std::vector<double> all;
    for (const auto& [n, t] : net.named_buffers())
      for (double v : t.to_doubles()) all.push_back(v);
    return all;
  };
  NoGradGuard no_grad;
  const std::vector<double> b0 = buffers();
  const std::vector<double> e0 = net.forward(x, false).to_doubles();
  EXPECT_EQ(buffers(), b0);  // inference leaves every BN (pool BNs in the fused op included) alone
  net.forward(x, true);
  const std::vector<double> b1 = buffers();
  EXPECT_NE(b1, b0);
  size_t changed = 0;
  for (size_t i = 0; i < b0.size(); ++i) changed += b1[i] != b0[i];
  EXPECT_GT(changed, b0.size() * 9 / 10);  // (almost) every running statistic moved
  EXPECT_NE(net.forward(x, false).to_doubles(), e0);  // and inference reads them
}

TEST(BroadSupernet, CheckpointRoundTrip) {
  SupernetConfig c = SupernetConfig::pc_cifar();
  c.C = 4;
  BroadSupernet a(c);
  c.seed = 99;
  BroadSupernet b(c);
  const Tensor x = random_images(2, 3, 32, 11);
  {
    NoGradGuard no_grad;
    a.forward(x, true);  // move the running statistics away from their initial values
  }
  const std::string path = ::testing::TempDir() + "/bnas_supernet_roundtrip.safetensors";
  save_safetensors(path, a.state_dict());
  load_into(path, b.state_dict());
  for (size_t i = 0; i < a.arch_parameters().size(); ++i)
    b.arch_parameters()[i].second.copy_(a.arch_parameters()[i].second);
  NoGradGuard no_grad;
  EXPECT_EQ(b.forward(x, false).to_doubles(), a.forward(x, false).to_doubles());
  std::remove(path.c_str());
}

TEST(MixedOp, ExplicitFirstChannelsEqualTheFixedSelection) {
  // The random-selection path (a selection tensor, read in place by the fused ops) given the first C/k
  // channels computes what the fixed path (a narrow view, no selection) computes.
  for (int stride : {1, 2}) {
    Generator gen(3, RngStream::Init);
    ParamOptions o;
    o.gen = &gen;
    o.dtype = DType::F64;
    MixedOp op(8, stride, 4, o);
    EXPECT_EQ(op.named_buffers().front().first, "_ops.1.1.running_mean");
    Tensor x = random_images(2, 8, 8, 9, DType::F64).set_requires_grad(true);
    const Tensor w = ops::softmax(Tensor::from_vector({0.1, -0.2, 0.3, 0.0, 0.5, -0.1, 0.2, 0.4}, {8}, DType::F64));
    const Tensor e = Tensor::from_vector({0.7}, {1}, DType::F64);
    const Tensor a = op.forward(x, w, e, true);
    const Tensor b = op.forward(x, w, e, true, Tensor::from_ints({0, 1}, {2}));
    EXPECT_EQ(a.shape(), Shape({2, 8, 8 / stride, 8 / stride}));
    EXPECT_EQ(a.to_doubles(), b.to_doubles());
    const Tensor ga = grad(ops::global_avg_pool(a), {x}, ops::global_avg_pool(a).detach())[0];
    const Tensor gb = grad(ops::global_avg_pool(b), {x}, ops::global_avg_pool(b).detach())[0];
    const std::vector<double> va = ga.to_doubles(), vb = gb.to_doubles();
    for (size_t i = 0; i < va.size(); ++i) EXPECT_NEAR(va[i], vb[i], 1e-12) << i;
    EXPECT_THROW(op.forward(x, w, e, true, Tensor::from_ints({0, 1, 2}, {3})), Error);
  }
}

// ---- activation memory ------------------------------------------------------------------------

// Bytes kept alive for backward per 32x32 image in float32 (the PyTorch reference: about
// 13.1 MiB for the PC supernet and 37.6 MiB for the full-channel one).
double supernet_mib_per_image(const SupernetConfig& cfg, int64_t batch) {
  BroadSupernet net(cfg);
  return activation_mib_per_image(net, random_images(batch, 3, 32, 8));
}

TEST(BroadSupernetMemory, ActivationBytesPerImage) {
  const double pc = supernet_mib_per_image(SupernetConfig::pc_cifar(), 4);
  const double full = supernet_mib_per_image(SupernetConfig::full_cifar(), 2);
  std::printf("activation memory kept for backward per 32x32 image (float32): PC supernet %.2f MiB "
              "(PyTorch reference 13.1), full-channel supernet %.2f MiB (PyTorch reference 37.6)\n",
              pc, full);
  RecordProperty("pc_mib_per_image", std::to_string(pc));
  RecordProperty("full_mib_per_image", std::to_string(full));
  EXPECT_GT(pc, 0.0);
  EXPECT_LT(pc, full);
}

}  // namespace
}  // namespace bnas::nas
