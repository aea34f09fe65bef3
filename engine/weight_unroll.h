// WeightUnroll: the in-place moves of the weights that DARTS's second-order architecture step
// makes (nas/architect.h), each one launch over the whole weight group, whatever its size (a
// chunk table built once, engine/chunk_table.h; the per-element math is kernels/optim_math.h's
// unroll_element, shared by the CPU and CUDA kernels). With w the SGD's parameters, g its
// gradient buffers, m its momentum buffers, xi its learning rate (read on the device) and mu,
// lambda its momentum and weight decay:
//   virtual_step():     backup = w;  w = w - xi (mu m + (g + lambda w))
//   perturb(norm, a):   w = backup + (a / norm) g     (nothing added when norm == 0)
//   restore():          w = backup
//   save_buffers() / restore_buffers(): the same copy for the other state of the model (BN
//                       running statistics), which the forward at the virtual weights changes.
// The backups are allocated once, at construction, and no move reads a host value that changes
// between steps, syncs or allocates, so the moves can be captured in a CUDA graph.
#pragma once
#include <vector>

#include "engine/chunk_table.h"
#include "engine/optim.h"

namespace bnas {

class WeightUnroll {
 public:
  // buffers: float tensors of the model other than the weights, saved and restored around the
  // virtual step's forwards (may be empty); on the SGD's device.
  WeightUnroll(const SGD& sgd, const std::vector<Tensor>& buffers);

  void virtual_step();
  void perturb(const Tensor& norm, double alpha);  // norm: [1] on the device
  void restore();
  void save_buffers();
  void restore_buffers();

 private:
  void move(const ChunkTable& table, kernels::UnrollMove m, const Tensor* scalar, double alpha);

  const SGD& sgd_;
  std::vector<Tensor> w_backup_, buf_backup_;
  ChunkTable weights_;  // {w, g, m or none, backup}
  ChunkTable buffers_;  // {buffer, none, none, backup}; empty (count 0) without buffers
};

}  // namespace bnas
