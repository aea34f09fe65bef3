// Helpers shared by the op implementations in engine/ops/: argument checks, backend dispatch
// and the CUDA launch context. Each op file follows one pattern:
//   1. check inputs (shapes, dtype, device) with sentences a user can act on;
//   2. allocate the output; call kernels::cpu::<op><T> or kernels::cuda::<op> (float only);
//   3. if any_requires_grad(...), record a Node whose backward calls the backward kernels.
#pragma once
#include <string>
#include <vector>

#include "engine/autograd.h"
#include "engine/check.h"
#include "engine/tensor.h"

#if BNAS_WITH_CUDA
#include "engine/cuda_context.h"
#endif

namespace bnas::ops::detail {

// Throws unless all defined tensors share a device and a floating dtype; names `op` in the error.
void check_same(const char* op, std::initializer_list<const Tensor*> ts);
// Throws unless x has `ndim` dims.
void check_ndim(const char* op, const Tensor& x, int ndim);
// Throws unless `selected` (when defined) is an int32 [Cs] tensor on x's device and, when it
// lives on the host, holds Cs distinct channels of [0, C) in increasing order (a device tensor is
// not read: that would synchronise).
void check_channel_selection(const char* op, const Tensor& selected, const Tensor& x, int64_t Cs, int64_t C);

#if BNAS_WITH_CUDA
// Sets the current device and returns its stream; float32 only on the GPU.
cudaStream_t cuda_launch(const char* op, const Tensor& x);
#endif

}  // namespace bnas::ops::detail

// BNAS_DISPATCH_FLOAT(dtype, T, body): runs body with T = float or double.
#define BNAS_DISPATCH_FLOAT(DT, T, ...)                                                  \
  switch (DT) {                                                                          \
    case ::bnas::DType::F32: { using T = float; __VA_ARGS__; break; }                     \
    case ::bnas::DType::F64: { using T = double; __VA_ARGS__; break; }                    \
    default: BNAS_FAIL("this op needs a float32 or float64 tensor, got ", ::bnas::dtype_name(DT)); \
  }

// BNAS_ON_CUDA(stmts): the statements in a CUDA build; an error in a CPU-only build (where no
// tensor can live on a GPU, so this is never reached by valid programs).
#if BNAS_WITH_CUDA
#define BNAS_ON_CUDA(...) do { __VA_ARGS__; } while (0)
#else
#define BNAS_ON_CUDA(...) BNAS_FAIL("this build has no CUDA support")
#endif
