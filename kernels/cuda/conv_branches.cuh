// The fused convolution branches of a search edge on CUDA (float32); twin of
// kernels/cpu/conv_branches.h, with the same arguments plus the stream and, for the backward, a
// scratch of conv_branches_backward_workspace(d) floats from the caller's stream-ordered pool.
// Nothing here synchronises with the host or allocates.
#pragma once
#include <cuda_runtime_api.h>

#include "kernels/conv_branches_math.h"

namespace bnas::kernels::cuda {

void conv_branches_forward(const conv_branches::Dims& d, const conv_branches::Stages<float>& st,
                           float* const* running, bool training, double momentum, double eps, float* y,
                           cudaStream_t s);

int64_t conv_branches_backward_workspace(const conv_branches::Dims& d);

void conv_branches_backward(const conv_branches::Dims& d, const conv_branches::Stages<float>& st, bool training,
                            const float* gy, float* gx, float* const* gwdw, float* const* gwpw, bool accumulate,
                            float* ws, cudaStream_t s);

}  // namespace bnas::kernels::cuda
