// TinySupernet: a small but complete SearchModel for the search tests, built from the same
// search-form candidate operations as the broad supernet (nas/operations.h) but with its own
// unfused cell: each edge runs its eight candidates as modules and sums them with
// ops::weighted_sum, where BroadSupernet's SearchCell runs the fused mixed edge (nas/mixed_op.h).
// Being small and plain, it is what the search's golden test compares with PyTorch.
//
//   stem:        conv 3x3 (Cin -> C, pad 1), BN (affine)                      "stem.0", "stem.1"
//   cells.0:     the convolution cell (alpha_conv, beta_conv), inputs (stem, stem)
//   cells.1:     the enhancement cell (alpha_enh, beta_enh), inputs (stem, cells.0)
//   classifier:  global average pool of cells.1 (4C channels), linear 4C -> classes
// Each cell: preprocess0/1 = ReLUConvBN 1x1 (non-affine) to C channels; 4 nodes over the 14
// stride-1 edges of a DARTS cell; edge i is "_ops.<i>", a MixedOp whose candidate k is
// "_ops.<i>._ops.<k>" (PyTorch module paths of the DARTS/PC-DARTS MixedOp); output = concat of
// the 4 nodes. With K > 1 an edge takes the first C/K channels through the candidates, the rest
// bypass, and the concat is channel-shuffled with K groups (PC-DARTS); with edge normalisation
// node j sums its edges weighted by softmax over its betas. Architecture parameters are drawn
// as 1e-3 * N(0, 1) from the Init stream after the weights.
// tests/reference/make_search_fixtures.py mirrors this model in PyTorch.
#pragma once
#include <memory>
#include <vector>

#include "nas/module.h"
#include "nas/operations.h"
#include "nas/search_model.h"

namespace bnas::nas {

struct TinySupernetOptions {
  int in_channels = 3;
  int channels = 4;  // C: node width
  int classes = 10;
  int pc_k = 1;      // partial-channel proportion K (1: full channels)
  bool edge_norm = false;
  uint64_t seed = 0;
  DType dtype = DType::F32;
  Device device = Device::cpu();
};

class TinySupernet : public SearchModel, public Module {
 public:
  explicit TinySupernet(const TinySupernetOptions& o);
  ~TinySupernet() override;

  Tensor forward(const Tensor& images, bool training) override;
  std::vector<Tensor> weights() const override { return parameters(); }
  NamedTensors arch_parameters() const override;
  NamedTensors state_dict() const override { return Module::state_dict(); }
  Genotype genotype() const override;
  Device device() const override { return opt_.device; }

  const TinySupernetOptions& options() const { return opt_; }

 private:
  class Cell;
  TinySupernetOptions opt_;
  std::unique_ptr<Conv2d> stem_conv_;
  std::unique_ptr<BatchNorm2d> stem_bn_;
  std::unique_ptr<Module> stem_, cells_;
  std::unique_ptr<Cell> cell0_, cell1_;
  std::unique_ptr<Module> classifier_;
  Tensor fc_weight_, fc_bias_;
  Tensor alpha_conv_, alpha_enh_, beta_conv_, beta_enh_;
};

}  // namespace bnas::nas
