#include "nas/eval_network.h"

#include <algorithm>
#include <numeric>
#include <string>

#include "engine/check.h"
#include "engine/ops.h"

namespace bnas::nas {

namespace {
constexpr int kStemMultiplier = 3;
bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }
}  // namespace

EvalNetwork::EvalNetwork(const Genotype& g, const EvalNetworkConfig& cfg)
    : genotype_(g), cfg_(cfg), drop_gen_(cfg.seed, RngStream::DropPath) {
  validate_genotype(g, "evaluation network genotype");
  BNAS_CHECK(cfg.C > 0 && cfg.en_layers >= 1 && cfg.classes > 0 && cfg.input_channels > 0,
             "invalid evaluation network configuration: C ", cfg.C, ", en_layers ", cfg.en_layers, ", classes ",
             cfg.classes, ", input channels ", cfg.input_channels);
  broad_cells_ = broad_cell_indices(cfg.layers);
  Generator wgen(cfg.seed, RngStream::Init);
  ParamOptions o;
  o.gen = &wgen;
  o.dtype = cfg.dtype;
  o.device = cfg.device;

  int cpp, cp, c = cfg.C;
  bool reduction_prev = false;
  if (cfg.stem == StemKind::kCifar) {
    stem = std::make_unique<CifarStem>(cfg.input_channels, kStemMultiplier * cfg.C, o);
    cpp = cp = kStemMultiplier * cfg.C;
  } else {
    stem = std::make_unique<ImageNetStem0>(cfg.input_channels, cfg.C, o);
    stem1 = std::make_unique<ImageNetStem1>(cfg.C, o);
    cpp = cp = cfg.C;
    reduction_prev = true;
  }
  std::vector<int> gap_ch, en_ch;
  for (int i = 0; i < cfg.layers; ++i) {
    const bool broad = contains(broad_cells_, i);
    if (broad) c *= 2;
    conv_cells.push_back(
        std::make_unique<EvalCell>(g.normal, g.normal_concat, cpp, cp, c, broad, reduction_prev, o));
    const int mult = conv_cells.back()->multiplier();
    if (contains(broad_cells_, i + 1)) {  // GAP tap: the input of the next (broad) cell
      restricted_convs_gap.push_back(std::make_unique<ReLUConvBN>(mult * c, c, 1, 1, 0, true, o));
      gap_ch.push_back(c);
      for (size_t t = 0; t + 1 < gap_ch.size(); ++t)
        reduction_convs_gap.push_back(std::make_unique<FactorizedReduce>(gap_ch[t], gap_ch[t], true, o));
    }
    reduction_prev = broad;
    cpp = cp;
    cp = mult * c;
    if (broad) {
      const int c_out = i == broad_cells_.back() ? c * mult : c;
      en_ch.push_back(c_out);
      restricted_convs_en.push_back(std::make_unique<ReLUConvBN>(cp, c_out, 1, 1, 0, true, o));
      for (size_t t = 0; t + 1 < en_ch.size(); ++t)
        reduction_convs_en.push_back(std::make_unique<FactorizedReduce>(en_ch[t], en_ch[t], true, o));
    }
    if (i + 1 == cfg.layers)
      for (int gc : gap_ch) reduction_convs_gap.push_back(std::make_unique<FactorizedReduce>(gc, gc, true, o));
  }
  for (int j = 0; j < cfg.en_layers; ++j) {
    en_cells.push_back(std::make_unique<EvalCell>(g.reduce, g.reduce_concat, j == 0 ? en_ch[0] : cpp, cp, c,
                                                  false, false, o));
    cpp = cp;
    cp = en_cells.back()->multiplier() * c;
    restricted_ens_gap.push_back(
        std::make_unique<ReLUConvBN>(cp, j + 1 == cfg.en_layers ? cp : c, 1, 1, 0, true, o));
  }
  final_channels_ = std::accumulate(gap_ch.begin(), gap_ch.end(), 0) + (cfg.en_layers - 1) * c + cp;
  classifier = std::make_unique<Linear>(final_channels_, cfg.classes, o);

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
}

void EvalNetwork::set_drop_prob(double p) {
  BNAS_CHECK(p >= 0.0 && p < 1.0, "the drop-path probability must be in [0, 1), got ", p);
  drop_prob_ = p;
}

Tensor EvalNetwork::forward(const Tensor& images, bool training) {
  BNAS_CHECK(images.ndim() == 4 && images.size(1) == cfg_.input_channels,
             "the evaluation network expects N x ", cfg_.input_channels, " x H x W images, got ",
             images.shape().str());
  auto note = [this](const std::string& name, const Tensor& t) {
    if (trace) trace(name, t);
  };
  // As in the supernet, the forward carries r0, r1 = relu(s0), relu(s1): every consumer of a
  // state starts with a ReLU, computed (and kept for backward) once.
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
    const Tensor out = conv_cells[i]->forward_relu_applied(r0, r1, training, drop_prob_, drop_gen_);
    note("conv_cell." + std::to_string(i), out);
    r0 = r1;
    r1 = ops::relu(out);
    if (contains(broad_cells_, static_cast<int>(i) + 1)) {
      gap.push_back(restricted_convs_gap[tap]->forward_relu_applied(r1, training));
      for (size_t t = 0; t + 1 < gap.size(); ++t) gap[t] = reduction_convs_gap[rg++]->forward(gap[t], training);
    }
    if (contains(broad_cells_, static_cast<int>(i))) {
      en.push_back(restricted_convs_en[tap]->forward_relu_applied(r1, training));
      for (size_t t = 0; t + 1 < en.size(); ++t) en[t] = reduction_convs_en[re++]->forward(en[t], training);
      if (static_cast<int>(i) == broad_cells_.back())
        for (Tensor& gt : gap) gt = reduction_convs_gap[rg++]->forward(gt, training);
      ++tap;
    }
  }
  for (size_t t = 0; t < gap.size(); ++t) note("gap_tap." + std::to_string(t), gap[t]);
  for (size_t t = 0; t < en.size(); ++t) note("en_input." + std::to_string(t), en[t]);

  std::vector<Tensor> head = gap;
  for (size_t j = 0; j < en_cells.size(); ++j) {
    const Tensor out = j == 0 ? en_cells[j]->forward(en[0], en[1], training, drop_prob_, drop_gen_)
                              : en_cells[j]->forward_relu_applied(r0, r1, training, drop_prob_, drop_gen_);
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

}  // namespace bnas::nas
