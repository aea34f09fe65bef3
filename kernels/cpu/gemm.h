// Row-major GEMM on the CPU through BLAS (cblas): C = alpha op(A) op(B) + beta C, with
// op(A): m x k, op(B): k x n, C: m x n, and leading dimensions in elements.
//
// Threading: the CPU kernels parallelise with OpenMP over independent GEMMs and call BLAS from
// inside those loops, so BLAS itself must run single-threaded. Debian's OpenBLAS is the pthread
// build; letting its thread pool alternate with libgomp's spinning workers made the convolutions
// up to 16x slower on a loaded machine. The first gemm() call therefore sets OpenBLAS to one
// thread (when the linked BLAS is OpenBLAS; other BLAS libraries are left as they are).
#pragma once
#include <cstdint>

namespace bnas::kernels::cpu {
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a,
          int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);
}  // namespace bnas::kernels::cpu
