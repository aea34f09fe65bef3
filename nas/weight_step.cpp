// The shared weight step (weight_step.h).
#include "nas/weight_step.h"

#include "engine/autograd.h"
#include "engine/schedule.h"

namespace bnas::nas {

WeightStep::WeightStep(std::vector<Tensor> weights, const RunSettings& s)
    : weights_(std::move(weights)),
      lr_(s.lr),
      lr_min_(s.lr_min),
      grad_clip_(s.grad_clip),
      epochs_(s.epochs),
      warmup_epochs_(s.warmup_epochs) {
  SgdOptions so;
  so.lr = s.lr;
  so.momentum = s.momentum;
  so.weight_decay = s.weight_decay;
  opt_ = std::make_unique<SGD>(weights_, so);
}

double WeightStep::begin_epoch(int epoch) {
  const double lr = CosineSchedule{lr_, lr_min_, epochs_, warmup_epochs_}.at(epoch);
  opt_->set_lr(lr);
  return lr;
}

void WeightStep::step(const Tensor& loss, const std::function<void(const std::vector<Tensor>&)>& reduce) {
  opt_->zero_grad();
  backward(loss, weights_);
  if (reduce) reduce(opt_->grads());
  if (grad_clip_ > 0) opt_->clip_grad_norm(grad_clip_);
  opt_->step();
}

}  // namespace bnas::nas
