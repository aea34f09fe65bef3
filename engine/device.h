// Devices. A Device is the CPU or one CUDA GPU. CUDA state (stream, cuDNN and cuBLAS handles,
// memory pool) is created lazily on first use of a GPU, so CPU-only runs never touch the driver.
// cudaGetDeviceCount failing means "no usable GPU", and cuda_unavailable_reason() says why: no
// driver, a driver older than the CUDA runtime this build links, no device, or another error.
#pragma once
#include <string>

namespace bnas {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  static Device cpu() { return {DeviceType::CPU, 0}; }
  static Device cuda(int i = 0) { return {DeviceType::CUDA, i}; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && (type == DeviceType::CPU || index == o.index); }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const;  // "cpu", "cuda:0"
};

// Parses "cpu", "cuda", "cuda:N"; throws bnas::Error on anything else.
Device parse_device(const std::string& text);

// True when the engine was built with CUDA and at least one GPU is usable.
bool cuda_available();
int cuda_device_count();
// Why no GPU is usable: empty when cuda_available(), otherwise one sentence for the user, e.g.
// "no GPU: no NVIDIA driver is installed", "the NVIDIA driver supports CUDA 12.4 but this build
// needs CUDA 13.0 (runtime 13000, driver 12040): update the driver", "no GPU: the driver sees
// no device", or, in a CPU-only build, "this build has no CUDA support".
std::string cuda_unavailable_reason();

namespace detail {
// cudaError_t values that cuda_unavailable_reason tells apart (checked against the CUDA headers
// in device.cpp).
constexpr int kCudaErrorInsufficientDriver = 35;
constexpr int kCudaErrorNoDevice = 100;
// The sentence of cuda_unavailable_reason for one outcome of cudaGetDeviceCount: its status
// (`error`, 0 = success) and message, the device count it gave, cudaDriverGetVersion's value (0:
// no driver) and cudaRuntimeGetVersion's (e.g. 13000 for 13.0). Empty when a GPU is usable. A
// plain function of its arguments, so that every case is testable without a GPU or a driver.
std::string describe_cuda_unavailable(int error, const std::string& error_string, int device_count,
                                      int driver_version, int runtime_version);
// "12.4" for 12040.
std::string cuda_version_string(int version);
}  // namespace detail

// Whether the build includes the CUDA backend.
constexpr bool built_with_cuda() {
#if BNAS_WITH_CUDA
  return true;
#else
  return false;
#endif
}

// Waits for all work queued on the device's stream (host sync: never inside a step).
void synchronize(Device d);

// Deterministic mode: deterministic cuDNN algorithms and atomic-free reductions on the GPU.
void set_deterministic(bool on);
bool deterministic();

}  // namespace bnas
