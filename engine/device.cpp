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

namespace detail {

std::string cuda_version_string(int version) {
  return std::to_string(version / 1000) + "." + std::to_string((version % 1000) / 10);
}

std::string describe_cuda_unavailable(int error, const std::string& error_string, int device_count,
                                      int driver_version, int runtime_version) {
  if (error == 0) return device_count > 0 ? std::string() : "no GPU: the driver sees no device";
  if (error == kCudaErrorNoDevice) return "no GPU: the driver sees no device";
  if (error == kCudaErrorInsufficientDriver) {
    // The runtime says 35 both without a driver (cudaDriverGetVersion gives 0) and with one that
    // is older than the runtime.
    if (driver_version <= 0) return "no GPU: no NVIDIA driver is installed";
    if (driver_version < runtime_version)
      return "the NVIDIA driver supports CUDA " + cuda_version_string(driver_version) + " but this build needs CUDA " +
             cuda_version_string(runtime_version) + " (runtime " + std::to_string(runtime_version) + ", driver " +
             std::to_string(driver_version) + "): update the driver";
    return "no GPU: cudaGetDeviceCount says the driver is insufficient (" + error_string +
           ") although it supports CUDA " + cuda_version_string(driver_version) +
           " and this build's runtime is CUDA " + cuda_version_string(runtime_version);
  }
  return "no GPU: cudaGetDeviceCount failed: " + error_string + " (CUDA error " + std::to_string(error) + ")";
}

}  // namespace detail

namespace {
struct CudaDevices {
  int count = 0;
  std::string reason;  // empty when count > 0
};

const CudaDevices& cuda_devices() {
  static const CudaDevices devices = [] {
    CudaDevices r;
#if BNAS_WITH_CUDA
    static_assert(cudaErrorInsufficientDriver == detail::kCudaErrorInsufficientDriver &&
                      cudaErrorNoDevice == detail::kCudaErrorNoDevice,
                  "the CUDA error codes of device.h do not match cuda_runtime_api.h");
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      cudaGetLastError();  // not sticky: clear it so that later calls do not report it again
      n = 0;
    }
    int driver = 0, runtime = 0;
    if (err != cudaSuccess || n == 0) {
      if (cudaDriverGetVersion(&driver) != cudaSuccess) driver = 0;
      if (cudaRuntimeGetVersion(&runtime) != cudaSuccess) runtime = 0;
      cudaGetLastError();
    }
    r.count = n;
    r.reason = detail::describe_cuda_unavailable(static_cast<int>(err), cudaGetErrorString(err), n, driver, runtime);
    // An empty CUDA_VISIBLE_DEVICES (or one naming no GPU) hides every device: say so.
    const char* visible = std::getenv("CUDA_VISIBLE_DEVICES");
    if (!r.reason.empty() && visible && (err == cudaErrorNoDevice || (err == cudaSuccess && n == 0)))
      r.reason += std::string(" (CUDA_VISIBLE_DEVICES=\"") + visible + "\")";
#else
    r.reason = "this build has no CUDA support";
#endif
    return r;
  }();
  return devices;
}
}  // namespace

int cuda_device_count() { return cuda_devices().count; }

bool cuda_available() { return cuda_device_count() > 0; }

std::string cuda_unavailable_reason() { return cuda_devices().reason; }

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
  BNAS_CHECK(d.index >= 0 && d.index < n, "device ", d.str(), " does not exist (", n, " GPU(s) visible",
             n == 0 ? ": " + cuda_unavailable_reason() : std::string(), ")");
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
