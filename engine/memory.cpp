// CPU: aligned_alloc with byte counters. CUDA: cudaMallocAsync/cudaFreeAsync on the device's
// stream, from the default pool whose release threshold device.cpp raises to "never", so
// steady-state steps reuse pool memory without driver calls. The reserved figures of
// memory_stats are the pool's own attributes.
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
thread_local AllocationLedger* t_ledger = nullptr;
}  // namespace

AllocationLedger::AllocationLedger() {
  BNAS_CHECK(t_ledger == nullptr, "an allocation ledger is already open on this thread");
  t_ledger = this;
}

AllocationLedger::~AllocationLedger() { t_ledger = nullptr; }

size_t AllocationLedger::kept_bytes() const {
  size_t n = 0;
  for (const auto& [p, bytes] : live_) n += bytes;
  return n;
}

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
  if (t_ledger && d.is_cuda()) t_ledger->live_[p] = bytes;
  return p;
}

void deallocate(Device d, void* p, size_t bytes) {
  if (!p) return;
  if (t_ledger && d.is_cuda() && t_ledger->live_.erase(p) == 0) t_ledger->foreign_ += bytes;
  if (d.is_cuda()) {
#if BNAS_WITH_CUDA
    // Called from destructors, which must not throw: a failing free is said on stderr (once)
    // and leaves the block to the pool.
    CUDA_CHECK_CLEANUP(cudaFreeAsync(p, cuda_stream(d)));
#endif
  } else {
    std::free(p);
  }
  counter(d).sub(bytes);
}

#if BNAS_WITH_CUDA
namespace {
// The default pool of a GPU, the one allocate() draws from (whatever device is current).
cudaMemPool_t default_pool(Device d) {
  cudaMemPool_t pool = nullptr;
  CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, d.index));
  return pool;
}
uint64_t pool_attribute(cudaMemPool_t pool, cudaMemPoolAttr attr) {
  uint64_t v = 0;
  CUDA_CHECK(cudaMemPoolGetAttribute(pool, attr, &v));
  return v;
}
}  // namespace
#endif

MemoryStats memory_stats(Device d) {
  Counter& c = counter(d);
  MemoryStats m;
  m.current = c.current.load();
  m.peak = c.peak.load();
  if (!d.is_cuda()) {
    m.reserved = m.current;
    m.reserved_peak = m.peak;
    return m;
  }
#if BNAS_WITH_CUDA
  // A GPU that does not exist holds nothing (and is not an error here: allocation says why).
  if (d.index >= 0 && d.index < cuda_device_count()) {
    const cudaMemPool_t pool = default_pool(d);
    m.reserved = static_cast<size_t>(pool_attribute(pool, cudaMemPoolAttrReservedMemCurrent));
    m.reserved_peak = static_cast<size_t>(pool_attribute(pool, cudaMemPoolAttrReservedMemHigh));
  }
#endif
  return m;
}

void reset_peak_memory(Device d) {
  Counter& c = counter(d);
  c.peak = c.current.load();
#if BNAS_WITH_CUDA
  if (d.is_cuda() && d.index >= 0 && d.index < cuda_device_count()) {
    uint64_t zero = 0;  // the only value accepted: resets the high-water mark to the current value
    CUDA_CHECK(cudaMemPoolSetAttribute(default_pool(d), cudaMemPoolAttrReservedMemHigh, &zero));
  }
#endif
}

#if BNAS_WITH_CUDA
namespace {
// An event for ordering one stream after another: created without timing on the current device
// and destroyed when it leaves scope (allowed once recorded: its resources go when it completes).
class OrderingEvent {
 public:
  OrderingEvent() { CUDA_CHECK(cudaEventCreateWithFlags(&e_, cudaEventDisableTiming)); }
  ~OrderingEvent() { CUDA_CHECK_CLEANUP(cudaEventDestroy(e_)); }
  OrderingEvent(const OrderingEvent&) = delete;
  OrderingEvent& operator=(const OrderingEvent&) = delete;
  cudaEvent_t get() const { return e_; }

 private:
  cudaEvent_t e_ = nullptr;
};

// GPU to GPU: the copy goes on the destination's stream after what the source's stream has
// queued (the writes of src), and the source's stream waits for the copy before its later work
// (a cudaFreeAsync of src, or a kernel overwriting it). An event is recorded on a stream of its
// own device, so each is created with that device current.
void copy_peer(Device dst_dev, void* dst, Device src_dev, const void* src, size_t bytes) {
  const cudaStream_t src_stream = cuda_stream(src_dev), dst_stream = cuda_stream(dst_dev);
  set_cuda_device(src_dev);
  OrderingEvent src_ready;
  CUDA_CHECK(cudaEventRecord(src_ready.get(), src_stream));
  set_cuda_device(dst_dev);
  OrderingEvent copied;
  CUDA_CHECK(cudaStreamWaitEvent(dst_stream, src_ready.get(), 0));
  CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_dev.index, src, src_dev.index, bytes, dst_stream));
  CUDA_CHECK(cudaEventRecord(copied.get(), dst_stream));
  CUDA_CHECK(cudaStreamWaitEvent(src_stream, copied.get(), 0));
}
}  // namespace
#endif

void copy_bytes(Device dst_dev, void* dst, Device src_dev, const void* src, size_t bytes) {
  if (bytes == 0) return;
  if (!dst_dev.is_cuda() && !src_dev.is_cuda()) {
    std::memcpy(dst, src, bytes);
    return;
  }
#if BNAS_WITH_CUDA
  if (dst_dev.is_cuda() && src_dev.is_cuda() && dst_dev.index != src_dev.index) {
    copy_peer(dst_dev, dst, src_dev, src, bytes);
    return;
  }
  // One GPU: its stream orders the copy after the work that wrote the source.
  const Device g = dst_dev.is_cuda() ? dst_dev : src_dev;
  cudaStream_t s = cuda_stream(g);
  set_cuda_device(g);
  CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, s));
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
