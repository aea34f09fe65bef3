// The fused partial-channel mixed edge on CUDA (float32); twin of kernels/cpu/mixed_edge.h, with
// the same arguments plus a device workspace (sizes below, in doubles, from the caller's stream-ordered pool)
// and the stream. Nothing here synchronises with the host or allocates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cuda_runtime_api.h>

#include "kernels/mixed_edge_math.h"

namespace bnas::kernels::cuda {

int64_t mixed_edge_forward_workspace_doubles(const mixed_edge::Dims& d, bool training);
int64_t mixed_edge_backward_workspace_doubles(const mixed_edge::Dims& d);

void mixed_edge_forward(const mixed_edge::Dims& d, const float* x, const int32_t* sel, const float* const* br,
                        const float* w, const float* ew, float* running_mean_max, float* running_var_max,
                        float* running_mean_avg, float* running_var_avg, bool training, double momentum,
                        double eps, float* y, float* stats, int32_t* rest, double* workspace, cudaStream_t s);

void mixed_edge_backward(const mixed_edge::Dims& d, const float* x, const int32_t* sel, const int32_t* rest,
                         const float* const* br, const float* w, const float* ew, const float* stats,
                         bool training, const float* gy, float* gx, float* const* gbr, float* gw, float* gew,
                         double* workspace, cudaStream_t s);

}  // namespace bnas::kernels::cuda
