// CUDA_CHECK / CUDNN_CHECK / CUBLAS_CHECK: turn library status codes into bnas::Error
// (kernels/check.h) with the failing call, file:line and the library's own error string.
// CUDA_CHECK_CLEANUP / CUDNN_CHECK_CLEANUP: for cleanup in destructors, which must not throw: a
// failure is said on stderr (the call, file:line and the error string), once per call site.
// Only include from CUDA-enabled translation units.
#pragma once
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "kernels/check.h"

namespace bnas::detail {
inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "success";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "invalid value";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "architecture mismatch";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "execution failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "not supported";
    default: return "error";
  }
}
// Says a failed cleanup call on stderr, the first time this call site fails (the caller keeps
// the flag). cudaErrorCudartUnloading is not said: at program exit the runtime may already be
// gone, and the driver takes everything back anyway.
inline void report_cleanup_failure(std::atomic<bool>& said, const char* file, int line, const char* call,
                                   const char* error) {
  if (said.exchange(true)) return;
  std::fprintf(stderr, "bnas: warning: cleanup failed at %s:%d: %s: %s (said once for this call)\n", file, line, call,
               error);
}
}  // namespace bnas::detail

#define CUDA_CHECK(call)                                                                   \
  do {                                                                                     \
    cudaError_t err_ = (call);                                                             \
    if (err_ != cudaSuccess)                                                               \
      ::bnas::detail::fail(__FILE__, __LINE__, #call,                                      \
                           ::bnas::detail::concat("CUDA error: ", cudaGetErrorString(err_))); \
  } while (0)
#define CUDNN_CHECK(call)                                                                  \
  do {                                                                                     \
    cudnnStatus_t st_ = (call);                                                            \
    if (st_ != CUDNN_STATUS_SUCCESS)                                                       \
      ::bnas::detail::fail(__FILE__, __LINE__, #call,                                      \
                           ::bnas::detail::concat("cuDNN error: ", cudnnGetErrorString(st_))); \
  } while (0)
#define CUBLAS_CHECK(call)                                                                 \
  do {                                                                                     \
    cublasStatus_t st_ = (call);                                                           \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                      \
      ::bnas::detail::fail(__FILE__, __LINE__, #call,                                      \
                           ::bnas::detail::concat("cuBLAS error: ",                        \
                                                  ::bnas::detail::cublas_status_name(st_))); \
  } while (0)
#define CUDA_CHECK_CLEANUP(call)                                                           \
  do {                                                                                     \
    cudaError_t err_ = (call);                                                             \
    if (err_ != cudaSuccess && err_ != cudaErrorCudartUnloading) {                         \
      static std::atomic<bool> said_{false};                                               \
      ::bnas::detail::report_cleanup_failure(said_, __FILE__, __LINE__, #call,             \
                                             cudaGetErrorString(err_));                    \
    }                                                                                      \
  } while (0)
#define CUDNN_CHECK_CLEANUP(call)                                                          \
  do {                                                                                     \
    cudnnStatus_t st_ = (call);                                                            \
    if (st_ != CUDNN_STATUS_SUCCESS) {                                                     \
      static std::atomic<bool> said_{false};                                               \
      ::bnas::detail::report_cleanup_failure(said_, __FILE__, __LINE__, #call,             \
                                             cudnnGetErrorString(st_));                    \
    }                                                                                      \
  } while (0)
// CUDA_CHECK_LAUNCH(stream): after a kernel launch or a library call that launches on `stream`:
// the launch's own error (cudaGetLastError), and, with BNAS_SYNC_CHECK=1 in the environment, a
// synchronisation of the stream right after it, so that a fault inside the kernel is reported at
// the line that launched it instead of at some later synchronisation (debugging only: it waits
// for the GPU after every op; skipped while the stream captures a graph).
namespace bnas::detail {
inline bool sync_check_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("BNAS_SYNC_CHECK");
    return e && *e && std::string(e) != "0";
  }();
  return on;
}
inline void check_launch(cudaStream_t stream, const char* file, int line) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) fail(file, line, "kernel launch", concat("CUDA error: ", cudaGetErrorString(e)));
  if (!sync_check_enabled()) return;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  if (cudaStreamIsCapturing(stream, &capturing) != cudaSuccess || capturing != cudaStreamCaptureStatusNone) return;
  e = cudaStreamSynchronize(stream);
  if (e == cudaSuccess) e = cudaGetLastError();
  if (e != cudaSuccess)
    fail(file, line, "BNAS_SYNC_CHECK",
         concat("the work launched here failed on the device: CUDA error: ", cudaGetErrorString(e)));
}
}  // namespace bnas::detail
#define CUDA_CHECK_LAUNCH(stream) ::bnas::detail::check_launch((stream), __FILE__, __LINE__)
