// The broad structure shared by the search supernet and the evaluation network (see
// broad_structure.h): its building blocks (linear head, stems), and the one construction and
// forward of the stem, the convolution cells, the GAP and enhancement paths and the head.
#include "nas/broad_structure.h"

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

// ---- the structure ----------------------------------------------------------------------------

bool BroadStructure::broad(int cell) const {
  return std::find(broad_cells_.begin(), broad_cells_.end(), cell) != broad_cells_.end();
}

void BroadStructure::build(const BroadLayout& l, const MakeCell& make_cell) {
  BNAS_CHECK(l.C > 0 && l.en_layers >= 1 && l.classes > 0 && l.input_channels > 0,
             "invalid broad network configuration: C ", l.C, ", en_layers ", l.en_layers, ", classes ", l.classes,
             ", input channels ", l.input_channels);
  broad_cells_ = broad_cell_indices(l.layers);
  gap_taps_ = l.gap_taps;
  conv_count_ = l.layers;
  en_count_ = l.en_layers;
  Generator wgen(l.seed, RngStream::Init);
  ParamOptions o;
  o.gen = &wgen;
  o.dtype = l.dtype;
  o.device = l.device;

  bool reduction_prev = false;
  if (l.stem == StemKind::kCifar) {
    stem = std::make_unique<CifarStem>(l.input_channels, l.stem_channels, o);
  } else {
    stem = std::make_unique<ImageNetStem0>(l.input_channels, l.stem_channels, o);
    stem1 = std::make_unique<ImageNetStem1>(l.stem_channels, o);
    reduction_prev = true;  // stem1 halved the resolution of stem0's output (s0)
  }
  // A new input of a broad path: a ReLUConvBN from c_in to c_out channels, and one more
  // FactorizedReduce for each earlier input (they follow the resolution down).
  auto add_path_input = [&](std::vector<std::unique_ptr<ReLUConvBN>>& restricted,
                            std::vector<std::unique_ptr<FactorizedReduce>>& reductions, std::vector<int>& widths,
                            int c_in, int c_out) {
    restricted.push_back(std::make_unique<ReLUConvBN>(c_in, c_out, 1, 1, 0, true, o));
    widths.push_back(c_out);
    for (size_t t = 0; t + 1 < widths.size(); ++t)
      reductions.push_back(std::make_unique<FactorizedReduce>(widths[t], widths[t], true, o));
  };
  std::vector<Module*> conv_cells, en_cells;
  int cpp = l.stem_channels, cp = l.stem_channels, c = l.C;
  std::vector<int> gap_ch, en_ch;
  for (int i = 0; i < l.layers; ++i) {
    const bool is_broad = broad(i);
    if (is_broad && l.gap_taps == GapTaps::kBroadCellInputs)
      add_path_input(restricted_convs_gap, reduction_convs_gap, gap_ch, cp, c);
    if (is_broad) c *= 2;
    const MadeCell made = make_cell({CellKind::kConvolution, cpp, cp, c, is_broad, reduction_prev}, o);
    conv_cells.push_back(made.cell);
    reduction_prev = is_broad;
    cpp = cp;
    cp = made.out_channels;
    if (l.gap_taps == GapTaps::kOutputsBeforeBroadCells && broad(i + 1))
      add_path_input(restricted_convs_gap, reduction_convs_gap, gap_ch, cp, c);
    if (is_broad) add_path_input(restricted_convs_en, reduction_convs_en, en_ch, cp, i == broad_cells_.back() ? cp : c);
    if (i + 1 == l.layers)
      for (int g : gap_ch) reduction_convs_gap.push_back(std::make_unique<FactorizedReduce>(g, g, true, o));
  }
  for (int j = 0; j < l.en_layers; ++j) {
    const MadeCell made = make_cell({CellKind::kEnhancement, j == 0 ? en_ch[0] : cpp, cp, c, false, false}, o);
    en_cells.push_back(made.cell);
    cpp = cp;
    cp = made.out_channels;
    restricted_ens_gap.push_back(std::make_unique<ReLUConvBN>(cp, j + 1 == l.en_layers ? cp : c, 1, 1, 0, true, o));
  }
  final_channels_ = std::accumulate(gap_ch.begin(), gap_ch.end(), 0) + (l.en_layers - 1) * c + cp;
  classifier = std::make_unique<Linear>(final_channels_, l.classes, o);

  // Registration in the authors' attribute order (their state_dict order).
  if (stem1) {
    register_module("stem0", stem.get());
    register_module("stem1", stem1.get());
  } else {
    register_module("stem", stem.get());
  }
  auto reg = [this](const std::string& list, const auto& mods) {
    for (size_t i = 0; i < mods.size(); ++i) register_module(list + "." + std::to_string(i), &*mods[i]);
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

Tensor BroadStructure::forward_structure(const Tensor& images, bool training, const RunCell& run_cell) {
  auto note = [this](const std::string& name, const Tensor& t) {
    if (trace) trace(name, t);
  };
  // The forward carries r0, r1 = relu(s0), relu(s1): every consumer of a state (cell
  // preprocessing, knowledge convs, stem1) starts with a ReLU, computed (and kept for backward)
  // once.
  Tensor r0, r1;
  if (stem1) {
    const Tensor s0 = stem->forward(images, training);
    note("stem0", s0);
    r0 = ops::relu(s0);
    const Tensor s1 = stem1->forward_relu_applied(r0, training);
    note("stem1", s1);
    r1 = ops::relu(s1);
  } else {
    const Tensor s = stem->forward(images, training);
    note("stem", s);
    r0 = r1 = ops::relu(s);
  }
  // A new input of a broad path from the state relu_x, and the earlier inputs one resolution
  // step down (next_reduction walks the path's FactorizedReduces in creation order).
  auto take_path_input = [training](std::vector<Tensor>& path, ReLUConvBN& restricted,
                                    const std::vector<std::unique_ptr<FactorizedReduce>>& reductions,
                                    size_t& next_reduction, const Tensor& relu_x) {
    path.push_back(restricted.forward_relu_applied(relu_x, training));
    for (size_t t = 0; t + 1 < path.size(); ++t) path[t] = reductions[next_reduction++]->forward(path[t], training);
  };
  std::vector<Tensor> gap, en;
  size_t rg = 0, re = 0;
  for (int i = 0; i < conv_count_; ++i) {
    const bool is_broad = broad(i);
    if (is_broad && gap_taps_ == GapTaps::kBroadCellInputs)
      take_path_input(gap, *restricted_convs_gap[gap.size()], reduction_convs_gap, rg, r1);
    const Tensor out = run_cell(CellKind::kConvolution, static_cast<size_t>(i), r0, r1);
    note("conv_cell." + std::to_string(i), out);
    r0 = r1;
    r1 = ops::relu(out);
    if (gap_taps_ == GapTaps::kOutputsBeforeBroadCells && broad(i + 1))
      take_path_input(gap, *restricted_convs_gap[gap.size()], reduction_convs_gap, rg, r1);
    if (is_broad) take_path_input(en, *restricted_convs_en[en.size()], reduction_convs_en, re, r1);
    if (i + 1 == conv_count_)
      for (Tensor& g : gap) g = reduction_convs_gap[rg++]->forward(g, training);
  }
  for (size_t t = 0; t < gap.size(); ++t) note("gap_tap." + std::to_string(t), gap[t]);
  for (size_t t = 0; t < en.size(); ++t) note("en_input." + std::to_string(t), en[t]);

  std::vector<Tensor> head = gap;
  for (int j = 0; j < en_count_; ++j) {
    const size_t jj = static_cast<size_t>(j);
    const Tensor out = j == 0 ? run_cell(CellKind::kEnhancement, jj, ops::relu(en[0]), ops::relu(en[1]))
                              : run_cell(CellKind::kEnhancement, jj, r0, r1);
    note("en_cell." + std::to_string(j), out);
    r0 = r1;
    r1 = ops::relu(out);
    head.push_back(restricted_ens_gap[jj]->forward_relu_applied(r1, training));
    note("en_output." + std::to_string(j), head.back());
  }
  const Tensor cat = ops::concat_channels(head);
  note("concat", cat);
  Tensor logits = classifier->forward(ops::global_avg_pool(cat));
  note("logits", logits);
  return logits;
}

}  // namespace bnas::nas
