// Architect: the architecture step of BNAS-v2's bilevel search (docs/METHOD.md §6), Adam on
// alpha/beta (betas 0.5, 0.999, eps 1e-8, L2 weight decay 1e-3).
//
// First order: the gradient of L_val(w, alpha) with respect to the architecture parameters only
// (autograd evaluates no weight gradient).
//
// Second order (unrolled, DARTS): with xi the current weight learning rate, m the weight SGD's
// momentum buffer, mu its momentum and lambda its weight decay,
//   w' = w - xi (mu m + grad_w L_train(w, alpha) + lambda w)
//   v  = grad_w' L_val(w', alpha),   eps = r / ||v||  (r = 0.01),   w+- = w +- eps v
//   g  = grad_alpha L_val(w', alpha) - xi (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-, alpha)) / (2 eps)
// The model is not copied: its weight tensors are overwritten in place (w', then w+, then w-)
// from one backup of w taken at the start of the step, and restored from it at the end, each
// move one launch over all weights (engine/weight_unroll.h); g and v are accumulated into the
// weight optimizer's gradient buffers, so they need no per-tensor copy either. BN
// running statistics are backed up around the forward at w' (the reference evaluates w' on a
// copy of the model, whose statistics it discards; its other forwards update the model's own).
// Nothing waits for the device: ||v|| is a device scalar (the weight optimizer's grad_norm), and
// eps enters through WeightUnroll::perturb and ops::add_scaled_ (1 / eps = ||v|| / r), so the step
// stays graph-capturable.
// The finite-difference quotient uses the ORIGINAL w (as DARTS does), not w'.
//
// Confident learning rate: the caller sets the rate (ConfidentLr::arch_lr) with set_lr each
// epoch; in the reference's unrolled mode (ArchitectOptions::scale_val_loss) it sets
// set_val_loss_scale(c(e)) instead, which multiplies L_val before differentiation (in both
// orders).
//
// Like the weight rate xi (the weight optimizer's device learning rate), the scale is a device
// scalar written between steps, and every tensor that outlives a step (gradients, backups, the
// last validation loss) is allocated once at construction: the step reads no host value that
// changes between steps and allocates nothing that outlives it, so it can be captured into a
// CUDA graph once and replayed across epochs (engine/cuda_graph.h).
//
// The step is split in two so that a data-parallel search can average the architecture
// gradient between them: compute_gradient() fills optimizer().grads(); apply() clips (optional)
// and steps Adam.
#pragma once
#include <memory>
#include <vector>

#include "data/loader.h"
#include "engine/optim.h"
#include "engine/weight_unroll.h"
#include "nas/search_model.h"

namespace bnas::nas {

struct ArchitectOptions {
  double lr = 3e-4;
  double beta1 = 0.5, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 1e-3;
  bool unrolled = false;   // second order
  double grad_clip = 0;    // clip the architecture gradient's global norm (0: off)
  double fd_radius = 0.01; // r in eps = r / ||v||
  bool scale_val_loss = false;  // multiply L_val by set_val_loss_scale's value (CLR's val_loss mode)
};

class Architect {
 public:
  // weight_optimizer: the SGD over model.weights() (same tensors, same order); its learning rate
  // (read on the device) is xi, and its momentum, weight decay and momentum buffers define the
  // virtual step; its gradient buffers are overwritten (the weight step zeroes them before its
  // backward). Needed only when unrolled.
  Architect(SearchModel& model, const ArchitectOptions& options, SGD* weight_optimizer = nullptr);

  // Fills optimizer().grads() with the architecture gradient for this pair of batches.
  void compute_gradient(const data::Batch& train, const data::Batch& valid);
  // Optional gradient clipping, then one Adam step.
  void apply();
  void step(const data::Batch& train, const data::Batch& valid) {
    compute_gradient(train, valid);
    apply();
  }

  void set_lr(double lr) { opt_->set_lr(lr); }
  // The factor of L_val (a fill launch into device memory, like set_lr); scale_val_loss only.
  void set_val_loss_scale(double scale);
  Adam& optimizer() { return *opt_; }
  const Adam& optimizer() const { return *opt_; }
  const std::vector<Tensor>& arch_tensors() const { return arch_; }
  const ArchitectOptions& options() const { return options_; }
  // The (unscaled) validation loss of the last compute_gradient, a [1] device tensor allocated
  // once (overwritten by the next call): at w for first order, at w' for second order.
  const Tensor& last_val_loss() const { return last_val_loss_; }

 private:
  Tensor loss(const data::Batch& b);
  // The validation loss: kept in last_val_loss_, and scaled when scale_val_loss.
  Tensor val_loss(const data::Batch& valid);
  void first_order(const data::Batch& valid);
  void unrolled(const data::Batch& train, const data::Batch& valid);

  SearchModel& model_;
  ArchitectOptions options_;
  SGD* wopt_;
  std::vector<Tensor> arch_, weights_;
  std::unique_ptr<WeightUnroll> unroll_;  // second order only
  std::unique_ptr<Adam> opt_;
  Tensor last_val_loss_, val_loss_scale_;  // [1] each, allocated once
};

}  // namespace bnas::nas
