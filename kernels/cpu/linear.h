// Linear layer on the CPU (T = float or double), row-major: x: n x in, w: out x in, b: out.
#pragma once
#include <cstdint>

namespace bnas::kernels::cpu {

// y = x w^T (+ b when b is not null). y: n x out.
template <class T> void linear_forward(const T* x, const T* w, const T* b, T* y, int64_t n, int64_t in, int64_t out);
// Gradients given gy (n x out); each output may be null and is then not computed:
// gx = gy w (n x in), gw = gy^T x (out x in), gb = column sums of gy (out).
template <class T>
void linear_backward(const T* x, const T* w, const T* gy, T* gx, T* gw, T* gb, int64_t n, int64_t in, int64_t out);

}  // namespace bnas::kernels::cpu
