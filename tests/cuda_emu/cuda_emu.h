// Host stand-ins for the CUDA runtime pieces the kernel files use, so that a file converted by
// tests/cuda_emu/cuda_emu.py runs on the CPU. Every launch executes its blocks one after another,
// each with one std::thread per CUDA thread, so that:
//  * __syncthreads is a real barrier of the block, and warp shuffles a real exchange among the 32
//    lanes of a warp (a barrier of the warp), with CUDA's lane arithmetic (width 32);
//  * __shared__ arrays and dynamic shared memory are fresh for every block and poisoned (0xff
//    bytes: NaN floats and doubles, -1 integers), like uninitialised on-chip memory;
//  * misuse that is undefined on a GPU aborts with a message instead of passing by luck: a
//    barrier reached from different call sites (divergent __syncthreads or shuffles), a barrier
//    while a thread of its group has already exited (or an exit while others wait), a deadlock
//    (every live thread waiting), a shuffle from a lane that does not exist, launch dimensions
//    beyond the hardware limits, more than 48 KiB of shared memory per block;
//  * cudaMemsetAsync works on host pointers (a 'device pointer' is a host pointer here), and
//    cublasSgemm is a plain column-major product with cuBLAS's argument rules.
// Slow (a thread per CUDA thread): for small shapes only.
#pragma once
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

#include "engine/check.h"

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

using cudaStream_t = void*;
inline int cudaGetLastError() { return 0; }
inline int cudaMemsetAsync(void* p, int value, size_t bytes, cudaStream_t) {
  std::memset(p, value, bytes);
  return 0;
}
#define CUDA_CHECK(call) (void)(call)

template <class T> inline T min(T a, T b) { return b < a ? b : a; }
template <class T> inline T max(T a, T b) { return a < b ? b : a; }

namespace emu {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "CUDA emulator: %s (block %u,%u,%u thread %u)\n", what, blockIdx.x, blockIdx.y, blockIdx.z,
               threadIdx.x);
  std::abort();
}

// A barrier of a group of threads (the block, or one warp). All barriers of a block share the
// block's lock, so that the block can tell when every live thread waits (a deadlock).
struct Barrier {
  int expected = 0;
  int arrived = 0, exited = 0, site = 0;
  unsigned gen = 0;
};

class Block {
 public:
  Block(int n, size_t dynamic_bytes) : n_(n), dynamic_bytes_(dynamic_bytes), warps_(static_cast<size_t>((n + 31) / 32)) {
    block_bar_.expected = n;
    for (size_t w = 0; w < warps_.size(); ++w) warps_[w].expected = std::min(32, n - 32 * static_cast<int>(w));
    dynamic_ = poisoned(dynamic_bytes);
    shuffle_.resize(static_cast<size_t>(n));
  }
  Barrier& block_barrier() { return block_bar_; }
  Barrier& warp_barrier(int t) { return warps_[static_cast<size_t>(t / 32)]; }
  int warp_size(int t) { return warp_barrier(t).expected; }

  // Waits until every thread of b's group arrived at the same call site.
  void wait(Barrier& b, int site) {
    std::unique_lock<std::mutex> lock(m_);
    if (b.exited > 0) fail("barrier or shuffle after a thread of its block or warp exited");
    if (b.arrived == 0) {
      b.site = site;
    } else if (b.site != site) {
      fail("threads of one block or warp wait at different __syncthreads or shuffle calls (divergent code)");
    }
    if (++b.arrived == b.expected) {
      b.arrived = 0;
      ++b.gen;
      blocked_ -= b.expected - 1;
      cv_.notify_all();
      return;
    }
    ++blocked_;
    if (blocked_ + exited_ == n_) fail("deadlock: every live thread of the block waits at a barrier");
    const unsigned gen = b.gen;
    cv_.wait(lock, [&] { return b.gen != gen; });
  }

  void exit_thread(int t) {
    std::lock_guard<std::mutex> lock(m_);
    Barrier& w = warp_barrier(t);
    if (block_bar_.arrived > 0 || w.arrived > 0) fail("a thread exited while others wait for it at a barrier");
    ++block_bar_.exited;
    ++w.exited;
    ++exited_;
    if (blocked_ > 0 && blocked_ + exited_ == n_) fail("deadlock: every live thread of the block waits at a barrier");
  }

  // The block's copy of the __shared__ declaration `id` (same storage for every thread).
  void* shared(int id, size_t bytes) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = shared_.find(id);
    if (it == shared_.end()) {
      static_bytes_ += bytes;
      if (static_bytes_ + dynamic_bytes_ > 48 * 1024) fail("more than 48 KiB of shared memory in one block");
      it = shared_.emplace(id, poisoned(bytes)).first;
    }
    return it->second.get();
  }
  void* dynamic() { return dynamic_.get(); }
  uint64_t* shuffle_slots() { return shuffle_.data(); }  // one per thread, for warp shuffles

 private:
  static std::unique_ptr<std::max_align_t[]> poisoned(size_t bytes) {
    const size_t n = std::max<size_t>(1, (bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t));
    std::unique_ptr<std::max_align_t[]> p(new std::max_align_t[n]);
    std::memset(static_cast<void*>(p.get()), 0xff, n * sizeof(std::max_align_t));
    return p;
  }
  const int n_;
  const size_t dynamic_bytes_;
  size_t static_bytes_ = 0;
  std::mutex m_;
  std::condition_variable cv_;
  int blocked_ = 0, exited_ = 0;
  Barrier block_bar_;
  std::vector<Barrier> warps_;
  std::map<int, std::unique_ptr<std::max_align_t[]>> shared_;
  std::unique_ptr<std::max_align_t[]> dynamic_;
  std::vector<uint64_t> shuffle_;
};
inline Block* g_block = nullptr;

// A persistent team of n threads that runs one block at a time (threads are reused across blocks
// and launches: creating a thread per CUDA thread and block dominated the run time).
class Team {
 public:
  explicit Team(int n) : n_(n) {
    for (int t = 0; t < n; ++t) threads_.emplace_back([this, t] { work(t); });
  }
  ~Team() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      ++gen_;
    }
    cv_.notify_all();
    for (std::thread& th : threads_) th.join();
  }
  void run_block(const std::function<void()>* body, dim3 grid, dim3 block, dim3 bidx) {
    std::unique_lock<std::mutex> lock(m_);
    body_ = body, grid_ = grid, block_ = block, bidx_ = bidx, done_ = 0;
    ++gen_;
    cv_.notify_all();
    done_cv_.wait(lock, [&] { return done_ == n_; });
  }

 private:
  void work(int t) {
    unsigned seen = 0;
    for (;;) {
      const std::function<void()>* body;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return gen_ != seen; });
        seen = gen_;
        if (stop_) return;
        body = body_;
        threadIdx = dim3(static_cast<unsigned>(t));
        blockIdx = bidx_;
        blockDim = block_;
        gridDim = grid_;
      }
      (*body)();
      g_block->exit_thread(t);
      std::lock_guard<std::mutex> lock(m_);
      if (++done_ == n_) done_cv_.notify_one();
    }
  }
  int n_;
  std::vector<std::thread> threads_;
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  unsigned gen_ = 0;
  bool stop_ = false;
  int done_ = 0;
  const std::function<void()>* body_ = nullptr;
  dim3 grid_, block_, bidx_;
};

// Runs body for every thread of every block (blocks in order), within the hardware's limits.
inline void launch(dim3 grid, dim3 block, size_t dynamic_bytes, const std::function<void()>& body) {
  BNAS_CHECK(block.y == 1 && block.z == 1 && block.x >= 1 && block.x <= 1024, "emulated launch: 1-D blocks only");
  BNAS_CHECK(grid.x >= 1 && grid.y >= 1 && grid.z >= 1 && grid.x <= 0x7fffffffu && grid.y <= 65535 &&
                 grid.z <= 65535,
             "emulated launch: grid ", grid.x, " x ", grid.y, " x ", grid.z, " is beyond CUDA's limits");
  const int n = static_cast<int>(block.x);
  static std::map<int, std::unique_ptr<Team>> teams;
  std::unique_ptr<Team>& team = teams[n];
  if (!team) team = std::make_unique<Team>(n);
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        Block b(n, dynamic_bytes);
        g_block = &b;
        team->run_block(&body, grid, block, dim3(bx, by, bz));
        g_block = nullptr;
      }
}

// __shared__ T name; -> auto& name = shared<T>(id) (T may be an array type).
template <class T> T& shared(int id) {
  static_assert(std::is_trivially_copyable_v<std::remove_all_extents_t<T>>, "__shared__ of a non-trivial type");
  return *static_cast<T*>(g_block->shared(id, sizeof(T)));
}
template <class T> T* dynamic_shared() { return static_cast<T*>(g_block->dynamic()); }

inline void sync_threads(int site) { g_block->wait(g_block->block_barrier(), site); }

// A full-warp shuffle: every lane publishes v, then reads lane src(lane) (its own value when src
// is outside [0, 32), as for __shfl_down_sync past the last lane).
template <class T, class F> T shuffle(int site, unsigned mask, T v, F src) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffle of a type wider than 8 bytes");
  if (mask != 0xffffffffu) fail("emulated shuffles take the full-warp mask only");
  const int t = static_cast<int>(threadIdx.x), lane = t & 31, base = t - lane;
  uint64_t* slots = g_block->shuffle_slots();
  std::memcpy(&slots[t], &v, sizeof(T));
  Barrier& warp = g_block->warp_barrier(t);
  g_block->wait(warp, site);
  const int s = src(lane);
  T r = v;
  if (s >= 0 && s < 32) {
    if (s >= g_block->warp_size(t)) fail("shuffle from a lane past the end of the block");
    std::memcpy(&r, &slots[base + s], sizeof(T));
  }
  g_block->wait(warp, site);
  return r;
}

}  // namespace emu

#define __syncthreads() ::emu::sync_threads(__LINE__)
#define __shfl_down_sync(mask, v, delta) \
  ::emu::shuffle(__LINE__, mask, v, [&](int lane_) { return lane_ + static_cast<int>(delta); })
#define __shfl_xor_sync(mask, v, lane_mask) \
  ::emu::shuffle(__LINE__, mask, v, [&](int lane_) { return lane_ ^ static_cast<int>(lane_mask); })

// cuBLAS, as much as the kernel files use: column-major C = alpha op(A) op(B) + beta C with host
// alpha / beta, summed in k order in float (C is not read when beta is 0, as in cuBLAS).
enum cublasStatus_t { CUBLAS_STATUS_SUCCESS = 0 };
enum cublasOperation_t { CUBLAS_OP_N, CUBLAS_OP_T };
enum cublasPointerMode_t { CUBLAS_POINTER_MODE_HOST, CUBLAS_POINTER_MODE_DEVICE };
struct cublasContext {
  cublasPointerMode_t mode = CUBLAS_POINTER_MODE_HOST;
};
using cublasHandle_t = cublasContext*;
#define CUBLAS_CHECK(call) BNAS_CHECK((call) == CUBLAS_STATUS_SUCCESS, "emulated cuBLAS call failed")
inline cublasStatus_t cublasSetStream(cublasHandle_t, cudaStream_t) { return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetPointerMode(cublasHandle_t h, cublasPointerMode_t m) {
  h->mode = m;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float* alpha, const float* A, int lda, const float* B, int ldb,
                                  const float* beta, float* C, int ldc) {
  BNAS_CHECK(h->mode == CUBLAS_POINTER_MODE_HOST, "emulated cublasSgemm: alpha and beta must be host pointers");
  BNAS_CHECK(m >= 0 && n >= 0 && k >= 0, "emulated cublasSgemm: negative size");
  BNAS_CHECK(lda >= std::max(1, ta == CUBLAS_OP_N ? m : k) && ldb >= std::max(1, tb == CUBLAS_OP_N ? k : n) &&
                 ldc >= std::max(1, m),
             "emulated cublasSgemm: a leading dimension is too small (CUBLAS_STATUS_INVALID_VALUE)");
  auto a = [&](int i, int l) { return ta == CUBLAS_OP_N ? A[i + int64_t(l) * lda] : A[l + int64_t(i) * lda]; };
  auto b = [&](int l, int j) { return tb == CUBLAS_OP_N ? B[l + int64_t(j) * ldb] : B[j + int64_t(l) * ldb]; };
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      float s = 0.f;
      for (int l = 0; l < k; ++l) s += a(i, l) * b(l, j);
      float& c = C[i + int64_t(j) * ldc];
      c = *beta == 0.f ? *alpha * s : *alpha * s + *beta * c;
    }
  return CUBLAS_STATUS_SUCCESS;
}
