// The fused convolution branches of a search edge on the CPU (T = float or double): the reference
// of kernels/cuda/conv_branches.cu, the same stages and saved buffers (layouts in
// kernels/conv_branches_math.h).
#pragma once
#include <cstdint>

#include "kernels/conv_branches_math.h"

namespace bnas::kernels::cpu {

// Runs the six stages and writes the four branch outputs into y (4 x N x Cs x Ho x Wo). st holds
// the input, the weights and the saved buffers (dw, pre, stats) it fills. running[2 s] and
// running[2 s + 1] are stage s's running mean and variance ([Cs], each may be null in training):
// training normalises with the batch statistics and updates them; eval reads them.
template <class T>
void conv_branches_forward(const conv_branches::Dims& d, const conv_branches::Stages<T>& st, T* const* running,
                           bool training, double momentum, double eps, T* y);

// gy: 4 x N x Cs x Ho x Wo. Outputs (each may be null when not requested): gx (N x C x H x W
// contiguous: the selected channels' gradient, zeros elsewhere); gwdw[s] and gwpw[s], shaped like
// stage s's weights, overwritten, or added to when accumulate (a parameter's grad() buffer).
template <class T>
void conv_branches_backward(const conv_branches::Dims& d, const conv_branches::Stages<T>& st, bool training,
                            const T* gy, T* gx, T* const* gwdw, T* const* gwpw, bool accumulate);

}  // namespace bnas::kernels::cpu
