// The emulated cuBLAS (emulator/src/cublas.cpp) on device memory:
//  * cublasSgemm for the four transpose combinations, with leading dimensions larger than the
//    rows, against a naive double-precision loop: |C - ref| <= 2 k eps sum_l |a_il b_lj| + beta
//    term slack (the standard float dot-product error bound, eps = FLT_EPSILON), and bit for bit
//    against the documented arithmetic (k-ordered float sum with fma, fma epilogue);
//  * the padding rows of C beyond m untouched; beta == 0 never reads C (NaN poison); k == 0
//    scales C by beta; device pointer mode reads alpha / beta from device memory;
//  * argument errors: CUBLAS_STATUS_INVALID_VALUE for too-small leading dimensions, negative
//    sizes and host-mode scalars in device memory, NOT_INITIALIZED for a null handle, each with a
//    sentence naming the call on stderr.
#include <cublas_v2.h>
#include <gtest/gtest.h>

#include "tests/cuda_emu/device_buffer.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace {

#define ASSERT_CUDA(call) ASSERT_EQ((call), cudaSuccess)
#define ASSERT_CUBLAS(call) ASSERT_EQ((call), CUBLAS_STATUS_SUCCESS)

std::vector<float> randn(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

using bnas::testing::DeviceFloats;

struct Handle {
  cublasHandle_t h = nullptr;
  Handle() { EXPECT_EQ(cublasCreate(&h), CUBLAS_STATUS_SUCCESS); }
  ~Handle() { cublasDestroy(h); }
};

// One column-major problem: A stored a_rows x a_cols (lda), B stored b_rows x b_cols (ldb), C m x n (ldc).
struct Gemm {
  cublasOperation_t ta, tb;
  int m, n, k, lda, ldb, ldc;
  std::vector<float> A, B, C;
  Gemm(cublasOperation_t ta_, cublasOperation_t tb_, int m_, int n_, int k_, int pad)
      : ta(ta_), tb(tb_), m(m_), n(n_), k(k_) {
    const int a_rows = ta == CUBLAS_OP_N ? m : k, a_cols = ta == CUBLAS_OP_N ? k : m;
    const int b_rows = tb == CUBLAS_OP_N ? k : n, b_cols = tb == CUBLAS_OP_N ? n : k;
    lda = a_rows + pad, ldb = b_rows + pad, ldc = m + pad;
    A = randn(size_t(lda) * a_cols, 1);
    B = randn(size_t(ldb) * b_cols, 2);
    C = randn(size_t(ldc) * n, 3);
  }
  float a(int i, int l) const { return ta == CUBLAS_OP_N ? A[size_t(i) + size_t(l) * lda] : A[size_t(l) + size_t(i) * lda]; }
  float b(int l, int j) const { return tb == CUBLAS_OP_N ? B[size_t(l) + size_t(j) * ldb] : B[size_t(j) + size_t(l) * ldb]; }
};

TEST(EmuCublas, SgemmMatchesDoubleReferenceForEveryTranspose) {
  Handle h;
  const float alpha = 1.5f, beta = -0.75f;
  for (cublasOperation_t ta : {CUBLAS_OP_N, CUBLAS_OP_T})
    for (cublasOperation_t tb : {CUBLAS_OP_N, CUBLAS_OP_T}) {
      SCOPED_TRACE("transa " + std::to_string(ta) + " transb " + std::to_string(tb));
      const Gemm g(ta, tb, 13, 7, 37, 3);  // non-square, every dimension distinct, padded leading dimensions
      DeviceFloats A(g.A), B(g.B), C(g.C);
      ASSERT_CUBLAS(cublasSgemm(h.h, ta, tb, g.m, g.n, g.k, &alpha, A.get(), g.lda, B.get(), g.ldb, &beta, C.get(), g.ldc));
      const std::vector<float> got = C.to_host();
      for (int j = 0; j < g.n; ++j) {
        for (int i = 0; i < g.m; ++i) {
          double ref = 0, mag = 0;
          float s = 0.f;  // the documented arithmetic: k-ordered fma sum, fma epilogue
          for (int l = 0; l < g.k; ++l) {
            ref += double(g.a(i, l)) * g.b(l, j);
            mag += std::fabs(double(g.a(i, l)) * g.b(l, j));
            s = std::fma(g.a(i, l), g.b(l, j), s);
          }
          const size_t at = size_t(i) + size_t(j) * g.ldc;
          const double want = alpha * ref + double(beta) * g.C[at];
          const double tol = 2.0 * g.k * FLT_EPSILON * (std::fabs(alpha) * mag + std::fabs(beta * g.C[at])) + 1e-30;
          EXPECT_NEAR(got[at], want, tol) << "C(" << i << ", " << j << ")";
          EXPECT_EQ(got[at], std::fma(alpha, s, beta * g.C[at])) << "C(" << i << ", " << j << ")";
        }
        for (int i = g.m; i < g.ldc; ++i)  // padding rows are not part of C
          EXPECT_EQ(got[size_t(i) + size_t(j) * g.ldc], g.C[size_t(i) + size_t(j) * g.ldc]);
      }
    }
}

TEST(EmuCublas, BetaZeroDoesNotReadCAndKZeroScalesC) {
  Handle h;
  const Gemm g(CUBLAS_OP_N, CUBLAS_OP_N, 5, 4, 6, 0);
  DeviceFloats A(g.A), B(g.B), C(g.C.size());  // C: NaN poison from cudaMalloc
  const float one = 1.f, zero = 0.f, two = 2.f;
  ASSERT_CUBLAS(cublasSgemm(h.h, CUBLAS_OP_N, CUBLAS_OP_N, g.m, g.n, g.k, &one, A.get(), g.lda, B.get(), g.ldb, &zero, C.get(),
                            g.ldc));
  for (float v : C.to_host()) EXPECT_FALSE(std::isnan(v));

  // k == 0: C = beta C; A and B are not read (null is fine).
  C.upload(g.C);
  ASSERT_CUBLAS(cublasSgemm(h.h, CUBLAS_OP_N, CUBLAS_OP_N, g.m, g.n, 0, &one, nullptr, g.lda, nullptr, g.ldb, &two, C.get(),
                            g.ldc));
  const std::vector<float> got = C.to_host();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], 2.f * g.C[i]);
  // m == 0: nothing happens, nothing is checked beyond the arguments.
  ASSERT_CUBLAS(cublasSgemm(h.h, CUBLAS_OP_N, CUBLAS_OP_N, 0, g.n, g.k, &one, A.get(), 1, B.get(), g.ldb, &two, C.get(), 1));
}

TEST(EmuCublas, DevicePointerModeReadsScalarsFromDeviceMemory) {
  Handle h;
  const Gemm g(CUBLAS_OP_T, CUBLAS_OP_N, 4, 3, 5, 1);
  DeviceFloats A(g.A), B(g.B), C(g.C), scalars(std::vector<float>{2.f, 0.5f});
  cudaStream_t stream;
  ASSERT_CUDA(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  ASSERT_CUBLAS(cublasSetStream(h.h, stream));
  ASSERT_CUBLAS(cublasSetAtomicsMode(h.h, CUBLAS_ATOMICS_NOT_ALLOWED));
  ASSERT_CUBLAS(cublasSetPointerMode(h.h, CUBLAS_POINTER_MODE_DEVICE));
  ASSERT_CUBLAS(cublasSgemm(h.h, g.ta, g.tb, g.m, g.n, g.k, scalars.get(), A.get(), g.lda, B.get(), g.ldb, scalars.get() + 1, C.get(),
                            g.ldc));
  ASSERT_CUDA(cudaStreamSynchronize(stream));
  const std::vector<float> got = C.to_host();
  for (int j = 0; j < g.n; ++j)
    for (int i = 0; i < g.m; ++i) {
      float s = 0.f;
      for (int l = 0; l < g.k; ++l) s = std::fma(g.a(i, l), g.b(l, j), s);
      const size_t at = size_t(i) + size_t(j) * g.ldc;
      EXPECT_EQ(got[at], std::fma(2.f, s, 0.5f * g.C[at]));
    }
  cublasPointerMode_t mode;
  ASSERT_CUBLAS(cublasGetPointerMode(h.h, &mode));
  EXPECT_EQ(mode, CUBLAS_POINTER_MODE_DEVICE);
  ASSERT_CUBLAS(cublasSetPointerMode(h.h, CUBLAS_POINTER_MODE_HOST));
  ASSERT_CUBLAS(cublasSetStream(h.h, nullptr));
  ASSERT_CUDA(cudaStreamDestroy(stream));
}

// Runs f with stderr captured; expects `status` and a sentence naming cublasSgemm with `words`.
template <class F> void expect_rejected(F f, cublasStatus_t status, const std::string& words) {
  testing::internal::CaptureStderr();
  const cublasStatus_t got = f();
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(got, status) << cublasGetStatusName(got) << "; stderr: " << err;
  EXPECT_NE(err.find("cuBLAS emulator: cublasSgemm: "), std::string::npos) << err;
  EXPECT_NE(err.find(words), std::string::npos) << err;
}

TEST(EmuCublas, InvalidArgumentsAreRejected) {
  Handle h;
  const Gemm g(CUBLAS_OP_N, CUBLAS_OP_T, 6, 5, 4, 0);
  DeviceFloats A(g.A), B(g.B), C(g.C), scalar(std::vector<float>{1.f});
  const float one = 1.f;
  auto sgemm = [&](cublasHandle_t hd, int m, int lda, int ldb, int ldc, const float* alpha) {
    return cublasSgemm(hd, g.ta, g.tb, m, g.n, g.k, alpha, A.get(), lda, B.get(), ldb, &one, C.get(), ldc);
  };
  // op(A) = A is m x k: lda >= m; op(B) = B^T with B stored n x k: ldb >= n; ldc >= m.
  expect_rejected([&] { return sgemm(h.h, g.m, g.m - 1, g.ldb, g.ldc, &one); }, CUBLAS_STATUS_INVALID_VALUE, "lda is 5");
  expect_rejected([&] { return sgemm(h.h, g.m, g.lda, g.n - 1, g.ldc, &one); }, CUBLAS_STATUS_INVALID_VALUE, "ldb is 4");
  expect_rejected([&] { return sgemm(h.h, g.m, g.lda, g.ldb, g.m - 1, &one); }, CUBLAS_STATUS_INVALID_VALUE, "ldc is 5");
  expect_rejected([&] { return sgemm(h.h, -1, g.lda, g.ldb, g.ldc, &one); }, CUBLAS_STATUS_INVALID_VALUE, "negative");
  expect_rejected([&] { return sgemm(h.h, g.m, g.lda, g.ldb, g.ldc, scalar.get()); }, CUBLAS_STATUS_INVALID_VALUE,
                  "CUBLAS_POINTER_MODE_HOST");
  expect_rejected([&] { return sgemm(nullptr, g.m, g.lda, g.ldb, g.ldc, &one); }, CUBLAS_STATUS_NOT_INITIALIZED,
                  "handle");
  // The valid call passes (and leaves nothing behind).
  ASSERT_CUBLAS(sgemm(h.h, g.m, g.lda, g.ldb, g.ldc, &one));
  ASSERT_CUDA(cudaDeviceSynchronize());
  EXPECT_EQ(cublasSetAtomicsMode(h.h, cublasAtomicsMode_t(7)), CUBLAS_STATUS_INVALID_VALUE);
  EXPECT_EQ(std::string(cublasGetStatusName(CUBLAS_STATUS_INVALID_VALUE)), "CUBLAS_STATUS_INVALID_VALUE");
}

}  // namespace
