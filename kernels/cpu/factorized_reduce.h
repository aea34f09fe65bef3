// FactorizedReduce as one fused op on the CPU (T = float or double): the reference of
// kernels/cuda/factorized_reduce.cu, with the same operands and saved buffers (layouts in
// kernels/factorized_reduce_math.h).
#pragma once
#include <cstdint>

#include "kernels/factorized_reduce_math.h"

namespace bnas::kernels::cpu {

// Fills op.pre and op.stats and writes y (N x Co x Ho x Wo). running_mean / running_var ([Co];
// both null, or both given): training normalises with the batch statistics and updates them in
// place; eval reads them.
template <class T>
void factorized_reduce_forward(const factorized_reduce::Dims& d, const factorized_reduce::Operands<T>& op,
                               T* running_mean, T* running_var, bool training, double momentum, double eps, T* y);

// gy: N x Co x Ho x Wo. Outputs (each may be null when not requested): gx (N x C x H x W
// contiguous: the selected channels' gradient, zeros elsewhere); gw[h] (Co/2 x Cs), ggamma and
// gbeta ([Co]), overwritten, or added to when accumulate (a parameter's grad() buffer).
template <class T>
void factorized_reduce_backward(const factorized_reduce::Dims& d, const factorized_reduce::Operands<T>& op,
                                bool training, const T* gy, T* gx, T* const* gw, T* ggamma, T* gbeta,
                                bool accumulate);

}  // namespace bnas::kernels::cpu
