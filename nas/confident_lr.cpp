#include "nas/confident_lr.h"

#include <cmath>

#include "engine/check.h"

namespace bnas::nas {

const char* clr_mode_name(ClrMode m) { return m == ClrMode::kScaleArchLr ? "arch_lr" : "val_loss"; }

ClrMode parse_clr_mode(const std::string& s) {
  if (s == "arch_lr") return ClrMode::kScaleArchLr;
  if (s == "val_loss") return ClrMode::kScaleValLoss;
  BNAS_FAIL("unknown confident-learning-rate mode '", s, "': use arch_lr or val_loss");
}

double ConfidentLr::confidence(int epoch, int epochs) const {
  if (!enabled) return 1.0;
  BNAS_CHECK(epochs > 0, "the confident learning rate needs a positive number of epochs, got ", epochs);
  BNAS_CHECK(epoch >= 0, "the confident learning rate needs a non-negative epoch, got ", epoch);
  return std::pow(static_cast<double>(epoch + 1) / epochs, power);
}

double ConfidentLr::arch_lr(double base, int epoch, int epochs) const {
  return enabled && mode == ClrMode::kScaleArchLr ? base * confidence(epoch, epochs) : base;
}

double ConfidentLr::val_loss_scale(int epoch, int epochs) const {
  return enabled && mode == ClrMode::kScaleValLoss ? confidence(epoch, epochs) : 1.0;
}

}  // namespace bnas::nas
