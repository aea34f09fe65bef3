// CPU: aligned_alloc with byte counters. CUDA: cudaMallocAsync/cudaFreeAsync on the device's
// stream, from the default pool whose release threshold device.cpp raises to "never", so
// steady-state steps reuse pool memory without driver calls.
#include "engine/memory.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/check.h"

#if BNAS_WITH_CUDA
#include "engine/cuda_check.h"
#include "engine/cuda_context.h"
#endif

namespace bnas {
namespace {
constexpr int kMaxGpus = 64;
struct Counter {
  std::atomic<size_t> current{0}, peak{0};
  void add(size_t b) {
    const size_t now = current += b;
    size_t p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
  }
  void sub(size_t b) { current -= b; }
};
Counter g_cpu;
Counter g_gpu[kMaxGpus];
Counter& counter(Device d) {
  if (!d.is_cuda()) return g_cpu;
  BNAS_CHECK(d.index >= 0 && d.index < kMaxGpus, "device index ", d.index, " is out of range");
  return g_gpu[d.index];
}
}  // namespace

void* allocate(Device d, size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  if (d.is_cuda()) {
#if BNAS_WITH_CUDA
    set_cuda_device(d);
    CUDA_CHECK(cudaMallocAsync(&p, bytes, cuda_stream(d)));
#else
    BNAS_FAIL("this build has no CUDA support, so ", d.str(), " cannot be used");
#endif
  } else {
    p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    BNAS_CHECK(p, "out of host memory allocating ", bytes, " bytes");
  }
  counter(d).add(bytes);
  return p;
}

void deallocate(Device d, void* p, size_t bytes) {
  if (!p) return;
  if (d.is_cuda()) {
#if BNAS_WITH_CUDA
    // Destructors must not throw: a failing free leaves the block to the pool.
    cudaFreeAsync(p, cuda_stream(d));
#endif
  } else {
    std::free(p);
  }
  counter(d).sub(bytes);
}

MemoryStats memory_stats(Device d) {
  Counter& c = counter(d);
  return {c.current.load(), c.peak.load()};
}
void reset_peak_memory(Device d) {
  Counter& c = counter(d);
  c.peak = c.current.load();
}

void copy_bytes(Device dst_dev, void* dst, Device src_dev, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (!dst_dev.is_cuda() && !src_dev.is_cuda()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if BNAS_WITH_CUDA
  const Device g = dst_dev.is_cuda() ? dst_dev : src_dev;
  cudaStream_t s = cuda_stream(g);
  if (dst_dev.is_cuda() && src_dev.is_cuda() && dst_dev.index != src_dev.index) {
    CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_dev.index, src, src_dev.index, bytes, s));
  } else {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
  }
  // A host destination must hold the data on return.
  if (!dst_dev.is_cuda()) CUDA_CHECK(cudaStreamSynchronize(s));
#else
  BNAS_FAIL("this build has no CUDA support");
#endif
}

void fill_zero_bytes(Device d, void* p, size_t bytes) {
  if (bytes == 0) return;
  if (d.is_cuda()) {
#if BNAS_WITH_CUDA
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, cuda_stream(d)));
#endif
  } else {
    std::memset(p, 0, bytes);
  }
}

}  // namespace bnas
