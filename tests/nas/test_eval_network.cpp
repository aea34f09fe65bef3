// Evaluation networks (nas/eval_network.h): shapes of docs/METHOD.md §4 (C = 48, layers 6,
// en_layers 2), the authors' parameter counts for the published genotypes at C = 48 and C = 36,
// names, drop-path behaviour, the ImageNet and one-channel variants.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/ops.h"
#include "nas/eval_network.h"
#include "nas/published_genotypes.h"
#include "network_test_util.h"

namespace bnas::nas {
namespace {

using namespace testing;  // network_test_util.h

EvalNetworkConfig cifar(int C) {
  EvalNetworkConfig c;
  c.C = C;
  return c;
}

TEST(EvalNetwork, ParameterCountsOfThePublishedGenotypes) {
  const std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> expected = {
      {"BNASv2_PC_cifar_v1", {3678682, 2103670}},
      {"BNASv2_CLR_v1", {3338074, 1901782}},
      {"DARTS_V2", {3184090, 1808758}},
  };
  for (const auto& [name, counts] : expected) {
    EXPECT_EQ(EvalNetwork(published_genotype(name), cifar(48)).parameter_count(), counts.first) << name;
    EXPECT_EQ(EvalNetwork(published_genotype(name), cifar(36)).parameter_count(), counts.second) << name;
  }
}

TEST(EvalNetwork, ShapesOfTheCifarNetwork) {
  EvalNetwork net(published_genotype("BNASv2_PC_cifar_v1"), cifar(48));
  EXPECT_EQ(net.final_channels(), 1104);
  const std::map<std::string, Shape> s = trace_shapes(net, random_images(1, 3, 32, 1), false);
  const std::map<std::string, Shape> expected = {
      {"stem", {1, 144, 32, 32}},      {"conv_cell.0", {1, 192, 32, 32}}, {"conv_cell.1", {1, 192, 32, 32}},
      {"conv_cell.2", {1, 384, 16, 16}}, {"conv_cell.3", {1, 384, 16, 16}}, {"conv_cell.4", {1, 384, 16, 16}},
      {"conv_cell.5", {1, 768, 8, 8}},   {"gap_tap.0", {1, 48, 8, 8}},      {"gap_tap.1", {1, 96, 8, 8}},
      {"en_input.0", {1, 96, 8, 8}},     {"en_input.1", {1, 768, 8, 8}},    {"en_cell.0", {1, 768, 8, 8}},
      {"en_cell.1", {1, 768, 8, 8}},     {"en_output.0", {1, 192, 8, 8}},   {"en_output.1", {1, 768, 8, 8}},
      {"concat", {1, 1104, 8, 8}},       {"logits", {1, 10}}};
  EXPECT_EQ(s.size(), expected.size());
  expect_shapes(s, expected);
}

TEST(EvalNetwork, NamesFollowTheAuthorsModel) {
  const Genotype& g = published_genotype("DARTS_V2");
  EvalNetwork net(g, cifar(16));
  std::map<std::string, Shape> sd;
  for (const auto& [n, t] : net.state_dict()) sd[n] = t.shape();
  // DARTS_V2 normal[0] = sep_conv_3x3 on input 0: conv cell 0, op 0, depthwise 16 x 1 x 3 x 3.
  EXPECT_EQ(g.normal[0].op, Primitive::kSepConv3x3);
  EXPECT_EQ(sd.at("conv_cells.0._ops.0.op.1.weight"), Shape({16, 1, 3, 3}));
  EXPECT_EQ(sd.at("conv_cells.0._ops.0.op.3.weight"), Shape({16}));  // eval BN: affine
  EXPECT_EQ(sd.at("conv_cells.0.preprocess0.op.2.bias"), Shape({16}));
  EXPECT_EQ(sd.at("conv_cells.3.preprocess0.conv_1.weight"), Shape({16, 64, 1, 1}));  // after broad cell 2
  // DARTS_V2 reduce[0] = max_pool_3x3: no tensors (no extra BN in the eval form).
  EXPECT_EQ(g.reduce[0].op, Primitive::kMaxPool3x3);
  for (const auto& [n, s] : sd) EXPECT_NE(n.rfind("en_cells.0._ops.0.", 0), 0u) << n;
  EXPECT_EQ(sd.at("en_cells.0.preprocess0.op.1.weight"), Shape({64, 32, 1, 1}));
  EXPECT_EQ(sd.at("en_cells.0.preprocess1.op.1.weight"), Shape({64, 256, 1, 1}));
  EXPECT_EQ(sd.at("en_cells.1.preprocess0.op.1.weight"), Shape({64, 256, 1, 1}));
  EXPECT_EQ(sd.at("restricted_convs_gap.0.op.1.weight"), Shape({16, 64, 1, 1}));
  EXPECT_EQ(sd.at("restricted_convs_gap.1.op.1.weight"), Shape({32, 128, 1, 1}));
  EXPECT_EQ(sd.at("restricted_convs_en.1.op.1.weight"), Shape({256, 256, 1, 1}));
  EXPECT_EQ(sd.at("restricted_ens_gap.0.op.1.weight"), Shape({64, 256, 1, 1}));
  EXPECT_EQ(sd.at("restricted_ens_gap.1.op.1.weight"), Shape({256, 256, 1, 1}));
  EXPECT_EQ(sd.at("reduction_convs_gap.2.conv_1.weight"), Shape({16, 32, 1, 1}));
  EXPECT_EQ(sd.count("reduction_convs_gap.3.conv_1.weight"), 0u);
  EXPECT_EQ(sd.at("classifier.weight"), Shape({10, 16 + 32 + 64 + 256}));
  EXPECT_EQ(net.state_dict().front().first, "stem.0.weight");
}

TEST(EvalNetwork, DropPath) {
  EvalNetworkConfig c = cifar(8);
  c.layers = 2;
  c.en_layers = 1;
  c.seed = 3;
  const Genotype& g = published_genotype("BNASv2_CLR_v1");
  EvalNetwork a(g, c), b(g, c);
  const Tensor x = random_images(4, 3, 32, 2);
  NoGradGuard no_grad;
  EXPECT_THROW(a.set_drop_prob(1.0), Error);
  const std::vector<double> plain = a.forward(x, true).to_doubles();
  EXPECT_EQ(a.drop_path_generator().offset(), 0u);  // drop_prob 0: no draws
  a.set_drop_prob(0.3);
  b.set_drop_prob(0.3);
  const std::vector<double> dropped = a.forward(x, true).to_doubles();
  EXPECT_NE(dropped, plain);
  EXPECT_GT(a.drop_path_generator().offset(), 0u);
  EXPECT_EQ(b.forward(x, true).to_doubles(), dropped);  // seeded masks
  // Inference ignores drop-path.
  const uint64_t off = a.drop_path_generator().offset();
  const std::vector<double> e1 = a.forward(x, false).to_doubles();
  a.set_drop_prob(0.0);
  EXPECT_EQ(a.forward(x, false).to_doubles(), e1);
  EXPECT_EQ(a.drop_path_generator().offset(), off);
}

TEST(EvalNetwork, TrainsBackwardThroughEveryWeight) {
  EvalNetworkConfig c = cifar(8);
  EvalNetwork net(published_genotype("BNASv2_PC_cifar_v1"), c);
  net.set_drop_prob(0.2);
  const Tensor loss = ops::cross_entropy(net.forward(random_images(2, 3, 32, 3), true), Tensor::from_ints({0, 9}, {2}));
  const std::vector<Tensor> w = net.parameters();
  const std::vector<Tensor> g = grad(loss, w);
  for (size_t i = 0; i < g.size(); ++i) ASSERT_TRUE(g[i].defined()) << net.named_parameters()[i].first;
}

TEST(EvalNetwork, ImageNetNetwork) {
  EvalNetworkConfig c;
  c.C = 44;
  c.classes = 1000;
  c.stem = StemKind::kImageNet;
  EvalNetwork big(published_genotype("BNASv2_PC_image"), c);
  // docs/METHOD.md §4 (the paper: 4.1M parameters); the authors' NetworkImageNet_b2(44, 1000, 6, genotype,
  // en_layers=2) has exactly 4,112,998.
  EXPECT_EQ(big.parameter_count(), 4112998);
  std::set<std::string> names;
  for (const auto& [n, t] : big.state_dict()) names.insert(n);
  for (const char* n : {"stem0.0.weight", "stem0.4.bias", "stem1.1.weight", "conv_cells.0.preprocess0.conv_1.weight"})
    EXPECT_EQ(names.count(n), 1u) << n;

  c.C = 8;
  c.classes = 10;
  EvalNetwork net(published_genotype("BNASv2_PC_image"), c);
  expect_shapes(trace_shapes(net, random_images(2, 3, 224, 4)),
                {{"stem0", {2, 8, 56, 56}},
                 {"stem1", {2, 8, 28, 28}},
                 {"conv_cell.0", {2, 32, 28, 28}},
                 {"conv_cell.2", {2, 64, 14, 14}},
                 {"conv_cell.5", {2, 128, 7, 7}},
                 {"logits", {2, 10}}});
}

TEST(EvalNetwork, OneChannelTransferNetwork) {
  EvalNetworkConfig c = cifar(8);
  c.input_channels = 1;
  EvalNetwork net(published_genotype("BNASv2_PC_cifar_v1"), c);
  expect_shapes(trace_shapes(net, random_images(2, 1, 28, 5)),
                {{"conv_cell.2", {2, 64, 14, 14}}, {"concat", {2, 8 + 16 + 32 + 128, 7, 7}}});
  EXPECT_THROW(net.forward(random_images(2, 3, 28, 5), true), Error);
}

TEST(EvalNetwork, ActivationBytesPerImage) {
  EvalNetwork net(published_genotype("BNASv2_PC_cifar_v1"), cifar(48));
  const double mib = activation_mib_per_image(net, random_images(2, 3, 32, 6));
  std::printf("activation memory kept for backward per 32x32 image (float32): BNASv2_PC_cifar_v1 evaluation "
              "network C = 48, %.2f MiB\n", mib);
  RecordProperty("eval_c48_mib_per_image", std::to_string(mib));
  EXPECT_GT(mib, 0.0);
}

TEST(EvalNetwork, RejectsBadConfigurations) {
  const Genotype& g = published_genotype("DARTS_V2");
  EvalNetworkConfig c = cifar(8);
  c.layers = 5;
  EXPECT_THROW(EvalNetwork(g, c), Error);
  Genotype bad = g;
  bad.normal[0].input = 3;
  EXPECT_THROW(EvalNetwork(bad, cifar(8)), Error);
}

}  // namespace
}  // namespace bnas::nas
