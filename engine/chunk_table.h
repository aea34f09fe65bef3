// ChunkTable: the multi-tensor chunk table of kernels/optim_math.h over up to four aligned lists
// of tensors (slots param, grad, state0, state1: tensor i of every slot has the shape of
// param[i]), cut into chunks of at most kOptimChunk elements. It is built once, from tensors
// whose addresses never change, and on the GPU uploaded once (a construction-time copy that
// syncs); from then on one launch reads or writes every tensor of the table, with no upload, no
// sync and no allocation, so that launch can be captured in a CUDA graph. The optimizers
// (engine/optim.h) and the unrolled weight moves (engine/weight_unroll.h) are built on it.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "kernels/optim_math.h"

namespace bnas {

class ChunkTable {
 public:
  ChunkTable() = default;
  // `what` names the owner in error messages. Slot param must not be empty; a slot left empty
  // gives null pointers. Every tensor is contiguous and shares param[0]'s device and float dtype
  // (float32 on the GPU).
  ChunkTable(const char* what, const std::vector<Tensor>& param, const std::vector<Tensor>& grad,
             const std::vector<Tensor>& state0 = {}, const std::vector<Tensor>& state1 = {});

  int64_t count() const { return count_; }
  Device device() const { return device_; }
  DType dtype() const { return dtype_; }
  // The chunks, in device memory on the GPU and host memory on the CPU (T: the tensors' dtype).
  template <class T> const kernels::OptimChunk<T>* chunks() const;
  // The grad slot's chunks as norm chunks (for norms and clipping), in the same memory.
  template <class T> const kernels::NormChunk<T>* grad_chunks() const;

 private:
  bool on_gpu_ = false;
  Device device_;
  DType dtype_ = DType::F32;
  int64_t count_ = 0;
  std::vector<kernels::OptimChunk<float>> chunks_f_;
  std::vector<kernels::OptimChunk<double>> chunks_d_;
  std::vector<kernels::NormChunk<float>> grad_chunks_f_;
  std::vector<kernels::NormChunk<double>> grad_chunks_d_;
  Tensor chunks_dev_, grad_chunks_dev_;  // U8 bytes holding chunks_f_ / grad_chunks_f_ on the GPU
};

}  // namespace bnas
