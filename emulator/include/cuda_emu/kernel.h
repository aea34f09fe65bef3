// Device-side stand-ins for CUDA kernel files compiled as host code (emulator/convert.py turns
// kernels/cuda/*.cu into host C++ that includes this header first). A launch becomes
// cuda_emu::launch(site, grid, block, smem, stream, body, pointer_args(...)): the runtime checks
// the launch like a GPU would (limits, the stream's device, live device buffers, cross-stream
// hazards), then runs the grid's blocks one after another on the calling host thread:
//  * a kernel with no __syncthreads or warp shuffle (found statically by convert.py) runs its
//    threads as a plain loop;
//  * the others run each thread as a fiber (a user-level context switched in a few
//    nanoseconds), so __syncthreads is a real barrier of the block and a shuffle a real exchange
//    among the lanes of a warp; divergent barriers, a barrier after a thread exited and deadlocks
//    abort with a message instead of passing by luck;
//  * __shared__ arrays and dynamic shared memory are fresh for every block and poisoned (0xff
//    bytes: NaN floats, -1 integers), like uninitialised on-chip memory.
// Kernel files are compiled with -ffp-contract=fast (and FMA instructions where the CPU has
// them), so a*x+b rounds once, as nvcc contracts it on a GPU; the __f*_rn intrinsics stay
// uncontracted as on a GPU.
#pragma once
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <type_traits>
#include <typeinfo>
#include <vector>

// __thread, not thread_local: no TLS wrapper call on each access from the kernels' hot loops.
extern __thread dim3 threadIdx, blockIdx, blockDim, gridDim;
constexpr int warpSize = 32;

namespace cuda_emu {

// A buffer an operation reads or writes; bytes == 0 when the extent is unknown (a kernel's
// pointer argument: the containing allocation is taken).
struct Access {
  const void* ptr;
  size_t bytes;
  bool write;
};

// Where a launch comes from (names and lines in messages and counters).
struct KernelSite {
  const char* name;
  const char* file;
  int line;
  bool barriers;  // the kernel (or a function it calls) uses __syncthreads or warp shuffles
};

// Checks and submits a launch on `stream` (see the file comment). Errors become the thread's
// last error (cudaGetLastError), as a failed <<<>>> launch does.
cudaError_t launch(const KernelSite& site, dim3 grid, dim3 block, size_t dynamic_smem, cudaStream_t stream,
                   std::function<void()> body, std::vector<Access> pointers);

// Runs every thread of every block of the grid now, on host memory or inside a device-memory
// window (launch's op; also the emulator's own tests, which run hand-written kernels directly).
void run_grid(const KernelSite& site, dim3 grid, dim3 block, size_t dynamic_smem, const std::function<void()>& body);

// The pointer arguments of a launch: const pointers are read, others read and written.
template <class T> void add_pointer(std::vector<Access>&, const T&) {}
template <class T> void add_pointer(std::vector<Access>& out, T* const& p) {
  if (p) out.push_back(Access{p, 0, !std::is_const_v<T>});
}
template <class... A> std::vector<Access> pointer_args(const A&... a) {
  std::vector<Access> out;
  (add_pointer(out, a), ...);
  return out;
}

// Device-side primitives (called from kernel code running under run_grid).
[[noreturn]] void device_fail(const char* what);
void sync_threads(int site);
// id numbers the declaration; type tells apart the instantiations of a template's declaration,
// which are distinct variables on a GPU (block_sum<NT, double, 1> and <NT, double, 2> in one kernel).
void* shared_bytes(int id, const std::type_info& type, size_t bytes);
void* dynamic_shared_bytes();
void warp_exchange(int site, unsigned mask, uint64_t value, int source_lane, uint64_t* result);

// __shared__ T name; -> auto& name = shared<T>(id) (T may be an array type).
template <class T> T& shared(int id) {
  static_assert(std::is_trivially_copyable_v<std::remove_all_extents_t<T>>, "__shared__ of a non-trivial type");
  return *static_cast<T*>(shared_bytes(id, typeid(T), sizeof(T)));
}
template <class T> T* dynamic_shared() { return static_cast<T*>(dynamic_shared_bytes()); }

// A full-warp shuffle: every lane publishes v, then reads lane src(lane) (its own value when
// src is outside [0, 32), as for __shfl_down_sync past the last lane).
template <class T, class F> T shuffle(int site, unsigned mask, T v, F src) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
  uint64_t in = 0, out = 0;
  std::memcpy(&in, &v, sizeof(T));
  // A warp is 32 consecutive linear thread indices (x fastest), whatever the block's shape.
  const int lane = static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)) & 31;
  warp_exchange(site, mask, in, src(lane), &out);
  T r;
  std::memcpy(&r, &out, sizeof(T));
  return r;
}

// An opaque value: the compiler cannot fuse the operation that produced it into the next one
// (a __f*_rn intrinsic rounds each operation on its own, as on a GPU).
template <class T> inline T opaque(T v) {
  asm volatile("" : "+m"(v));
  return v;
}

template <class T> T atomic_add(T* p, T v) {
  T old = *p;
  T desired;
  do {
    desired = old + v;
  } while (!__atomic_compare_exchange(p, &old, &desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return old;
}

}  // namespace cuda_emu

#define __syncthreads() ::cuda_emu::sync_threads(__LINE__)
#define __shfl_down_sync(mask, v, delta) \
  ::cuda_emu::shuffle(__LINE__, mask, v, [&](int lane_) { return lane_ + static_cast<int>(delta); })
#define __shfl_xor_sync(mask, v, lane_mask) \
  ::cuda_emu::shuffle(__LINE__, mask, v, [&](int lane_) { return lane_ ^ static_cast<int>(lane_mask); })
#define __shfl_sync(mask, v, src_lane) \
  ::cuda_emu::shuffle(__LINE__, mask, v, [&](int) { return static_cast<int>(src_lane) & 31; })

template <class T> inline T min(T a, T b) { return b < a ? b : a; }
template <class T> inline T max(T a, T b) { return a < b ? b : a; }
inline float __fadd_rn(float a, float b) { return ::cuda_emu::opaque(a) + ::cuda_emu::opaque(b); }
inline float __fsub_rn(float a, float b) { return ::cuda_emu::opaque(a) - ::cuda_emu::opaque(b); }
inline float __fmul_rn(float a, float b) { return ::cuda_emu::opaque(a) * ::cuda_emu::opaque(b); }
inline float __fdiv_rn(float a, float b) { return ::cuda_emu::opaque(a) / ::cuda_emu::opaque(b); }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __dadd_rn(double a, double b) { return ::cuda_emu::opaque(a) + ::cuda_emu::opaque(b); }
inline double __dmul_rn(double a, double b) { return ::cuda_emu::opaque(a) * ::cuda_emu::opaque(b); }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
template <class T> T atomicAdd(T* p, T v) { return ::cuda_emu::atomic_add(p, v); }
