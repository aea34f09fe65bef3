// Evaluation pass shared by the search (validation split) and training (test set): one epoch of a
// loader in inference mode, with the loss and correct count summed on the device and read back
// once at the end.
#pragma once
#include <cstdint>
#include <functional>

#include "data/loader.h"
#include "engine/tensor.h"

namespace bnas::nas {

struct LossAccuracy {
  double loss = 0;      // mean plain cross-entropy (no label smoothing)
  double accuracy = 0;  // fraction of arg-max hits
  int64_t count = 0;    // samples seen
};

// Runs logits_of(images) (the network in eval mode: BN running statistics) over epoch `epoch`
// of `loader` (restored to its start) without recording gradients; sums accumulate in `dtype`
// on `device`.
LossAccuracy evaluate(const std::function<Tensor(const Tensor&)>& logits_of, data::Loader& loader,
                      int64_t epoch, DType dtype, Device device);

}  // namespace bnas::nas
