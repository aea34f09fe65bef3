// Optimizers (SGD, Adam with PyTorch's semantics) and global gradient-norm clipping.
//
// A parameter group is a list of leaf tensors on one device sharing one float dtype (float32 on
// the GPU, float32 or float64 on the CPU). The optimizer allocates a zeroed gradient buffer for
// every parameter that has none, and its state buffers, once at construction; from then on the
// addresses never change (backward() accumulates into grad() in place and zero_grad() zeroes in
// place), so the optimizer builds a chunk table {param, grad, state..., n} once and, on the GPU,
// uploads it once. step() then updates the whole group in one launch (plus a one-thread launch
// that advances the step counter), never waits for the GPU and never copies to or from the host:
// the learning rate and the step count live in device memory, so a step can be captured in a
// CUDA graph and replayed while set_lr() changes the rate between replays.
//
// Gradients are always present (allocated at construction), so every parameter is updated at
// every step, exactly as torch.optim does after zero_grad(set_to_none=False). Gradients
// computed elsewhere (e.g. by autograd's grad()) are copied into grads(), never swapped in with
// set_grad(), which step() detects and refuses.
//
// Checkpoints: state() names the live state tensors ("step", "momentum.<i>", "exp_avg.<i>",
// "exp_avg_sq.<i>"); save_safetensors(path, opt.state()) writes them and load_into(path,
// opt.state()) restores them in place, so training resumes bit-exactly (with the parameters
// restored too, and the learning rate set again from the schedule).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/chunk_table.h"
#include "engine/tensor.h"
#include "kernels/optim_math.h"

namespace bnas {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // One update of every parameter from its gradient. Launches only: never syncs.
  virtual void step() = 0;
  // Zeroes every gradient in place (one launch on the GPU).
  void zero_grad();
  // Writes the learning rate into device memory (a fill launch ordered on the device's stream;
  // a captured graph keeps reading the same memory, so call this between steps or replays).
  void set_lr(double lr);
  double lr() const { return lr_; }                // the last value given to set_lr (host copy)
  const Tensor& lr_tensor() const { return lr_t_; }  // [1], the group's dtype and device
  const Tensor& step_count() const { return step_; }  // [1] int32: the steps taken so far

  // The global L2 norm of the group's gradients, and clipping to max_norm with
  // torch.nn.utils.clip_grad_norm_'s rule (see the free clip_grad_norm below), over the chunk
  // table built at construction: on the GPU three launches, whatever the group's size. Both
  // return the same [1] device tensor, owned by the optimizer and overwritten by the next call
  // (so that a captured step allocates nothing): clone it to keep a value.
  const Tensor& grad_norm();
  const Tensor& clip_grad_norm(double max_norm);

  const std::vector<Tensor>& params() const { return params_; }
  const std::vector<Tensor>& grads() const { return grads_; }
  Device device() const { return params_.front().device(); }
  DType dtype() const { return params_.front().dtype(); }

  // The live state tensors, named for checkpoints.
  virtual NamedTensors state() const = 0;

 protected:
  // Checks the group, allocates missing gradients and `nstates` zeroed state buffers per
  // parameter, and builds (and on the GPU uploads) the chunk table.
  Optimizer(const char* name, std::vector<Tensor> params, double lr, int nstates);
  // Throws when a parameter's gradient was replaced (set_grad) after construction: the chunk
  // table would silently update from the old buffer. A host-side pointer check, no sync.
  void check_grads_unchanged() const;
  template <class T> const kernels::OptimChunk<T>* chunks() const { return table_.chunks<T>(); }
  int64_t chunk_count() const { return table_.count(); }

  const char* name_;
  std::vector<Tensor> params_, grads_;
  std::vector<std::vector<Tensor>> states_;  // states_[k][i]: state k of parameter i
  Tensor lr_t_, step_;

 private:
  double lr_ = 0;
  ChunkTable table_;  // {param, grad, state0, state1}
  Tensor partials_;   // F64 [max(1, chunks)]: per-chunk sums of squares
  Tensor grad_norm_;  // [1]: the last grad_norm() / clip_grad_norm()
};

struct SgdOptions {
  double lr = 0.01;
  double momentum = 0;      // 0: no momentum buffer
  double weight_decay = 0;  // added to the gradient: g + wd * p
};

// torch.optim.SGD with dampening 0 and no Nesterov: d = g + wd p; buf = d on the first step,
// buf = momentum buf + d after; p -= lr buf (p -= lr d without momentum).
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SgdOptions& options);
  void step() override;
  NamedTensors state() const override;  // "step", and "momentum.<i>" when momentum != 0
  const SgdOptions& options() const { return opt_; }
  // The momentum buffers, one per parameter (empty when momentum == 0).
  const std::vector<Tensor>& momentum_buffers() const;

 private:
  SgdOptions opt_;
};

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;  // L2: added to the gradient (torch.optim.Adam, not AdamW)
};

// torch.optim.Adam (amsgrad off): t += 1; g += wd p; m = b1 m + (1 - b1) g;
// v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  void step() override;
  NamedTensors state() const override;  // "step", "exp_avg.<i>", "exp_avg_sq.<i>"
  const AdamOptions& options() const { return opt_; }

 private:
  AdamOptions opt_;
  Tensor scalars_;  // [2] on the device: lr / (1 - b1^t), sqrt(1 - b2^t), written each step
};

// The global L2 norm sqrt(sum_i ||t_i||^2) of tensors on one device sharing a float dtype, as a
// one-element tensor [1] on that device (never read back). Sums of squares are accumulated in
// double, one partial per chunk, then the partials in a fixed order: deterministic, no atomics.
// Needs no upload, so it can be called inside a captured step on fresh tensors.
Tensor global_norm(const std::vector<Tensor>& tensors);

// torch.nn.utils.clip_grad_norm_ over the gradients of `params` (parameters without a gradient
// are skipped): total = global_norm(grads); every gradient is multiplied in place by
// min(1, max_norm / (total + 1e-6)), the factor computed on the device. Returns total (before
// clipping), a [1] tensor on the device; zero when no parameter has a gradient.
Tensor clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace bnas
