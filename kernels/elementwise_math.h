// Per-element math shared by kernels/cpu/elementwise.cpp and kernels/cuda/elementwise.cu.
#pragma once
#include "kernels/hd.h"

namespace bnas::kernels {

template <class T> BNAS_HD T relu(T x) { return x > T(0) ? x : T(0); }
// PyTorch's relu backward: gradient passes where the OUTPUT is positive.
template <class T> BNAS_HD T relu_grad(T y, T gy) { return y > T(0) ? gy : T(0); }
// b == 0 ignores y entirely (so a non-finite y cannot leak into a pure scale).
template <class T> BNAS_HD T axpby(T a, T x, T b, T y) { return b == T(0) ? a * x : a * x + b * y; }

}  // namespace bnas::kernels
