// The BCNN search network (docs/METHOD.md §4), after the authors' model_search_b.py /
// model_search_imagenet_b.py (BNASv2PC, BNASv2CLR): the broad structure of
// nas/broad_structure.h with search cells (alpha_conv / beta_conv in the convolution cells,
// alpha_enh / beta_enh in the enhancement cells), stems 3C wide, and the GAP path tapping the
// input of every broad cell (with layers = 2, the search setting, both cells are broad cells,
// exactly the authors' network).
//
// Module names are the authors', e.g. conv_cells.0._ops.3._ops.4.op.1.weight. Architecture
// parameters (alpha_conv = their alphas_normal, alpha_enh = alphas_reduce, beta_conv =
// betas_normal, beta_enh = betas_reduce) are kept out of the module tree.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/random_subsets.h"
#include "nas/broad_structure.h"
#include "nas/cell.h"
#include "nas/search_model.h"

namespace bnas::nas {

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

class BroadSupernet : public BroadStructure, public SearchModel {
 public:
  explicit BroadSupernet(const SupernetConfig& cfg);

  Tensor forward(const Tensor& images, bool training) override;
  std::vector<Tensor> weights() const override;
  NamedTensors arch_parameters() const override;
  NamedTensors state_dict() const override { return Module::state_dict(); }
  Genotype genotype() const override;
  uint32_t channel_draws() const override;
  void set_channel_draws(uint32_t n) override;
  Device device() const override { return cfg_.device; }

  const SupernetConfig& config() const { return cfg_; }

  Tensor alpha_conv, alpha_enh;  // kCellEdges x kNumPrimitives
  Tensor beta_conv, beta_enh;    // kCellEdges (defined only with edge normalisation)

  std::vector<std::unique_ptr<SearchCell>> conv_cells, en_cells;

 private:
  const SupernetConfig cfg_;
  // Random channel selection with k > 1 (else null): one row per edge, the convolution cells'
  // edges first, then the enhancement cells', kCellEdges per cell; one draw per forward.
  std::unique_ptr<RandomSubsets> channels_;
};

}  // namespace bnas::nas
