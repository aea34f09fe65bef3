// The BCNN search network (BNAS-V2.md section 4), after the authors' model_search_b.py /
// model_search_imagenet_b.py (BNASv2PC, BNASv2CLR), generalised to `layers` convolution cells in
// 2 convolution blocks (broad cells at (p + 1) * (layers / 2) - 1; with layers = 2, the search
// setting, both cells are broad cells, exactly the authors' network).
//
//   stem (CIFAR: conv 3x3 -> 3C, BN; ImageNet: stem0 = conv s2, BN, ReLU, conv s2, BN and
//         stem1 = ReLU, conv s2, BN, the first cell's preprocess0 then being a FactorizedReduce)
//   GAP path:  the INPUT of each broad cell -> restricted_convs_gap (ReLUConvBN 1x1 to the node
//              width before the cell) -> one FactorizedReduce per later reduction
//              (reduction_convs_gap, in the authors' creation order)
//   conv_cells (search cells using alpha_conv / beta_conv; broad cells reduce and double the
//              node width)
//   enhancement path: the OUTPUT of each broad cell -> restricted_convs_en (ReLUConvBN 1x1 to the
//              node width, the last keeping 4x) -> FactorizedReduce per later reduction
//              (reduction_convs_en)
//   en_cells (stride 1, alpha_enh / beta_enh): the first on (en input 0, en input 1), later
//              ones on (previous s1, new output); each output -> restricted_ens_gap (ReLUConvBN
//              1x1 to the node width, the last keeping 4x)
//   head: concat(GAP taps, enhancement outputs) -> global average pool -> classifier (linear)
//
// Module names and the state_dict order are the authors' (stem, conv_cells, en_cells,
// reduction_convs_gap, reduction_convs_en, restricted_convs_gap, restricted_convs_en,
// restricted_ens_gap, classifier), e.g. conv_cells.0._ops.3._ops.4.op.1.weight, so a checkpoint
// loads into their Network with load_state_dict (plus num_batches_tracked for PyTorch >= 0.4.1).
// Architecture parameters (alpha_conv = their alphas_normal, alpha_enh = alphas_reduce,
// beta_conv = betas_normal, beta_enh = betas_reduce) are kept out of the module tree.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/rng.h"
#include "nas/cell.h"
#include "nas/module.h"
#include "nas/operations.h"
#include "nas/search_model.h"

namespace bnas::nas {

enum class StemKind { kCifar, kImageNet };

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

// Called with (name, tensor) for every intermediate the BNAS-V2.md tables list: "stem" (ImageNet:
// "stem0", "stem1"), "conv_cell.<i>", "gap_tap.<t>" (final, reduced), "en_input.<t>" (final),
// "en_cell.<j>", "en_output.<j>", "concat", "logits".
using ShapeTrace = std::function<void(const std::string&, const Tensor&)>;

struct SupernetConfig {
  int C = 16;            // initial node width
  int layers = 2;        // convolution cells (even; 2 = the search setting)
  int en_layers = 1;     // enhancement cells
  int k = 4;             // partial-channel proportion K (1: full channels)
  bool edge_norm = true; // edge normalisation (beta)
  ChannelSelection selection = ChannelSelection::kFixed;
  int classes = 10;
  int input_channels = 3;
  int input_size = 32;   // input height = width (checked in forward)
  StemKind stem = StemKind::kCifar;
  DType dtype = DType::F32;
  Device device = Device::cpu();
  uint64_t seed = 0;

  // BNAS-v2-PC on CIFAR (K = 4, EN) and the full-channel BNAS-D / BNAS-v2-CLR network.
  static SupernetConfig pc_cifar();
  static SupernetConfig full_cifar();
  // The ImageNet search network: 224x224, two stride-2 stems, K = 2, EN.
  static SupernetConfig pc_imagenet();
};

class BroadSupernet : public Module, public SearchModel {
 public:
  explicit BroadSupernet(const SupernetConfig& cfg);

  Tensor forward(const Tensor& images, bool training) override;
  std::vector<Tensor> weights() const override;
  NamedTensors arch_parameters() const override;
  NamedTensors state_dict() const override { return Module::state_dict(); }
  Genotype genotype() const override;
  Generator& generator() override { return channel_gen_; }
  Device device() const override { return cfg_.device; }

  const SupernetConfig& config() const { return cfg_; }
  // Channel count of the head's concat (304 for the CIFAR search network at C = 16).
  int final_channels() const { return final_channels_; }

  Tensor alpha_conv, alpha_enh;  // kCellEdges x kNumPrimitives
  Tensor beta_conv, beta_enh;    // kCellEdges (defined only with edge normalisation)

  ShapeTrace trace;  // optional

  std::unique_ptr<Op> stem, stem1;  // stem1 only for the ImageNet stem (stem is then stem0)
  std::vector<std::unique_ptr<SearchCell>> conv_cells, en_cells;
  std::vector<std::unique_ptr<FactorizedReduce>> reduction_convs_gap, reduction_convs_en;
  std::vector<std::unique_ptr<ReLUConvBN>> restricted_convs_gap, restricted_convs_en, restricted_ens_gap;
  std::unique_ptr<Linear> classifier;

 private:
  const SupernetConfig cfg_;
  std::vector<int> broad_cells_;
  int final_channels_ = 0;
  Generator channel_gen_;
};

// Broad-cell indices of `layers` convolution cells in 2 blocks: (p + 1) * (layers / 2) - 1.
std::vector<int> broad_cell_indices(int layers);

}  // namespace bnas::nas
