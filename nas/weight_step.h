// The weight step of a search and of a training, once: SGD (momentum, weight decay added to the
// gradient) over the network's weights, its learning rate from the cosine schedule of the run
// settings (run_settings.h), and gradient-norm clipping (grad_clip > 0).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "engine/optim.h"
#include "engine/tensor.h"
#include "nas/run_settings.h"

namespace bnas::nas {

class WeightStep {
 public:
  WeightStep(std::vector<Tensor> weights, const RunSettings& settings);

  // Sets the epoch's learning rate from the schedule; returns it.
  double begin_epoch(int epoch);
  // Zeroes the gradients, back-propagates `loss` (1 element) into the weights, lets `reduce`
  // average the gradients over data-parallel ranks (may be empty), clips and steps.
  void step(const Tensor& loss, const std::function<void(const std::vector<Tensor>& grads)>& reduce = {});

  SGD& optimizer() { return *opt_; }
  const SGD& optimizer() const { return *opt_; }
  const std::vector<Tensor>& weights() const { return weights_; }

 private:
  std::vector<Tensor> weights_;
  double lr_, lr_min_, grad_clip_;
  int epochs_, warmup_epochs_;
  std::unique_ptr<SGD> opt_;
};

}  // namespace bnas::nas
