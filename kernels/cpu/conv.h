// 2-D convolution on the CPU (T = float or double), NCHW, no bias. See kernels/conv_shape.h for
// the layout of x, w and y. Depthwise convolutions (groups == cin == cout) run as direct loops;
// every other convolution as im2col + OpenBLAS GEMM.
#pragma once
#include "kernels/conv_shape.h"

namespace bnas::kernels::cpu {

// y = conv(x, w).
template <class T> void conv2d_forward(const ConvShape& s, const T* x, const T* w, T* y);
// Gradients of y = conv(x, w) given gy (contiguous, n x cout x ho x wo). gx (contiguous
// n x cin x h x w) and gw (cout x cin/groups x kh x kw) are overwritten; either may be null, and
// then it is not computed (x may be null when gw is, w when gx is).
template <class T>
void conv2d_backward(const ConvShape& s, const T* x, const T* w, const T* gy, T* gx, T* gw);

}  // namespace bnas::kernels::cpu
