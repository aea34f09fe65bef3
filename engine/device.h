// Devices. A Device is the CPU or one CUDA GPU. CUDA state (stream, cuDNN and cuBLAS handles,
// memory pool) is created lazily on first use of a GPU, so CPU-only runs never touch the driver.
// cudaGetDeviceCount failing (error 35 on machines without a driver) means "no GPU".
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
