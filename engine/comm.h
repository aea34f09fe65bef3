// Communicator: how data-parallel ranks agree (docs/DESIGN.md rule 8). The search loop averages
// its gradients through all_reduce_mean at one place in the step (Search::reduce_gradients), and
// broadcasts the initial state (weights, alpha/beta, BN buffers) from rank 0 at start, so every
// rank holds the same model; the training of evaluation networks takes no communicator yet.
// Calls are to be enqueued on the tensors' device stream and never wait for the GPU (an NCCL
// implementation would enqueue ncclAllReduce/ncclBroadcast on the engine stream), so a step
// stays capturable.
//
// LocalCommunicator is the single-rank, in-process implementation: every call is a no-op (the
// mean over one rank is the tensor itself), and the only one so far: no NCCL communicator is
// written yet (BNAS_WITH_NCCL only links NCCL). Tests of the loop's call sites use a recording
// fake.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace bnas {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Replaces every tensor, in place, by its mean over the ranks (same shapes and order on every
  // rank; contiguous tensors on one device sharing a float dtype).
  virtual void all_reduce_mean(const std::vector<Tensor>& tensors) = 0;
  // Copies every tensor of rank `root` into the same tensor of the other ranks, in place.
  virtual void broadcast(const std::vector<Tensor>& tensors, int root = 0) = 0;
};

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  void all_reduce_mean(const std::vector<Tensor>&) override {}
  void broadcast(const std::vector<Tensor>&, int) override {}
};

}  // namespace bnas
