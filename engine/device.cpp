// Device discovery and the lazily created per-GPU state (stream, handles, memory pool).
#include "engine/device.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "engine/check.h"

#if BNAS_WITH_CUDA
#include "engine/cuda_check.h"
#include "engine/cuda_context.h"
#endif

namespace bnas {

std::string Device::str() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

Device parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0 && text.size() > 5) {
    const std::string n = text.substr(5);
    BNAS_CHECK(n.find_first_not_of("0123456789") == std::string::npos && n.size() < 6,
               "device '", text, "' is not valid: expected cpu, cuda or cuda:N");
    return Device::cuda(std::atoi(n.c_str()));
  }
  BNAS_FAIL("device '", text, "' is not valid: expected cpu, cuda or cuda:N");
}

int cuda_device_count() {
#if BNAS_WITH_CUDA
  static const int count = [] {
    int n = 0;
    // No driver (error 35) or no device: report zero GPUs rather than failing.
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
#else
  return 0;
#endif
}

bool cuda_available() { return cuda_device_count() > 0; }

static std::atomic<bool> g_deterministic{false};
void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic; }

#if BNAS_WITH_CUDA
namespace {
struct GpuState {
  std::once_flag once;
  cudaStream_t stream = nullptr;
  std::once_flag cudnn_once, cublas_once;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
};
GpuState& gpu_state(Device d) {
  BNAS_CHECK(d.is_cuda(), "internal: CUDA state requested for ", d.str());
  const int n = cuda_device_count();
  BNAS_CHECK(d.index >= 0 && d.index < n, "device ", d.str(), " does not exist (", n,
             " GPU(s) visible)");
  static std::vector<GpuState> states(static_cast<size_t>(n));
  GpuState& s = states[static_cast<size_t>(d.index)];
  std::call_once(s.once, [&] {
    CUDA_CHECK(cudaSetDevice(d.index));
    CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
    // Keep freed blocks in the pool (no release back to the driver between steps).
    cudaMemPool_t pool;
    CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, d.index));
    uint64_t threshold = UINT64_MAX;
    CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  });
  return s;
}
}  // namespace

void set_cuda_device(Device d) {
  gpu_state(d);
  CUDA_CHECK(cudaSetDevice(d.index));
}
cudaStream_t cuda_stream(Device d) { return gpu_state(d).stream; }
cudnnHandle_t cudnn_handle(Device d) {
  GpuState& s = gpu_state(d);
  std::call_once(s.cudnn_once, [&] {
    CUDA_CHECK(cudaSetDevice(d.index));
    CUDNN_CHECK(cudnnCreate(&s.cudnn));
    CUDNN_CHECK(cudnnSetStream(s.cudnn, s.stream));
  });
  return s.cudnn;
}
cublasHandle_t cublas_handle(Device d) {
  GpuState& s = gpu_state(d);
  std::call_once(s.cublas_once, [&] {
    CUDA_CHECK(cudaSetDevice(d.index));
    CUBLAS_CHECK(cublasCreate(&s.cublas));
    CUBLAS_CHECK(cublasSetStream(s.cublas, s.stream));
    // Deterministic results need no atomics in cuBLAS reductions.
    CUBLAS_CHECK(cublasSetAtomicsMode(s.cublas, CUBLAS_ATOMICS_NOT_ALLOWED));
  });
  return s.cublas;
}
#endif

void synchronize(Device d) {
#if BNAS_WITH_CUDA
  if (d.is_cuda()) CUDA_CHECK(cudaStreamSynchronize(cuda_stream(d)));
#endif
}

}  // namespace bnas
