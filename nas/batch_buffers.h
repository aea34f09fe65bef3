// Fixed device buffers for the batches of a step captured as a CUDA graph (engine/cuda_graph.h):
// a graph reads the addresses it was captured with, so each new batch is copied into the same
// buffers before the graph runs (the search step, nas/search.h; the evaluation pass,
// nas/evaluate.h).
#pragma once
#include "data/loader.h"
#include "engine/cuda_graph.h"

namespace bnas::nas {

class BatchBuffers {
 public:
  // Copies b into the buffers (cudaMemcpyAsync on a GPU, not a kernel, so that a replayed step
  // launches nothing but its graph) and returns the view that holds it: the front b.size(0)
  // samples of the buffers, at their addresses. A smaller batch (an epoch's last one) fits; a
  // larger one, or one of another sample shape or dtype, reallocates the buffers and then clears
  // `graphs`, whose graphs read the old ones.
  data::Batch stage(const data::Batch& b, StepGraph& graphs);

 private:
  data::Batch buf_;  // images [capacity, C, H, W], labels [capacity]
};

}  // namespace bnas::nas
