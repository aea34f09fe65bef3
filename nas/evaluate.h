// Evaluation pass shared by the search (validation split) and training (test set): one epoch of a
// loader in inference mode, with the loss and correct count summed on the device and read back
// once at the end.
#pragma once
#include <cstdint>
#include <functional>

#include "data/loader.h"
#include "engine/cuda_graph.h"
#include "engine/tensor.h"
#include "nas/batch_buffers.h"

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

// The same pass, kept across passes so that on a GPU each batch shape's evaluation (forward,
// loss and hits added to device sums at fixed addresses) is captured once as a CUDA graph
// (engine/cuda_graph.h) and replayed for every later batch of that shape, in this pass and the
// next: per batch, the loader's work, a copy into fixed buffers and one graph launch. logits_of
// must be capturable (no host upload, no synchronisation). With graph false, or on the CPU, it
// is evaluate().
class Evaluator {
 public:
  Evaluator(std::function<Tensor(const Tensor&)> logits_of, DType dtype, Device device, bool graph);
  LossAccuracy run(data::Loader& loader, int64_t epoch);

 private:
  // Adds the batch's summed loss and hits to the sums: what a graph captures.
  void add_batch(const data::Batch& b);

  std::function<Tensor(const Tensor&)> logits_of_;
  Tensor loss_, correct_;  // [1] device sums
  bool graph_on_;
  StepGraph graph_;
  BatchBuffers input_;
};

}  // namespace bnas::nas
