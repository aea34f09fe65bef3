// The emulated cuBLAS (see emulator/include/cublas_v2.h): handles and SGEMM on the emulated device.
//
// Design:
//  * Checking follows cuBLAS: a null or destroyed handle is CUBLAS_STATUS_NOT_INITIALIZED; bad
//    enumerations, negative sizes and too-small leading dimensions are
//    CUBLAS_STATUS_INVALID_VALUE (the reference BLAS rules cuBLAS applies). Every failure also
//    says one sentence on stderr ("cuBLAS emulator: <call>: <sentence>"); the status is what the
//    caller sees. Mistakes a GPU would turn into a fault later (a null matrix, alpha given as a
//    device pointer in host pointer mode) are INVALID_VALUE here, said at the call.
//  * Quick returns as in cuBLAS / the reference BLAS: m or n of 0 does nothing; alpha == 0 or
//    k == 0 with beta == 1 does nothing; otherwise alpha == 0 or k == 0 only scales C by beta
//    (A and B are not read). beta == 0 never reads C, so NaN garbage in C does not leak in.
//  * Execution is one cuda_emu::submit of kind Library named "cublasSgemm" on the handle's
//    stream, listing A, B and C (and alpha / beta in device pointer mode) with their extents, so
//    it is ordered, hazard checked, capturable and counted. Host-mode alpha / beta are read at
//    the call, as cuBLAS does (the caller may reuse them at once); device-mode ones are read
//    when the operation runs, as on a GPU.
//  * Arithmetic: each C element is one float sum over k in increasing order, accumulated with
//    std::fma (s = fma(a, b, s)): a GPU GEMM accumulates with fused multiply-adds, so products
//    are not rounded before being added. The epilogue alpha * s + beta * C is one fma too. The
//    order is fixed, so the atomics mode changes nothing: results are deterministic either way.
#include <cublas_v2.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "emu.h"

struct cublasContext {
  cudaStream_t stream = nullptr;  // the legacy default stream until cublasSetStream
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasAtomicsMode_t atomics_mode = CUBLAS_ATOMICS_NOT_ALLOWED;
};

namespace {

cublasStatus_t reject(cublasStatus_t status, const char* call, const std::string& sentence) {
  std::fprintf(stderr, "cuBLAS emulator: %s: %s\n", call, sentence.c_str());
  return status;
}

std::string address(const void* p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

// Live handles. Never destroyed: handles may be destroyed by static destructors at exit.
struct Handles {
  std::mutex m;
  std::unordered_set<const void*> live;
};
Handles& handles() {
  static Handles* h = new Handles();
  return *h;
}
bool is_live(const void* p) {
  std::lock_guard<std::mutex> lock(handles().m);
  return handles().live.count(p) > 0;
}

cublasStatus_t check_handle(const char* call, cublasHandle_t h) {
  if (!h) return reject(CUBLAS_STATUS_NOT_INITIALIZED, call, "the handle is null (call cublasCreate first)");
  if (!is_live(h))
    return reject(CUBLAS_STATUS_NOT_INITIALIZED, call,
                  "handle " + address(h) + " is not a live cuBLAS handle (destroyed, or never created)");
  return CUBLAS_STATUS_SUCCESS;
}

const char* op_name(cublasOperation_t op) {
  switch (op) {
    case CUBLAS_OP_N: return "CUBLAS_OP_N";
    case CUBLAS_OP_T: return "CUBLAS_OP_T";
    case CUBLAS_OP_C: return "CUBLAS_OP_C";
    default: return "an invalid operation";
  }
}

// Bytes spanned by a column-major rows x cols matrix with leading dimension ld (rows, cols > 0).
size_t span(int rows, int cols, int ld) { return (size_t(cols - 1) * size_t(ld) + size_t(rows)) * sizeof(float); }

}  // namespace

extern "C" {

const char* cublasGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "error detected trying to check the license";
  }
  return "unknown error";
}

cublasStatus_t cublasCreate_v2(cublasHandle_t* handle) {
  const char* call = "cublasCreate";
  if (!handle) return reject(CUBLAS_STATUS_INVALID_VALUE, call, "the output pointer is null");
  if (cuda_emu::device_count() == 0)
    return reject(CUBLAS_STATUS_NOT_INITIALIZED, call, "there is no emulated CUDA device (BNAS_EMU_DEVICES is 0)");
  *handle = new cublasContext();
  std::lock_guard<std::mutex> lock(handles().m);
  handles().live.insert(*handle);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle) {
  const char* call = "cublasDestroy";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  {
    std::lock_guard<std::mutex> lock(handles().m);
    handles().live.erase(handle);
  }
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int* version) {
  const char* call = "cublasGetVersion";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  if (!version) return reject(CUBLAS_STATUS_INVALID_VALUE, call, "version is null");
  *version = CUBLAS_VERSION;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId) {
  const char* call = "cublasSetStream";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  if (cuda_emu::stream_device(streamId) < 0)
    return reject(CUBLAS_STATUS_INVALID_VALUE, call, "stream " + address(streamId) + " is not a live CUDA stream");
  handle->stream = streamId;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t* streamId) {
  const char* call = "cublasGetStream";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  if (!streamId) return reject(CUBLAS_STATUS_INVALID_VALUE, call, "streamId is null");
  *streamId = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode) {
  const char* call = "cublasSetPointerMode";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE)
    return reject(CUBLAS_STATUS_INVALID_VALUE, call, "mode " + std::to_string(mode) + " is not a cublasPointerMode_t");
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t* mode) {
  const char* call = "cublasGetPointerMode";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  if (!mode) return reject(CUBLAS_STATUS_INVALID_VALUE, call, "mode is null");
  *mode = handle->pointer_mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t mode) {
  const char* call = "cublasSetAtomicsMode";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  if (mode != CUBLAS_ATOMICS_NOT_ALLOWED && mode != CUBLAS_ATOMICS_ALLOWED)
    return reject(CUBLAS_STATUS_INVALID_VALUE, call, "mode " + std::to_string(mode) + " is not a cublasAtomicsMode_t");
  handle->atomics_mode = mode;  // kept for cublasGetAtomicsMode; the emulated sums never use atomics
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetAtomicsMode(cublasHandle_t handle, cublasAtomicsMode_t* mode) {
  const char* call = "cublasGetAtomicsMode";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  if (!mode) return reject(CUBLAS_STATUS_INVALID_VALUE, call, "mode is null");
  *mode = handle->atomics_mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n,
                              int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc) {
  const char* call = "cublasSgemm";
  if (cublasStatus_t st = check_handle(call, handle)) return st;
  auto valid_op = [](cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; };
  if (!valid_op(transa) || !valid_op(transb))
    return reject(CUBLAS_STATUS_INVALID_VALUE, call,
                  "transa " + std::to_string(transa) + " / transb " + std::to_string(transb) +
                      ": each must be CUBLAS_OP_N, CUBLAS_OP_T or CUBLAS_OP_C");
  if (m < 0 || n < 0 || k < 0)
    return reject(CUBLAS_STATUS_INVALID_VALUE, call,
                  "m, n, k = " + std::to_string(m) + ", " + std::to_string(n) + ", " + std::to_string(k) +
                      " must not be negative");
  // For real data CUBLAS_OP_C is CUBLAS_OP_T.
  const bool ta = transa != CUBLAS_OP_N, tb = transb != CUBLAS_OP_N;
  const int a_rows = ta ? k : m, a_cols = ta ? m : k;  // A as stored
  const int b_rows = tb ? n : k, b_cols = tb ? k : n;  // B as stored
  auto too_small = [&](const char* name, int ld, int rows, const char* op) {
    return reject(CUBLAS_STATUS_INVALID_VALUE, call,
                  std::string(name) + " is " + std::to_string(ld) + ", less than max(1, " + std::to_string(rows) +
                      "), the rows of the stored matrix with " + op + " (m, n, k = " + std::to_string(m) + ", " +
                      std::to_string(n) + ", " + std::to_string(k) + ")");
  };
  if (lda < std::max(1, a_rows)) return too_small("lda", lda, a_rows, op_name(transa));
  if (ldb < std::max(1, b_rows)) return too_small("ldb", ldb, b_rows, op_name(transb));
  if (ldc < std::max(1, m)) return too_small("ldc", ldc, m, "C");
  if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;  // nothing to compute

  if (!alpha || !beta) return reject(CUBLAS_STATUS_INVALID_VALUE, call, "alpha or beta is null");
  const bool device_mode = handle->pointer_mode == CUBLAS_POINTER_MODE_DEVICE;
  float a = 0.f, b = 0.f;
  if (!device_mode) {
    if (cuda_emu::is_device_pointer(alpha) || cuda_emu::is_device_pointer(beta))
      return reject(CUBLAS_STATUS_INVALID_VALUE, call,
                    "alpha or beta is a device pointer, but the handle's pointer mode is CUBLAS_POINTER_MODE_HOST "
                    "(cublasSetPointerMode)");
    a = *alpha;
    b = *beta;
    if ((a == 0.f || k == 0) && b == 1.f) return CUBLAS_STATUS_SUCCESS;  // C stays as it is
  }
  const bool need_ab = k > 0 && (device_mode || a != 0.f);
  if (!C || (need_ab && (!A || !B)))
    return reject(CUBLAS_STATUS_INVALID_VALUE, call, std::string(!C ? "C" : !A ? "A" : "B") + " is null");

  std::vector<cuda_emu::Access> access;
  if (need_ab) {
    access.push_back({A, span(a_rows, a_cols, lda), false});
    access.push_back({B, span(b_rows, b_cols, ldb), false});
  }
  access.push_back({C, span(m, n, ldc), true});
  if (device_mode) {
    access.push_back({alpha, sizeof(float), false});
    access.push_back({beta, sizeof(float), false});
  }
  auto op = [=] {
    float av = a, bv = b;
    if (device_mode) {  // device scalars are read when the operation runs
      av = *alpha;
      bv = *beta;
      if ((av == 0.f || k == 0) && bv == 1.f) return;
    }
    auto c_at = [&](int i, int j) -> float& { return C[i + int64_t(j) * ldc]; };
    if (av == 0.f || k == 0) {  // C = beta C, A and B unread
      for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) c_at(i, j) = bv == 0.f ? 0.f : bv * c_at(i, j);
      return;
    }
    // op(A) as m rows of k and op(B) as n rows of k, so each dot product reads two contiguous
    // rows (the arithmetic is the same whatever the storage).
    std::vector<float> ar(size_t(m) * k), br(size_t(n) * k);
    for (int i = 0; i < m; ++i)
      for (int l = 0; l < k; ++l) ar[size_t(i) * k + l] = ta ? A[l + int64_t(i) * lda] : A[i + int64_t(l) * lda];
    for (int j = 0; j < n; ++j)
      for (int l = 0; l < k; ++l) br[size_t(j) * k + l] = tb ? B[j + int64_t(l) * ldb] : B[l + int64_t(j) * ldb];
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        const float* x = &ar[size_t(i) * k];
        const float* y = &br[size_t(j) * k];
        float s = 0.f;
        for (int l = 0; l < k; ++l) s = std::fma(x[l], y[l], s);
        float& c = c_at(i, j);
        c = bv == 0.f ? av * s : std::fma(av, s, bv * c);
      }
  };
  const cudaError_t e = cuda_emu::submit(call, call, cuda_emu::OpKind::Library, handle->stream, std::move(access), op);
  if (e != cudaSuccess) {
    // The runtime has said why on stderr, naming the call. Unusable pointers are invalid values.
    const bool bad_pointer =
        e == cudaErrorInvalidValue || e == cudaErrorIllegalAddress || e == cudaErrorInvalidDevicePointer;
    return bad_pointer ? CUBLAS_STATUS_INVALID_VALUE : CUBLAS_STATUS_EXECUTION_FAILED;
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // extern "C"
