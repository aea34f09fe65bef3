// Evaluation networks (docs/METHOD.md §4 and §7): the BCNN built from a genotype and trained
// from scratch, after the authors' model_b.py (NetworkCIFAR; NetworkImageNet_b2 for the ImageNet
// stem). Every BN is affine, pooling ops carry no extra BN, and drop-path applies to every
// non-identity op in training when drop_prob > 0.
//
// Layout: the broad structure of nas/broad_structure.h with genotype cells: the genotype's normal
// cell is the convolution cell and its reduce cell the ENHANCEMENT cell. The GAP path taps the
// output of every cell that precedes a broad cell (as model_b.py does: the stem is not tapped);
// the CIFAR stem is 3C wide, the ImageNet stems C.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/rng.h"
#include "nas/broad_structure.h"
#include "nas/cell.h"
#include "nas/genotype.h"
#include "nas/module.h"

namespace bnas::nas {

struct EvalNetworkConfig {
  int C = 48;
  int layers = 6;
  int en_layers = 2;
  int classes = 10;
  int input_channels = 3;  // 1 for MNIST / Fashion-MNIST
  StemKind stem = StemKind::kCifar;
  DType dtype = DType::F32;
  Device device = Device::cpu();
  uint64_t seed = 0;  // weights (RngStream::Init) and drop-path masks (RngStream::DropPath)
};

class EvalNetwork : public BroadStructure {
 public:
  EvalNetwork(const Genotype& genotype, const EvalNetworkConfig& cfg);

  // images: N x input_channels x H x W -> logits N x classes. training: batch statistics in BN
  // and drop-path with the current drop_prob.
  Tensor forward(const Tensor& images, bool training);

  // The drop-path probability (set each epoch, e.g. 0.3 * epoch / epochs).
  void set_drop_prob(double p);
  double drop_prob() const { return drop_prob_; }
  Generator& drop_path_generator() { return drop_gen_; }

  const EvalNetworkConfig& config() const { return cfg_; }
  const Genotype& genotype() const { return genotype_; }

  std::vector<std::unique_ptr<EvalCell>> conv_cells, en_cells;

 private:
  const Genotype genotype_;
  const EvalNetworkConfig cfg_;
  double drop_prob_ = 0.0;
  Generator drop_gen_;
};

}  // namespace bnas::nas
