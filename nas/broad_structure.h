// The broad (BCNN) structure of docs/METHOD.md §4, shared by the search supernet
// (nas/broad_network.h, after the authors' model_search_b.py) and the evaluation network
// (nas/eval_network.h, after model_b.py): the stem, the convolution cells in 2 blocks with the
// broad cells at (p + 1) * (layers / 2) - 1, the GAP path, the enhancement path and cells, and
// the head, built, registered and run here once. A network supplies its cells through two
// callbacks (search cells with alpha/beta and channel selection, or genotype cells with
// drop-path) and says where the authors' two models differ: the width of the ImageNet stem and
// which states the GAP path taps.
//
//   stem (CIFAR: conv 3x3, BN; ImageNet: stem0 = conv s2, BN, ReLU, conv s2, BN and
//         stem1 = ReLU, conv s2, BN, the first cell's preprocess0 then being a FactorizedReduce)
//   GAP path:  each tapped state -> restricted_convs_gap (ReLUConvBN 1x1 to the node width of
//              the cell that made it) -> one FactorizedReduce per later reduction
//              (reduction_convs_gap, in the authors' creation order)
//   conv_cells (broad cells reduce and double the node width)
//   enhancement path: the OUTPUT of each broad cell -> restricted_convs_en (ReLUConvBN 1x1 to the
//              node width, the last keeping its full width) -> FactorizedReduce per later
//              reduction (reduction_convs_en)
//   en_cells (stride 1): the first on (en input 0, en input 1), later ones on (previous s1, new
//              output); each output -> restricted_ens_gap (ReLUConvBN 1x1 to the node width,
//              the last keeping its full width)
//   head: concat(GAP taps, enhancement outputs) -> global average pool -> classifier (linear)
//
// Module names and the state_dict order are the authors' (stem, conv_cells, en_cells,
// reduction_convs_gap, reduction_convs_en, restricted_convs_gap, restricted_convs_en,
// restricted_ens_gap, classifier), so a checkpoint loads into their networks with
// load_state_dict (plus num_batches_tracked for PyTorch >= 0.4.1). Weights are drawn from
// Generator(seed, RngStream::Init) in the authors' creation order.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "nas/module.h"
#include "nas/operations.h"

namespace bnas::nas {

enum class StemKind { kCifar, kImageNet };

// The CIFAR stem is 3C wide in both networks (the supernet's ImageNet stems too).
constexpr int kStemMultiplier = 3;

// nn.Linear(in, out) with bias; PyTorch's default init U(-1/sqrt(in), 1/sqrt(in)) for both.
class Linear : public Module {
 public:
  Linear(int in, int out, const ParamOptions& o);
  Tensor forward(const Tensor& x) const;
  Tensor weight, bias;
};

// The CIFAR stem: nn.Sequential(Conv2d(cin, cout, 3, padding=1), BatchNorm2d(cout)).
class CifarStem : public Op {
 public:
  CifarStem(int cin, int cout, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  std::unique_ptr<Conv2d> conv;
  std::unique_ptr<BatchNorm2d> bn;
};

// ImageNet stem0: Conv2d(cin, cout/2, 3, s2, p1), BN, ReLU, Conv2d(cout/2, cout, 3, s2, p1), BN
// (names 0, 1, 3, 4).
class ImageNetStem0 : public Op {
 public:
  ImageNetStem0(int cin, int cout, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  std::unique_ptr<Conv2d> conv1, conv2;
  std::unique_ptr<BatchNorm2d> bn1, bn2;
};

// ImageNet stem1: ReLU, Conv2d(c, c, 3, s2, p1), BN (names 1, 2).
class ImageNetStem1 : public Op {
 public:
  ImageNetStem1(int c, const ParamOptions& o);
  Tensor forward(const Tensor& x, bool training) override;
  Tensor forward_relu_applied(const Tensor& relu_x, bool training);
  std::unique_ptr<Conv2d> conv;
  std::unique_ptr<BatchNorm2d> bn;
};

// Called with (name, tensor) for every intermediate docs/METHOD.md §4 lists: "stem" (ImageNet:
// "stem0", "stem1"), "conv_cell.<i>", "gap_tap.<t>" (final, reduced), "en_input.<t>" (final),
// "en_cell.<j>", "en_output.<j>", "concat", "logits".
using ShapeTrace = std::function<void(const std::string&, const Tensor&)>;

// Broad-cell indices of `layers` convolution cells in 2 blocks: (p + 1) * (layers / 2) - 1.
std::vector<int> broad_cell_indices(int layers);

// Which states the GAP path taps (the one place where the authors' two networks are wired
// differently; with layers >= 4 both tap the same states).
enum class GapTaps {
  // model_search_b.py: the input of every broad cell (the stem too when cell 0 is broad, i.e.
  // layers = 2), its ReLUConvBN made just before the cell.
  kBroadCellInputs,
  // model_b.py: the output of every cell that precedes a broad cell (never the stem), its
  // ReLUConvBN made just after that cell.
  kOutputsBeforeBroadCells,
};

struct BroadLayout {
  int C;               // initial node width
  int layers;          // convolution cells (even)
  int en_layers;       // enhancement cells
  int classes;
  int input_channels;
  StemKind stem;
  int stem_channels;   // output width of the stem (of stem0 and stem1 for ImageNet)
  GapTaps gap_taps;
  DType dtype;
  Device device;
  uint64_t seed;       // the weights' Generator(seed, RngStream::Init)
};

// The layout of a network config (SupernetConfig and EvalNetworkConfig name these fields alike).
template <class Config>
BroadLayout broad_layout(const Config& c, int stem_channels, GapTaps gap_taps) {
  return {c.C, c.layers, c.en_layers, c.classes, c.input_channels, c.stem, stem_channels, gap_taps,
          c.dtype, c.device, c.seed};
}

enum class CellKind { kConvolution, kEnhancement };

// Where a cell sits: its input widths (s0, s1), node width, and whether it (or the cell before
// it) halves the resolution.
struct CellPlace {
  CellKind kind;
  int c_prev_prev, c_prev, c;
  bool reduction, reduction_prev;
};

class BroadStructure : public Module {
 public:
  // Channel count of the head's concat (304 for the CIFAR search network at C = 16).
  int final_channels() const { return final_channels_; }

  ShapeTrace trace;  // optional

  std::unique_ptr<Op> stem;                // stem0 for the ImageNet stem
  std::unique_ptr<ImageNetStem1> stem1;    // only for the ImageNet stem
  std::vector<std::unique_ptr<FactorizedReduce>> reduction_convs_gap, reduction_convs_en;
  std::vector<std::unique_ptr<ReLUConvBN>> restricted_convs_gap, restricted_convs_en, restricted_ens_gap;
  std::unique_ptr<Linear> classifier;

 protected:
  // A cell the network made and keeps, with its output width (4c for 4 concatenated nodes).
  struct MadeCell {
    Module* cell;
    int out_channels;
  };
  // Makes (and keeps) the next cell of its kind; called in creation order.
  using MakeCell = std::function<MadeCell(const CellPlace&, const ParamOptions&)>;
  // Runs cell `index` of `kind` on relu(s0), relu(s1) (every consumer of a state starts with a
  // ReLU, so the structure computes each state's ReLU once) and returns its output.
  using RunCell = std::function<Tensor(CellKind kind, size_t index, const Tensor& relu_s0, const Tensor& relu_s1)>;

  // Builds the whole structure and registers it; call once, from the network's constructor.
  void build(const BroadLayout& layout, const MakeCell& make_cell);
  // images: N x input_channels x H x W -> logits N x classes.
  Tensor forward_structure(const Tensor& images, bool training, const RunCell& run_cell);

 private:
  bool broad(int cell) const;

  GapTaps gap_taps_ = GapTaps::kBroadCellInputs;
  std::vector<int> broad_cells_;
  int conv_count_ = 0, en_count_ = 0;
  int final_channels_ = 0;
};

}  // namespace bnas::nas
