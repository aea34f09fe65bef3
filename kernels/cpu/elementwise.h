// Elementwise CPU kernels on contiguous arrays of n elements (T = float or double).
#pragma once
#include <cstdint>

namespace bnas::kernels::cpu {
template <class T> void relu_forward(const T* x, T* y, int64_t n);
template <class T> void relu_backward(const T* y, const T* gy, T* gx, int64_t n);
// out = a * x + b * y (out may alias x or y).
template <class T> void axpby(T a, const T* x, T b, const T* y, T* out, int64_t n);
// y += (alpha * coef[0]) * x.
template <class T> void add_scaled(const T* x, const T* coef, T alpha, T* y, int64_t n);
}  // namespace bnas::kernels::cpu
