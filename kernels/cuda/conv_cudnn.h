// 2-D convolution on CUDA through cuDNN (float32, NCHW, no bias); the twin of kernels/cpu/conv.h.
// Host code (compiled by the host compiler): the engine passes its cuDNN handle and stream.
// Descriptors and the chosen algorithms are cached per (handle, shape, direction, determinism).
// Math is CUDNN_FMA_MATH (no TF32), so float32 results match the CPU's. deterministic = true
// restricts the choice to deterministic algorithms (the backward ones without atomics). When no
// candidate of the heuristics qualifies (FMA math, deterministic when asked, workspace <= 1 GiB),
// a fixed fallback algorithm runs (with FMA math) and a warning naming the shape and the reason
// goes to stderr, once per shape and direction. Every choice is kept in a registry
// (conv_algorithm_choices; the engine reads it through engine/conv_algorithms.h).
// The workspace is one buffer per stream from the stream-ordered pool, grown (cudaFreeAsync of
// the old one, cudaMallocAsync of the new one, both on `stream`) only when a call needs more, so
// steady-state steps allocate nothing. Algorithm selection uses cuDNN's heuristics only (no
// cudnnFind*: it allocates and synchronises), so nothing here waits for the GPU and a step
// stays capturable in a CUDA graph once the first steps have grown the workspace.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/conv_shape.h"

namespace bnas::kernels::cuda {

// One algorithm choice: the first call of a shape in a direction (and determinism) makes it.
struct ConvAlgorithmChoice {
  int device = 0;      // the CUDA device current when it was made (the handle's)
  ConvShape shape;
  int direction = 0;   // 0 forward, 1 backward data, 2 backward filter
  bool deterministic = false;
  int algo = 0;        // cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t
  std::string name;    // "IMPLICIT_PRECOMP_GEMM", "ALGO_1", ...
  size_t workspace_bytes = 0;
  bool fallback = false;        // no candidate of the heuristics qualified
  std::string fallback_reason;  // why, when fallback
};
// Every choice made so far, in the order made.
std::vector<ConvAlgorithmChoice> conv_algorithm_choices();

// y = conv(x, w); y contiguous.
void conv2d_forward(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s, const float* x,
                    const float* w, float* y, bool deterministic);
// gx = d conv / d x (gx contiguous n x cin x h x w, overwritten).
void conv2d_backward_data(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s,
                          const float* w, const float* gy, float* gx, bool deterministic);
// gw = d conv / d w (overwritten), or gw += d conv / d w when accumulate (cuDNN's beta = 1).
void conv2d_backward_filter(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s,
                            const float* x, const float* gy, float* gw, bool accumulate, bool deterministic);

}  // namespace bnas::kernels::cuda
