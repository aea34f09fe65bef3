#include "nas/broad_network.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/check.h"
#include "engine/ops.h"

namespace bnas::nas {

// ---- building blocks --------------------------------------------------------------------------

Linear::Linear(int in, int out, const ParamOptions& o) {
  BNAS_CHECK(in > 0 && out > 0, "Linear needs positive sizes, got ", in, " -> ", out);
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  weight = uniform_parameter({out, in}, bound, o);
  bias = uniform_parameter({out}, bound, o);
  register_parameter("weight", &weight);
  register_parameter("bias", &bias);
}

Tensor Linear::forward(const Tensor& x) const { return ops::linear(x, weight, bias); }

namespace {
ops::Conv2dArgs conv3x3(int stride) {
  ops::Conv2dArgs a;
  a.stride = stride;
  a.padding = 1;
  return a;
}
}  // namespace

CifarStem::CifarStem(int cin, int cout, const ParamOptions& o) {
  conv = std::make_unique<Conv2d>(cin, cout, 3, conv3x3(1), o);
  bn = std::make_unique<BatchNorm2d>(cout, true, o);
  register_module("0", conv.get());
  register_module("1", bn.get());
}

Tensor CifarStem::forward(const Tensor& x, bool training) {
  return bn->forward(conv->forward(x, training), training);
}

ImageNetStem0::ImageNetStem0(int cin, int cout, const ParamOptions& o) {
  BNAS_CHECK(cout % 2 == 0 && cout > 0, "the ImageNet stem needs an even width, got ", cout);
  conv1 = std::make_unique<Conv2d>(cin, cout / 2, 3, conv3x3(2), o);
  bn1 = std::make_unique<BatchNorm2d>(cout / 2, true, o);
  conv2 = std::make_unique<Conv2d>(cout / 2, cout, 3, conv3x3(2), o);
  bn2 = std::make_unique<BatchNorm2d>(cout, true, o);
  register_module("0", conv1.get());
  register_module("1", bn1.get());
  register_module("3", conv2.get());
  register_module("4", bn2.get());
}

Tensor ImageNetStem0::forward(const Tensor& x, bool training) {
  Tensor y = ops::relu(bn1->forward(conv1->forward(x, training), training));
  return bn2->forward(conv2->forward(y, training), training);
}

ImageNetStem1::ImageNetStem1(int c, const ParamOptions& o) {
  conv = std::make_unique<Conv2d>(c, c, 3, conv3x3(2), o);
  bn = std::make_unique<BatchNorm2d>(c, true, o);
  register_module("1", conv.get());
  register_module("2", bn.get());
}

Tensor ImageNetStem1::forward(const Tensor& x, bool training) { return forward_relu_applied(ops::relu(x), training); }

Tensor ImageNetStem1::forward_relu_applied(const Tensor& relu_x, bool training) {
  return bn->forward(conv->forward(relu_x, training), training);
}

std::vector<int> broad_cell_indices(int layers) {
  BNAS_CHECK(layers >= 2 && layers % 2 == 0,
             "the broad network needs an even number (>= 2) of convolution cells, got ", layers);
  return {layers / 2 - 1, layers - 1};
}

// ---- configurations ---------------------------------------------------------------------------

SupernetConfig SupernetConfig::pc_cifar() { return SupernetConfig{}; }

SupernetConfig SupernetConfig::full_cifar() {
  SupernetConfig c;
  c.k = 1;
  c.edge_norm = false;
  return c;
}

SupernetConfig SupernetConfig::pc_imagenet() {
  SupernetConfig c;
  c.k = 2;
  c.classes = 1000;
  c.input_size = 224;
  c.stem = StemKind::kImageNet;
  return c;
}

// ---- the supernet -----------------------------------------------------------------------------

namespace {
constexpr int kMultiplier = kCellSteps;  // cell output = 4 node widths
constexpr int kStemMultiplier = 3;
// Architecture parameters come from the Init stream of the seed, far past any weight draw, so
// that they depend on the seed only (not on the network's size) and never overlap the weights.
constexpr uint64_t kArchOffset = uint64_t{1} << 40;
}  // namespace

BroadSupernet::BroadSupernet(const SupernetConfig& cfg)
    : cfg_(cfg), channel_gen_(cfg.seed, RngStream::Channels) {
  BNAS_CHECK(cfg.C > 0 && cfg.en_layers >= 1 && cfg.classes > 0 && cfg.input_channels > 0 && cfg.k >= 1,
             "invalid supernet configuration: C ", cfg.C, ", en_layers ", cfg.en_layers, ", classes ",
             cfg.classes, ", input channels ", cfg.input_channels, ", k ", cfg.k);
  broad_cells_ = broad_cell_indices(cfg.layers);
  Generator wgen(cfg.seed, RngStream::Init);
  ParamOptions o;
  o.gen = &wgen;
  o.dtype = cfg.dtype;
  o.device = cfg.device;

  const int c_stem = kStemMultiplier * cfg.C;
  bool reduction_prev = false;
  if (cfg.stem == StemKind::kCifar) {
    stem = std::make_unique<CifarStem>(cfg.input_channels, c_stem, o);
  } else {
    stem = std::make_unique<ImageNetStem0>(cfg.input_channels, c_stem, o);
    stem1 = std::make_unique<ImageNetStem1>(c_stem, o);
    reduction_prev = true;  // stem1 halved the resolution of stem0's output (s0)
  }
  int cpp = c_stem, cp = c_stem, c = cfg.C;
  std::vector<int> gap_ch, en_ch;
  for (int i = 0; i < cfg.layers; ++i) {
    const bool broad = std::count(broad_cells_.begin(), broad_cells_.end(), i) > 0;
    if (broad) {  // GAP tap of the broad cell's input
      restricted_convs_gap.push_back(std::make_unique<ReLUConvBN>(cp, c, 1, 1, 0, true, o));
      gap_ch.push_back(c);
      for (size_t t = 0; t + 1 < gap_ch.size(); ++t)
        reduction_convs_gap.push_back(std::make_unique<FactorizedReduce>(gap_ch[t], gap_ch[t], true, o));
      c *= 2;
    }
    conv_cells.push_back(std::make_unique<SearchCell>(cpp, cp, c, broad, reduction_prev, cfg.k, o));
    reduction_prev = broad;
    cpp = cp;
    cp = kMultiplier * c;
    if (broad) {  // enhancement input from the broad cell's output
      const int c_out = i == broad_cells_.back() ? cp : c;
      restricted_convs_en.push_back(std::make_unique<ReLUConvBN>(cp, c_out, 1, 1, 0, true, o));
      en_ch.push_back(c_out);
      for (size_t t = 0; t + 1 < en_ch.size(); ++t)
        reduction_convs_en.push_back(std::make_unique<FactorizedReduce>(en_ch[t], en_ch[t], true, o));
    }
    if (i + 1 == cfg.layers)
      for (int g : gap_ch) reduction_convs_gap.push_back(std::make_unique<FactorizedReduce>(g, g, true, o));
  }
  for (int j = 0; j < cfg.en_layers; ++j) {
    if (j == 0)
      en_cells.push_back(std::make_unique<SearchCell>(en_ch[0], en_ch[1], c, false, false, cfg.k, o));
    else
      en_cells.push_back(std::make_unique<SearchCell>(cpp, cp, c, false, false, cfg.k, o));
    cpp = cp;
    cp = kMultiplier * c;
    restricted_ens_gap.push_back(
        std::make_unique<ReLUConvBN>(cp, j + 1 == cfg.en_layers ? cp : c, 1, 1, 0, true, o));
  }
  final_channels_ = std::accumulate(gap_ch.begin(), gap_ch.end(), 0) + (cfg.en_layers - 1) * c + cp;
  classifier = std::make_unique<Linear>(final_channels_, cfg.classes, o);

  // Registration in the authors' attribute order (their state_dict order).
  if (stem1) {
    register_module("stem0", stem.get());
    register_module("stem1", stem1.get());
  } else {
    register_module("stem", stem.get());
  }
  auto reg = [this](const std::string& list, const auto& mods) {
    for (size_t i = 0; i < mods.size(); ++i) register_module(list + "." + std::to_string(i), mods[i].get());
  };
  reg("conv_cells", conv_cells);
  reg("en_cells", en_cells);
  reg("reduction_convs_gap", reduction_convs_gap);
  reg("reduction_convs_en", reduction_convs_en);
  reg("restricted_convs_gap", restricted_convs_gap);
  reg("restricted_convs_en", restricted_convs_en);
  reg("restricted_ens_gap", restricted_ens_gap);
  register_module("classifier", classifier.get());

  Generator agen(cfg.seed, RngStream::Init);
  agen.set_offset(kArchOffset);
  auto arch = [&](const Shape& s) {
    std::vector<double> v = agen.normal(static_cast<uint64_t>(s.numel()));
    for (double& x : v) x *= 1e-3;
    Tensor t = Tensor::from_vector(v, s, cfg.dtype, cfg.device);
    t.set_requires_grad(true);
    return t;
  };
  alpha_conv = arch({kCellEdges, kNumPrimitives});
  alpha_enh = arch({kCellEdges, kNumPrimitives});
  Tensor bc = arch({kCellEdges}), be = arch({kCellEdges});
  if (cfg.edge_norm) {
    beta_conv = bc;
    beta_enh = be;
  }
}

Tensor BroadSupernet::forward(const Tensor& images, bool training) {
  BNAS_CHECK(images.ndim() == 4 && images.size(1) == cfg_.input_channels && images.size(2) == cfg_.input_size &&
                 images.size(3) == cfg_.input_size,
             "the supernet expects N x ", cfg_.input_channels, " x ", cfg_.input_size, " x ", cfg_.input_size,
             " images, got ", images.shape().str());
  auto note = [this](const std::string& name, const Tensor& t) {
    if (trace) trace(name, t);
  };
  const Tensor w_conv = ops::softmax(alpha_conv), w_enh = ops::softmax(alpha_enh);
  const std::vector<Tensor> b_conv = cfg_.edge_norm ? node_softmax(beta_conv) : std::vector<Tensor>{};
  const std::vector<Tensor> b_enh = cfg_.edge_norm ? node_softmax(beta_enh) : std::vector<Tensor>{};
  Generator* cgen = cfg_.selection == ChannelSelection::kRandom ? &channel_gen_ : nullptr;

  // Every consumer of a state (cell preprocessing, knowledge convs, stem1) starts with a ReLU:
  // the forward carries r0, r1 = relu(s0), relu(s1), computed (and kept for backward) once.
  Tensor r0, r1;
  if (stem1) {
    const Tensor s0 = stem->forward(images, training);
    note("stem0", s0);
    r0 = ops::relu(s0);
    const Tensor s1 = static_cast<ImageNetStem1&>(*stem1).forward_relu_applied(r0, training);
    note("stem1", s1);
    r1 = ops::relu(s1);
  } else {
    const Tensor s = stem->forward(images, training);
    note("stem", s);
    r0 = r1 = ops::relu(s);
  }
  std::vector<Tensor> gap, en;
  size_t rg = 0, re = 0, tap = 0;
  for (size_t i = 0; i < conv_cells.size(); ++i) {
    const bool broad = std::count(broad_cells_.begin(), broad_cells_.end(), static_cast<int>(i)) > 0;
    if (broad) {
      gap.push_back(restricted_convs_gap[tap]->forward_relu_applied(r1, training));
      for (size_t t = 0; t + 1 < gap.size(); ++t) gap[t] = reduction_convs_gap[rg++]->forward(gap[t], training);
    }
    const Tensor out = conv_cells[i]->forward_relu_applied(r0, r1, w_conv, b_conv, training, cgen);
    note("conv_cell." + std::to_string(i), out);
    r0 = r1;
    r1 = ops::relu(out);
    if (broad) {
      en.push_back(restricted_convs_en[tap]->forward_relu_applied(r1, training));
      for (size_t t = 0; t + 1 < en.size(); ++t) en[t] = reduction_convs_en[re++]->forward(en[t], training);
      ++tap;
    }
    if (i + 1 == conv_cells.size())
      for (Tensor& g : gap) g = reduction_convs_gap[rg++]->forward(g, training);
  }
  for (size_t t = 0; t < gap.size(); ++t) note("gap_tap." + std::to_string(t), gap[t]);
  for (size_t t = 0; t < en.size(); ++t) note("en_input." + std::to_string(t), en[t]);

  std::vector<Tensor> head = gap;
  for (size_t j = 0; j < en_cells.size(); ++j) {
    const Tensor out = j == 0 ? en_cells[j]->forward(en[0], en[1], w_enh, b_enh, training, cgen)
                              : en_cells[j]->forward_relu_applied(r0, r1, w_enh, b_enh, training, cgen);
    note("en_cell." + std::to_string(j), out);
    r0 = r1;
    r1 = ops::relu(out);
    head.push_back(restricted_ens_gap[j]->forward_relu_applied(r1, training));
    note("en_output." + std::to_string(j), head.back());
  }
  const Tensor cat = ops::concat_channels(head);
  note("concat", cat);
  Tensor logits = classifier->forward(ops::global_avg_pool(cat));
  note("logits", logits);
  return logits;
}

std::vector<Tensor> BroadSupernet::weights() const { return parameters(); }

NamedTensors BroadSupernet::arch_parameters() const {
  NamedTensors out{{"alpha_conv", alpha_conv}, {"alpha_enh", alpha_enh}};
  if (cfg_.edge_norm) {
    out.emplace_back("beta_conv", beta_conv);
    out.emplace_back("beta_enh", beta_enh);
  }
  return out;
}

Genotype BroadSupernet::genotype() const {
  return derive_genotype(alpha_conv.to_doubles(), alpha_enh.to_doubles(),
                         cfg_.edge_norm ? beta_conv.to_doubles() : std::vector<double>{},
                         cfg_.edge_norm ? beta_enh.to_doubles() : std::vector<double>{});
}

}  // namespace bnas::nas
