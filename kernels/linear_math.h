// Per-element math of the linear layer's bias, shared by kernels/cpu/linear.cpp and
// kernels/cuda/linear.cu so that both backends add and reduce in the same order.
#pragma once
#include <cstdint>

#include "kernels/hd.h"

namespace bnas::kernels {

// Sum over rows of column j of a row-major rows x cols matrix, rows in increasing order (a fixed
// order: the bias gradient is bit-identical run to run and between the CPU and the GPU).
template <class T> BNAS_HD T column_sum(const T* m, int64_t rows, int64_t cols, int64_t j) {
  T acc = T(0);
  for (int64_t i = 0; i < rows; ++i) acc += m[i * cols + j];
  return acc;
}

}  // namespace bnas::kernels
