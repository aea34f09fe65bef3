// Module: a node of the model tree holding named tensors, after torch.nn.Module.
//
// Names are the authors' PyTorch module paths, so that a checkpoint written from
// state_dict() loads into their model with load_state_dict (issue 4): a SepConv's first
// depthwise weight is "op.1.weight", a search-form pooling op's BN is "1.running_mean", and a
// parent prefixes its children ("_ops.4.op.1.weight"). Orders follow PyTorch too:
// named_parameters() lists a module's own parameters, then its children's in registration order;
// state_dict() lists own parameters, own buffers, then children. (PyTorch >= 0.4.1 also keeps an
// int64 num_batches_tracked buffer per BN, which the engine does not use; an exporter for
// load_state_dict(strict=True) adds it.)
//
// Modules register pointers to their own member tensors and children, so a module is neither
// copyable nor movable: hold it by unique_ptr.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/checkpoint.h"
#include "engine/device.h"
#include "engine/dtype.h"
#include "engine/rng.h"
#include "engine/tensor.h"

namespace bnas::nas {

// Where and how parameters are created. `gen` draws the initial weights (PyTorch's default
// initialisers: conv/linear weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), BN weight 1, bias 0).
struct ParamOptions {
  Generator* gen = nullptr;
  DType dtype = DType::F32;
  Device device = Device::cpu();
};

class Module {
 public:
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;
  virtual ~Module() = default;

  NamedTensors named_parameters() const;  // trainable, requires_grad
  NamedTensors named_buffers() const;     // BN running statistics
  NamedTensors state_dict() const;        // both, in PyTorch state_dict order
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;        // sum of numel over parameters (the papers' count)

 protected:
  // Register members in the order the PyTorch module creates them.
  void register_parameter(const std::string& name, Tensor* t);
  void register_buffer(const std::string& name, Tensor* t);
  void register_module(const std::string& name, Module* m);

 private:
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  std::vector<std::pair<std::string, Tensor*>> params_, buffers_;
  std::vector<std::pair<std::string, Module*>> children_;
};

// A module with one input and one output.
class Op : public Module {
 public:
  virtual Tensor forward(const Tensor& x, bool training) = 0;
  // DARTS' evaluation cell skips drop-path on identity ops.
  virtual bool is_identity() const { return false; }
};

// Parameter factories honouring ParamOptions (the tensors require grad).
Tensor uniform_parameter(const Shape& shape, double bound, const ParamOptions& o);
Tensor constant_parameter(const Shape& shape, double value, const ParamOptions& o);
Tensor constant_buffer(const Shape& shape, double value, const ParamOptions& o);

}  // namespace bnas::nas
