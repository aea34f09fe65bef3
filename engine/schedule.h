// Learning-rate schedules as pure functions of the epoch (0-based), evaluated on the host once
// per epoch and written to the optimizer with Optimizer::set_lr.
#pragma once

namespace bnas {

// Cosine annealing with an optional linear warm-up:
//   epoch < warmup:  lr * (epoch + 1) / warmup
//   otherwise:       lr_min + (lr - lr_min) * (1 + cos(pi * epoch / epochs)) / 2
// The cosine part is torch.optim.lr_scheduler.CosineAnnealingLR's closed form with
// T_max = epochs and eta_min = lr_min, evaluated at the epoch itself: warm-up replaces the
// first `warmup` epochs of the cosine curve rather than shifting it, so with warmup = 0 the
// values are exactly CosineAnnealingLR's (lr at epoch 0, lr_min at epoch == epochs).
struct CosineSchedule {
  double lr = 0.025;     // base rate
  double lr_min = 0;     // eta_min
  int epochs = 50;       // T_max
  int warmup = 0;        // warm-up epochs (0: none)
  double at(int epoch) const;
  double operator()(int epoch) const { return at(epoch); }
};

double cosine_lr(double lr, double lr_min, int epochs, int epoch, int warmup = 0);

}  // namespace bnas
