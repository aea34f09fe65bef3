// The emulated CUDA runtime's device, error, memory and copy calls, and the counters.
// Environment: BNAS_EMU_DEVICES=N emulated devices (default 1, 0 for none: cudaErrorNoDevice);
// BNAS_EMU_DRIVER=none (no driver) or a CUDA version number below 13000 such as 12040 (a driver
// too old for the CUDA 13 runtime): cudaGetDeviceCount then fails with
// cudaErrorInsufficientDriver and cudaDriverGetVersion reports 0 or that version, as on such a
// machine; BNAS_EMU_MEMORY_MB: memory per device (default 16384); BNAS_EMU_VERBOSE=1: every
// error is also written to stderr as it happens (code that handles an error, such as a probe of
// the device count, then shows it too).
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "cuda_emu/counters.h"
#include "emu.h"

namespace cuda_emu {
namespace {

constexpr int kRuntimeVersion = 13000;

thread_local cudaError_t t_last = cudaSuccess;       // cudaGetLastError's value
thread_local cudaError_t t_detail_code = cudaSuccess;  // the code t_detail explains
thread_local std::string t_detail;
thread_local int t_device = 0;

int env_int(const char* name, int fallback) {
  const char* e = std::getenv(name);
  if (!e || !*e) return fallback;
  char* end = nullptr;
  const long v = std::strtol(e, &end, 10);
  return *end ? fallback : static_cast<int>(v);
}

int driver_version() {
  static const int v = [] {
    const char* e = std::getenv("BNAS_EMU_DRIVER");
    if (!e || !*e) return kRuntimeVersion;
    if (std::strcmp(e, "none") == 0) return 0;
    return env_int("BNAS_EMU_DRIVER", kRuntimeVersion);
  }();
  return v;
}
bool driver_ok() { return driver_version() >= kRuntimeVersion; }

const char* standard_text(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorCudartUnloading: return "driver shutting down";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalState: return "the operation cannot be performed in the present state";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    case cudaErrorLaunchOutOfResources: return "too many resources requested for launch";
    case cudaErrorPeerAccessAlreadyEnabled: return "peer access is already enabled";
    case cudaErrorPeerAccessNotEnabled: return "peer access has not been enabled";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotPermitted: return "operation not permitted";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureMerge: return "operation would result in a merge of separate capture sequences";
    case cudaErrorStreamCaptureUnmatched: return "capture was not ended in the same stream as it began";
    case cudaErrorStreamCaptureUnjoined: return "capturing stream has unjoined work";
    case cudaErrorStreamCaptureIsolation:
      return "dependency created on uncaptured work in another stream";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorCapturedEvent: return "operation not permitted on an event last recorded in a capturing stream";
    case cudaErrorStreamCaptureWrongThread:
      return "attempt to terminate a thread-local capture sequence from another thread";
    case cudaErrorGraphExecUpdateFailure: return "the graph update was not performed because it included changes "
                                                "which violated constraints specific to instantiated graph update";
    default: return "unknown error";
  }
}

struct Counts {
  std::atomic<uint64_t> launches{0}, graph_launches{0}, syncs{0}, allocs{0}, frees{0}, h2d{0}, d2h{0}, d2d{0};
  std::mutex m;
  std::map<std::string, uint64_t> by_name;
};
// BNAS_EMU_LAUNCH_PROFILE=1 prints the launches per kernel name to stderr at exit, most first.
void print_launch_profile();
Counts& counts() {
  static Counts* c = [] {
    if (env_int("BNAS_EMU_LAUNCH_PROFILE", 0) != 0) std::atexit(print_launch_profile);
    return new Counts;
  }();
  return *c;
}
void print_launch_profile() {
  Counts& c = counts();
  std::lock_guard<std::mutex> lock(c.m);
  std::vector<std::pair<uint64_t, std::string>> rows;
  for (const auto& [name, n] : c.by_name) rows.emplace_back(n, name);
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(stderr, "CUDA emulator: %llu launches\n", static_cast<unsigned long long>(c.launches.load()));
  for (const auto& [n, name] : rows) std::fprintf(stderr, "%10llu  %s\n", static_cast<unsigned long long>(n), name.c_str());
}

cudaError_t no_driver(const char* call) {
  if (driver_version() == 0)
    return fail(cudaErrorInsufficientDriver, call, "no NVIDIA driver is installed (BNAS_EMU_DRIVER=none)");
  return fail(cudaErrorInsufficientDriver, call,
              "the driver supports CUDA " + std::to_string(driver_version() / 1000) + "." +
                  std::to_string(driver_version() % 1000 / 10) + ", older than the CUDA 13.0 runtime");
}

// Which way a copy goes, from the pointers (unified addressing) and the kind the caller named.
cudaError_t direction(const char* call, const void* dst, const void* src, cudaMemcpyKind kind, cudaMemcpyKind* out) {
  const bool dd = is_device_pointer(dst), sd = is_device_pointer(src);
  const cudaMemcpyKind actual = sd ? (dd ? cudaMemcpyDeviceToDevice : cudaMemcpyDeviceToHost)
                                   : (dd ? cudaMemcpyHostToDevice : cudaMemcpyHostToHost);
  if (kind != cudaMemcpyDefault && kind != actual) {
    static const char* names[] = {"host to host", "host to device", "device to host", "device to device", "default"};
    if (kind < 0 || kind > 4)
      return fail(cudaErrorInvalidMemcpyDirection, call, "the copy kind is not a cudaMemcpyKind");
    return fail(cudaErrorInvalidValue, call,
                std::string("the copy was declared ") + names[kind] + " but its pointers make it " + names[actual]);
  }
  *out = actual;
  return cudaSuccess;
}

// wait_for_pageable: the host waits when the destination is pageable memory (cudaMemcpyAsync;
// cudaMemcpy waits for the whole device afterwards anyway).
cudaError_t copy_async(const char* call, void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                       cudaStream_t stream, bool wait_for_pageable) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return fail(cudaErrorInvalidValue, call, "a null pointer");
  cudaMemcpyKind dir;
  if (cudaError_t e = direction(call, dst, src, kind, &dir)) return e;
  const bool pageable_dst = dir == cudaMemcpyDeviceToHost && !is_pinned_host(dst, bytes);
  const bool pageable_src = dir == cudaMemcpyHostToDevice && !is_pinned_host(src, bytes);
  if (pageable_dst || pageable_src)
    if (cudaError_t e = capture_forbids(call, stream, "a copy to or from pageable host memory")) return e;
  if (cudaError_t e = submit(call, call, OpKind::Memcpy, stream, {Access{src, bytes, false}, Access{dst, bytes, true}},
                             [=] {
                               std::memcpy(dst, src, bytes);
                               count_copy(dir, bytes);
                             }))
    return e;
  // A copy into pageable host memory returns only once the data is there: a host wait.
  if (pageable_dst && wait_for_pageable) return host_wait(call, stream);
  return cudaSuccess;
}

}  // namespace

cudaError_t fail(cudaError_t code, const char* call, const std::string& detail) {
  t_last = code;
  t_detail_code = code;
  t_detail = std::string(standard_text(code)) + " (" + call + ": " + detail + ")";
  static const bool verbose = env_int("BNAS_EMU_VERBOSE", 0) != 0;
  if (verbose) std::fprintf(stderr, "CUDA emulator: %s: %s\n", call, detail.c_str());
  return code;
}

int device_count() {
  static const int n = std::max(0, std::min(16, env_int("BNAS_EMU_DEVICES", 1)));
  return n;
}
int current_device() { return t_device; }
bool valid_device(int device) { return device >= 0 && device < device_count(); }

void count_launch(const std::string& name) {
  Counts& c = counts();
  ++c.launches;
  std::lock_guard<std::mutex> lock(c.m);
  ++c.by_name[name];
}
void count_sync() { ++counts().syncs; }
void count_alloc() { ++counts().allocs; }
void count_free() { ++counts().frees; }
void count_graph_launch() { ++counts().graph_launches; }
void count_copy(cudaMemcpyKind direction, size_t bytes) {
  Counts& c = counts();
  if (direction == cudaMemcpyHostToDevice) c.h2d += bytes;
  else if (direction == cudaMemcpyDeviceToHost) c.d2h += bytes;
  else if (direction == cudaMemcpyDeviceToDevice) c.d2d += bytes;
}

Counters counters() {
  Counts& c = counts();
  Counters r;
  r.launches = c.launches;
  r.graph_launches = c.graph_launches;
  r.syncs = c.syncs;
  r.allocs = c.allocs;
  r.frees = c.frees;
  r.h2d_bytes = c.h2d;
  r.d2h_bytes = c.d2h;
  r.d2d_bytes = c.d2d;
  std::lock_guard<std::mutex> lock(c.m);
  r.by_name = c.by_name;
  return r;
}

Counters operator-(const Counters& a, const Counters& b) {
  Counters r;
  r.launches = a.launches - b.launches;
  r.graph_launches = a.graph_launches - b.graph_launches;
  r.syncs = a.syncs - b.syncs;
  r.allocs = a.allocs - b.allocs;
  r.frees = a.frees - b.frees;
  r.h2d_bytes = a.h2d_bytes - b.h2d_bytes;
  r.d2h_bytes = a.d2h_bytes - b.d2h_bytes;
  r.d2d_bytes = a.d2d_bytes - b.d2d_bytes;
  for (const auto& [name, n] : a.by_name) {
    auto it = b.by_name.find(name);
    const uint64_t d = n - (it == b.by_name.end() ? 0 : it->second);
    if (d) r.by_name[name] = d;
  }
  return r;
}

}  // namespace cuda_emu

using cuda_emu::fail;

extern "C" {

int cuda_emu_read_counters(uint64_t* values, int n) {
  const cuda_emu::Counters c = cuda_emu::counters();
  const uint64_t all[] = {c.launches, c.graph_launches, c.syncs,     c.allocs,
                          c.frees,    c.h2d_bytes,      c.d2h_bytes, c.d2d_bytes};
  const int k = std::min<int>(n, 8);
  for (int i = 0; i < k; ++i) values[i] = all[i];
  return k;
}

cudaError_t cudaGetLastError(void) {
  const cudaError_t e = cuda_emu::t_last;
  cuda_emu::t_last = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError(void) { return cuda_emu::t_last; }
const char* cudaGetErrorString(cudaError_t error) {
  if (error == cuda_emu::t_detail_code && !cuda_emu::t_detail.empty()) return cuda_emu::t_detail.c_str();
  return cuda_emu::standard_text(error);
}
const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorCapturedEvent: return "cudaErrorCapturedEvent";
    default: return "cudaErrorUnknown";
  }
}

cudaError_t cudaDriverGetVersion(int* version) {
  *version = cuda_emu::driver_version();
  return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int* version) {
  *version = cuda_emu::kRuntimeVersion;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = 0;
  if (!cuda_emu::driver_ok()) return cuda_emu::no_driver("cudaGetDeviceCount");
  if (cuda_emu::device_count() == 0)
    return fail(cudaErrorNoDevice, "cudaGetDeviceCount", "BNAS_EMU_DEVICES=0: the emulator offers no device");
  *count = cuda_emu::device_count();
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = cuda_emu::t_device;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (!cuda_emu::driver_ok()) return cuda_emu::no_driver("cudaSetDevice");
  if (!cuda_emu::valid_device(device))
    return fail(cudaErrorInvalidDevice, "cudaSetDevice",
                "device " + std::to_string(device) + " does not exist (" + std::to_string(cuda_emu::device_count()) +
                    " emulated)");
  cuda_emu::t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (!cuda_emu::valid_device(device))
    return fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties", "device " + std::to_string(device) + " does not exist");
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "bnas_engine CUDA emulator (sm_90 model)");
  p->totalGlobalMem = cuda_emu::device_capacity();
  p->sharedMemPerBlock = 48 * 1024;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
  p->clockRate = 1980000;
  p->totalConstMem = 65536;
  p->major = 9, p->minor = 0;
  p->multiProcessorCount = 132;
  p->l2CacheSize = 50 << 20;
  p->maxThreadsPerMultiProcessor = 2048;
  p->sharedMemPerBlockOptin = 227 * 1024;
  p->sharedMemPerMultiprocessor = 228 * 1024;
  p->unifiedAddressing = 1;
  p->memoryBusWidth = 5120;
  return cudaSuccess;
}

cudaError_t cudaDeviceCanAccessPeer(int* can, int device, int peer) {
  if (!cuda_emu::valid_device(device) || !cuda_emu::valid_device(peer))
    return fail(cudaErrorInvalidDevice, "cudaDeviceCanAccessPeer", "a device does not exist");
  *can = device != peer;
  return cudaSuccess;
}

cudaError_t cudaDeviceEnablePeerAccess(int peer, unsigned) {
  const int d = cuda_emu::t_device;
  if (!cuda_emu::valid_device(peer) || peer == d)
    return fail(cudaErrorInvalidDevice, "cudaDeviceEnablePeerAccess", "peer " + std::to_string(peer) + " is not another device");
  if (cuda_emu::peer_enabled(d, peer))
    return fail(cudaErrorPeerAccessAlreadyEnabled, "cudaDeviceEnablePeerAccess", "already enabled");
  cuda_emu::enable_peer(d, peer);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  const cuda_emu::PoolFigures f = cuda_emu::pool_figures(cuda_emu::t_device);
  *total_bytes = cuda_emu::device_capacity();
  *free_bytes = *total_bytes - f.reserved;
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (cudaError_t e = cuda_emu::forbidden_in_capture("cudaMalloc")) return e;
  void* p = cuda_emu::device_alloc(cuda_emu::t_device, bytes);
  if (!p)
    return fail(cudaErrorMemoryAllocation, "cudaMalloc",
                "cuda:" + std::to_string(cuda_emu::t_device) + " is out of memory (" + std::to_string(bytes) + " bytes asked)");
  cuda_emu::poison(p, bytes);
  cuda_emu::count_alloc();
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (cudaError_t e = cuda_emu::forbidden_in_capture("cudaFree")) return e;
  if (cudaError_t e = cuda_emu::device_wait("cudaFree")) return e;  // cudaFree synchronises the device
  if (!cuda_emu::device_free(ptr)) {
    char at[64];
    std::snprintf(at, sizeof at, "%p", ptr);
    return fail(cudaErrorInvalidValue, "cudaFree",
                std::string(at) + " is not the start of a live device buffer (freed twice, or never allocated)");
  }
  cuda_emu::count_free();
  return cudaSuccess;
}

cudaError_t cudaMallocAsync(void** ptr, size_t bytes, cudaStream_t stream) {
  return cuda_emu::stream_alloc(ptr, bytes, stream);
}
cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream) {
  if (!ptr) return cudaSuccess;
  return cuda_emu::stream_free(ptr, stream);
}

cudaError_t cudaHostAlloc(void** ptr, size_t bytes, unsigned) {
  if (cudaError_t e = cuda_emu::forbidden_in_capture("cudaHostAlloc")) return e;
  *ptr = cuda_emu::pinned_alloc(bytes);
  if (!*ptr) return fail(cudaErrorMemoryAllocation, "cudaHostAlloc", "out of host memory");
  return cudaSuccess;
}
cudaError_t cudaMallocHost(void** ptr, size_t bytes) { return cudaHostAlloc(ptr, bytes, cudaHostAllocDefault); }
cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (cudaError_t e = cuda_emu::forbidden_in_capture("cudaFreeHost")) return e;
  if (!cuda_emu::pinned_free(ptr))
    return fail(cudaErrorInvalidValue, "cudaFreeHost", "the pointer was not returned by cudaHostAlloc or cudaMallocHost");
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  return cuda_emu::copy_async("cudaMemcpyAsync", dst, src, bytes, kind, stream, true);
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (cudaError_t e = cuda_emu::forbidden_in_capture("cudaMemcpy")) return e;
  if (cudaError_t e = cuda_emu::copy_async("cudaMemcpy", dst, src, bytes, kind, nullptr, false)) return e;
  return cuda_emu::device_wait("cudaMemcpy");
}

cudaError_t cudaMemcpyPeerAsync(void* dst, int dst_device, const void* src, int src_device, size_t bytes,
                                cudaStream_t stream) {
  const cuda_emu::Block* d = cuda_emu::find_block(dst);
  const cuda_emu::Block* s = cuda_emu::find_block(src);
  if (bytes && (!d || !s || d->device != dst_device || s->device != src_device))
    return fail(cudaErrorInvalidValue, "cudaMemcpyPeerAsync",
                "the pointers are not live buffers of the devices named (cuda:" + std::to_string(dst_device) +
                    " and cuda:" + std::to_string(src_device) + ")");
  return cuda_emu::copy_async("cudaMemcpyPeerAsync", dst, src, bytes, cudaMemcpyDeviceToDevice, stream, true);
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  return cuda_emu::submit("cudaMemsetAsync", "cudaMemsetAsync", cuda_emu::OpKind::Memset, stream,
                          {cuda_emu::Access{ptr, bytes, true}}, [=] { std::memset(ptr, value, bytes); });
}
cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (cudaError_t e = cuda_emu::forbidden_in_capture("cudaMemset")) return e;
  return cudaMemsetAsync(ptr, value, bytes, nullptr);
}

cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* ptr) {
  *a = cudaPointerAttributes{cudaMemoryTypeUnregistered, -1, nullptr, nullptr};
  if (const cuda_emu::Block* b = cuda_emu::find_block(ptr)) {
    *a = cudaPointerAttributes{cudaMemoryTypeDevice, b->device, const_cast<void*>(ptr), nullptr};
  } else if (cuda_emu::is_pinned_host(ptr, 1)) {
    *a = cudaPointerAttributes{cudaMemoryTypeHost, -1, const_cast<void*>(ptr), const_cast<void*>(ptr)};
  }
  return cudaSuccess;
}

// Pools: one default pool per device (handle = device + 1).
cudaError_t cudaDeviceGetDefaultMemPool(cudaMemPool_t* pool, int device) {
  if (!cuda_emu::valid_device(device))
    return fail(cudaErrorInvalidDevice, "cudaDeviceGetDefaultMemPool", "device " + std::to_string(device) + " does not exist");
  *pool = reinterpret_cast<cudaMemPool_t>(static_cast<uintptr_t>(device) + 1);
  return cudaSuccess;
}

static int pool_device(cudaMemPool_t pool) { return static_cast<int>(reinterpret_cast<uintptr_t>(pool)) - 1; }

cudaError_t cudaMemPoolSetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  const int d = pool_device(pool);
  if (!cuda_emu::valid_device(d)) return fail(cudaErrorInvalidValue, "cudaMemPoolSetAttribute", "not a memory pool");
  switch (attr) {
    case cudaMemPoolAttrReservedMemHigh:
    case cudaMemPoolAttrUsedMemHigh:
      if (*static_cast<uint64_t*>(value) != 0)
        return fail(cudaErrorInvalidValue, "cudaMemPoolSetAttribute", "a high-water mark can only be reset to 0");
      cuda_emu::reset_pool_high(d, attr == cudaMemPoolAttrReservedMemHigh);
      return cudaSuccess;
    case cudaMemPoolAttrReservedMemCurrent:
    case cudaMemPoolAttrUsedMemCurrent:
      return fail(cudaErrorInvalidValue, "cudaMemPoolSetAttribute", "a current figure cannot be set");
    default:
      return cudaSuccess;  // release threshold and reuse policies: the emulated pool keeps everything
  }
}

cudaError_t cudaMemPoolGetAttribute(cudaMemPool_t pool, cudaMemPoolAttr attr, void* value) {
  const int d = pool_device(pool);
  if (!cuda_emu::valid_device(d)) return fail(cudaErrorInvalidValue, "cudaMemPoolGetAttribute", "not a memory pool");
  const cuda_emu::PoolFigures f = cuda_emu::pool_figures(d);
  uint64_t* v = static_cast<uint64_t*>(value);
  switch (attr) {
    case cudaMemPoolAttrReservedMemCurrent: *v = f.reserved; break;
    case cudaMemPoolAttrReservedMemHigh: *v = f.reserved_high; break;
    case cudaMemPoolAttrUsedMemCurrent: *v = f.used; break;
    case cudaMemPoolAttrUsedMemHigh: *v = f.used_high; break;
    case cudaMemPoolAttrReleaseThreshold: *v = UINT64_MAX; break;
    default: *static_cast<int*>(value) = 1; break;
  }
  return cudaSuccess;
}

}  // extern "C"
