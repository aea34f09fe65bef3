// Row-major GEMM on the CPU through OpenBLAS (cblas): C = alpha op(A) op(B) + beta C, with
// op(A): m x k, op(B): k x n, C: m x n, and leading dimensions in elements.
#pragma once
#include <cstdint>

namespace bnas::kernels::cpu {
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);
}  // namespace bnas::kernels::cpu
