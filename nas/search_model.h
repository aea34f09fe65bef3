// SearchModel: what the architect and the search loop need of a supernet (BroadSupernet
// implements it; tests use small ones). Weights and architecture parameters are separate groups
// of leaf tensors, so that optimizers and autograd's chosen-leaf gradients address each alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/check.h"
#include "engine/checkpoint.h"
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

  // How many times the forward has drawn random partial-channel subsets (a counter on the
  // model's device, engine/random_subsets.h; 0 for a model that draws none), saved with
  // checkpoints so that a resumed search draws the subsets an uninterrupted one would. Reading it
  // waits for the device: checkpoints only. A model without random draws accepts only 0.
  virtual uint32_t channel_draws() const { return 0; }
  virtual void set_channel_draws(uint32_t n) {
    BNAS_CHECK(n == 0, "this network draws no random channels, but the checkpoint records ", n, " draws");
  }

  virtual Device device() const = 0;
};

}  // namespace bnas::nas
