// FactorizedReduce as one fused op on CUDA (float32); twin of kernels/cpu/factorized_reduce.h,
// with the same arguments plus the stream and, for the backward, a scratch of
// factorized_reduce_backward_workspace(d) floats from the caller's stream-ordered pool. Nothing
// here synchronises with the host or allocates.
#pragma once
#include <cuda_runtime_api.h>

#include "kernels/factorized_reduce_math.h"

namespace bnas::kernels::cuda {

void factorized_reduce_forward(const factorized_reduce::Dims& d, const factorized_reduce::Operands<float>& op,
                               float* running_mean, float* running_var, bool training, double momentum, double eps,
                               float* y, cudaStream_t s);

int64_t factorized_reduce_backward_workspace(const factorized_reduce::Dims& d);

void factorized_reduce_backward(const factorized_reduce::Dims& d, const factorized_reduce::Operands<float>& op,
                                bool training, const float* gy, float* gx, float* const* gw, float* ggamma,
                                float* gbeta, bool accumulate, float* ws, cudaStream_t s);

}  // namespace bnas::kernels::cuda
