// 2-D convolution on CUDA through cuDNN (float32, NCHW, no bias); the twin of kernels/cpu/conv.h.
// Host code (compiled by the host compiler): the engine passes its cuDNN handle and stream.
// Descriptors and the chosen algorithms are cached per (handle, shape, direction, determinism).
// Math is CUDNN_FMA_MATH (no TF32), so float32 results match the CPU's. deterministic = true
// restricts the choice to deterministic algorithms (the backward ones without atomics).
// Workspaces come from the stream-ordered pool (cudaMallocAsync / cudaFreeAsync on `stream`);
// algorithm selection uses cuDNN's heuristics only (no cudnnFind*: it allocates and synchronises),
// so nothing here waits for the GPU and a step stays capturable in a CUDA graph.
#pragma once
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "kernels/conv_shape.h"

namespace bnas::kernels::cuda {

// y = conv(x, w); y contiguous.
void conv2d_forward(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s, const float* x,
                    const float* w, float* y, bool deterministic);
// gx = d conv / d x (gx contiguous n x cin x h x w, overwritten).
void conv2d_backward_data(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s,
                          const float* w, const float* gy, float* gx, bool deterministic);
// gw = d conv / d w (overwritten).
void conv2d_backward_filter(cudnnHandle_t handle, cudaStream_t stream, const ConvShape& s,
                            const float* x, const float* gy, float* gw, bool deterministic);

}  // namespace bnas::kernels::cuda
