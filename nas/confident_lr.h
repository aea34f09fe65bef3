// Confident learning rate (docs/METHOD.md §1 and §6): the confidence c(e) = ((e + 1) / E)^p
// grows from ~0 to 1 over the search, so that the architecture parameters move little while
// the weights are still poor (the performance-collapse remedy of BNAS-v2-CLR).
//
// Two ways to apply it:
//  - kScaleArchLr (default; the paper's definition and the reference's first-order code): the
//    architecture optimizer's learning rate is lr_alpha * c(e);
//  - kScaleValLoss (the reference's unrolled code): the validation loss is multiplied by c(e)
//    before differentiation. Under Adam this is NOT equivalent (Adam is nearly invariant to the
//    gradient's scale); offered for exact reproduction only.
#pragma once
#include <string>

namespace bnas::nas {

enum class ClrMode { kScaleArchLr, kScaleValLoss };

const char* clr_mode_name(ClrMode m);           // "arch_lr", "val_loss"
ClrMode parse_clr_mode(const std::string& s);   // throws bnas::Error listing the names

struct ConfidentLr {
  bool enabled = false;
  double power = 2.0;
  ClrMode mode = ClrMode::kScaleArchLr;

  // c(e) = ((e + 1) / epochs)^power for 0-based epoch e; 1 when disabled.
  double confidence(int epoch, int epochs) const;
  // The architecture learning rate of epoch e: base * c(e) in kScaleArchLr mode, else base.
  double arch_lr(double base, int epoch, int epochs) const;
  // The factor on the validation loss: c(e) in kScaleValLoss mode, else 1.
  double val_loss_scale(int epoch, int epochs) const;
};

}  // namespace bnas::nas
