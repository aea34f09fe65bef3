// A device copy of a host vector for tests on the emulated (or a real) device: RAII over
// cudaMalloc / cudaFree, with upload() and to_host() through cudaMemcpy.
#pragma once
#include <cuda_runtime_api.h>

#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/cuda_check.h"

namespace bnas::testing {

template <class T> class DeviceBuffer {
  static_assert(std::is_trivially_copyable_v<T>, "device buffers hold trivially copyable values");

 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(const std::vector<T>& host) : n_(host.size()) {
    if (n_ == 0) return;
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)));
    CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(p_, o.p_);
    std::swap(n_, o.n_);
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (p_) CUDA_CHECK_CLEANUP(cudaFree(p_));
  }

  T* get() const { return p_; }
  // Overwrites the buffer with host's values (same size).
  void upload(const std::vector<T>& host) {
    if (host.size() != n_) throw std::invalid_argument("DeviceBuffer::upload: another size");
    if (n_ > 0) CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  size_t size() const { return n_; }
  // The buffer's contents now (cudaMemcpy waits for the device).
  std::vector<T> to_host() const {
    std::vector<T> v(n_);
    if (n_ > 0) CUDA_CHECK(cudaMemcpy(v.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// Device floats; a size alone gives a NaN-poisoned buffer (as new GPU memory is garbage).
struct DeviceFloats : DeviceBuffer<float> {
  explicit DeviceFloats(const std::vector<float>& v) : DeviceBuffer(v) {}
  explicit DeviceFloats(size_t n) : DeviceBuffer(std::vector<float>(n, NAN)) {}
};

}  // namespace bnas::testing
