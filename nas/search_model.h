// SearchModel: what the architect and the search loop need of a supernet (BroadSupernet
// implements it; tests use small ones). Weights and architecture parameters are separate groups
// of leaf tensors, so that optimizers and autograd's chosen-leaf gradients address each alone.
#pragma once
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/rng.h"
#include "engine/tensor.h"
#include "nas/genotype.h"

namespace bnas::nas {

class SearchModel {
 public:
  virtual ~SearchModel() = default;

  // images: N x Cin x H x W on the model's device -> logits N x classes. training = true uses
  // batch statistics in every BN and updates their running statistics; false uses the running
  // statistics (the search's validation accuracy is measured that way).
  virtual Tensor forward(const Tensor& images, bool training) = 0;

  // Network weights (every trainable tensor except alpha/beta), leaves requiring grad, in
  // state_dict order; the same tensors on every call (their storage never changes).
  virtual std::vector<Tensor> weights() const = 0;
  // Architecture parameters: alpha_conv, alpha_enh (14 x 8) and, with edge normalisation,
  // beta_conv, beta_enh (14); leaves requiring grad.
  virtual NamedTensors arch_parameters() const = 0;
  // Weights and BN buffers with the authors' PyTorch module paths (checkpoints).
  virtual NamedTensors state_dict() const = 0;

  // The genotype derived from the current alpha/beta (docs/METHOD.md §5; reads them back to
  // the host: call at log intervals only).
  virtual Genotype genotype() const = 0;

  // Random draws the forward makes (random partial-channel subsets), saved with checkpoints so
  // that a resumed search draws the same subsets.
  virtual Generator& generator() = 0;

  virtual Device device() const = 0;
};

}  // namespace bnas::nas
