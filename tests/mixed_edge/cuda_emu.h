// Host stand-ins for the CUDA runtime pieces a kernel file uses, so that a file converted by
// tests/mixed_edge/cuda_emu.py runs on the CPU: every launch executes its blocks one after
// another, each with one std::thread per CUDA thread, so __syncthreads is a real barrier,
// __shared__ (turned into function statics) is shared by the block, and warp shuffles exchange
// values through a block buffer. Slow (a thread per CUDA thread), so for small shapes only.
#pragma once
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/check.h"

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
inline thread_local dim3 threadIdx, blockIdx, blockDim, gridDim;

using cudaStream_t = void*;
inline int cudaGetLastError() { return 0; }
#define CUDA_CHECK(call) (void)(call)

template <class T> inline T min(T a, T b) { return b < a ? b : a; }
template <class T> inline T max(T a, T b) { return a < b ? b : a; }

namespace emu {

class Barrier {
 public:
  explicit Barrier(int n) : n_(n) {}
  void wait() {
    std::unique_lock<std::mutex> lock(m_);
    const unsigned gen = gen_;
    if (++count_ == n_) {
      count_ = 0;
      ++gen_;
      cv_.notify_all();
    } else {
      cv_.wait(lock, [&] { return gen != gen_; });
    }
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int n_, count_ = 0;
  unsigned gen_ = 0;
};

struct Block {
  Block(int n, size_t smem_bytes) : bar(n), shfl(static_cast<size_t>(n)), dynamic_smem((smem_bytes + 7) / 8 * 8) {}
  Barrier bar;
  std::vector<double> shfl;
  std::vector<char> dynamic_smem;  // extern __shared__ (poisoned with NaN bytes, like fresh memory)
};
inline Block* g_block = nullptr;

// A persistent team of n threads that runs one block at a time (threads are reused across blocks
// and launches: creating 256 threads per block dominated the run time).
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
  int size() const { return n_; }
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

// Runs body for every thread of every block (blocks in order).
inline void launch(dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()>& body) {
  BNAS_CHECK(block.y == 1 && block.z == 1 && block.x >= 1 && block.x <= 1024, "emulated launch: 1-D blocks only");
  const int n = static_cast<int>(block.x);
  static std::unique_ptr<Team> team;
  if (!team || team->size() != n) team = std::make_unique<Team>(n);
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        Block b(n, smem_bytes);
        std::fill(b.dynamic_smem.begin(), b.dynamic_smem.end(), char(0xff));
        g_block = &b;
        team->run_block(&body, grid, block, dim3(bx, by, bz));
        g_block = nullptr;
      }
}

}  // namespace emu

inline void __syncthreads() { emu::g_block->bar.wait(); }

// Every thread of the block must call it (as in the kernels' block reductions).
template <class T> inline T __shfl_down_sync(unsigned, T v, int offset) {
  const int t = static_cast<int>(threadIdx.x), lane = t & 31;
  emu::g_block->shfl[static_cast<size_t>(t)] = static_cast<double>(v);
  __syncthreads();
  const T r = lane + offset < 32 ? static_cast<T>(emu::g_block->shfl[static_cast<size_t>(t + offset)]) : v;
  __syncthreads();
  return r;
}

namespace bnas::kernels::cuda_emu {
constexpr int kThreads = 256;
inline int blocks_for(int64_t n) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, 65535 * 8)));
}
}  // namespace bnas::kernels::cuda_emu

#define BNAS_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)
