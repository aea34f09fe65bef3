#include "engine/schedule.h"

#include <cmath>

#include "engine/check.h"

namespace bnas {

double cosine_lr(double lr, double lr_min, int epochs, int epoch, int warmup) {
  BNAS_CHECK(epochs > 0, "the cosine schedule needs a positive number of epochs, got ", epochs);
  BNAS_CHECK(epoch >= 0, "the cosine schedule was asked for epoch ", epoch, "; epochs count from 0");
  BNAS_CHECK(warmup >= 0, "the warm-up length must not be negative, got ", warmup);
  if (epoch < warmup) return lr * (epoch + 1) / warmup;
  const double pi = std::acos(-1.0);
  return lr_min + (lr - lr_min) * (1 + std::cos(pi * epoch / epochs)) / 2;
}

double CosineSchedule::at(int epoch) const { return cosine_lr(lr, lr_min, epochs, epoch, warmup); }

}  // namespace bnas
