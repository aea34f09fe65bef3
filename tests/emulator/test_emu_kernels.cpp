// The emulator's device side (emulator/include/cuda_emu/kernel.h, emulator/src/launch.cpp) on small
// hand-written kernels run directly with cuda_emu::run_grid on host memory: the warp shuffles'
// lane arithmetic, fresh poisoned shared memory per block, real barriers for every thread of a
// full 1024-thread block, 2-D and 3-D blocks, and that misuse which is undefined on a GPU aborts
// (divergent barriers, a barrier after a thread exited, a deadlock, more than 48 KiB of shared
// memory) instead of passing, so that the kernel-file tests (tests/cuda_emu, tests/mixed_edge) can
// be trusted to catch it. Launch limits are checked by cuda_emu::launch (test_emu_runtime.cpp).
#include <gtest/gtest.h>

#include <cuda_emu/kernel.h>
#include <cuda_runtime_api.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace {

// Runs body(t) for every thread of a 1-D grid, t the global thread index, now, on this thread.
// barriers: the kernel uses __syncthreads or shuffles (what convert.py finds statically), so its
// threads run as fibers; otherwise as a plain loop.
void run(unsigned blocks, unsigned threads, const std::function<void(int)>& body, bool barriers = true) {
  cuda_emu::run_grid(cuda_emu::KernelSite{"test_kernel", __FILE__, __LINE__, barriers}, dim3(blocks), dim3(threads), 0,
                     [&] { body(static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x)); });
}

// Death tests re-run the binary for the statement (fibers and fork do not mix well).
void dies(const std::function<void()>& f, const char* message) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(f(), message);
}

TEST(EmuKernels, ShflXorIsAButterflyWithinEachWarp) {
  std::vector<int> got(64, -1);
  run(1, 64, [&](int t) { got[size_t(t)] = __shfl_xor_sync(0xffffffffu, t, 5); });
  for (int t = 0; t < 64; ++t) EXPECT_EQ(got[size_t(t)], t ^ 5);
}

TEST(EmuKernels, ShflDownKeepsItsOwnValuePastLane31) {
  std::vector<double> got(64, -1);
  run(1, 64, [&](int t) { got[size_t(t)] = __shfl_down_sync(0xffffffffu, double(t), 4); });
  for (int t = 0; t < 64; ++t) EXPECT_EQ(got[size_t(t)], (t & 31) < 28 ? t + 4 : t);
}

TEST(EmuKernels, SharedMemoryIsFreshAndPoisonedInEveryBlock) {
  std::vector<float> seen(4, 0.f), seen_dynamic(4, 0.f);
  cuda_emu::run_grid(cuda_emu::KernelSite{"shared", __FILE__, __LINE__, true}, dim3(4), dim3(32), 32 * sizeof(float),
                     [&] {
                       auto& s = ::cuda_emu::shared<float[32]>(1);
                       float* d = ::cuda_emu::dynamic_shared<float>();
                       if (threadIdx.x == 0) {  // read before any write: the poison, not the last block's values
                         seen[blockIdx.x] = s[31];
                         seen_dynamic[blockIdx.x] = d[31];
                       }
                       __syncthreads();
                       s[threadIdx.x] = d[threadIdx.x] = float(blockIdx.x * 32 + threadIdx.x);
                     });
  for (float v : seen) EXPECT_TRUE(std::isnan(v));
  for (float v : seen_dynamic) EXPECT_TRUE(std::isnan(v));
}

// A block tree reduction over a full 1024-thread block: 11 barriers, every thread through each,
// and every thread reads the total after the last one.
TEST(EmuKernels, EveryThreadOfA1024ThreadBlockPassesEachBarrier) {
  const unsigned blocks = 3, threads = 1024;
  std::vector<long long> total(blocks * threads, -1);
  run(blocks, threads, [&](int t) {
    auto& sm = ::cuda_emu::shared<long long[1024]>(1);
    const unsigned i = threadIdx.x;
    sm[i] = t;
    __syncthreads();
    for (unsigned stride = 512; stride > 0; stride /= 2) {
      if (i < stride) sm[i] += sm[i + stride];
      __syncthreads();
    }
    total[size_t(t)] = sm[0];
  });
  for (unsigned b = 0; b < blocks; ++b) {
    const long long first = b * threads, want = (first + first + threads - 1) * threads / 2;
    for (unsigned i = 0; i < threads; ++i) ASSERT_EQ(total[b * threads + i], want) << "block " << b << " thread " << i;
  }
}

// threadIdx.y / z and blockIdx.y on the plain-loop path: every thread of every block exactly once.
TEST(EmuKernels, MultiDimensionalBlocksRunEveryThreadOnce) {
  const dim3 grid(2, 3), block(4, 3, 2);
  const int per_block = 4 * 3 * 2, n = 2 * 3 * per_block;
  std::vector<int> hits(size_t(n), 0), where(size_t(n), -1);
  cuda_emu::run_grid(cuda_emu::KernelSite{"dims", __FILE__, __LINE__, false}, grid, block, 0, [&] {
    const int b = static_cast<int>(blockIdx.x + gridDim.x * blockIdx.y);
    const int t = static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
    const int g = b * per_block + t;
    ++hits[size_t(g)];
    where[size_t(g)] = static_cast<int>(threadIdx.x * 100 + threadIdx.y * 10 + threadIdx.z);
  });
  for (int g = 0; g < n; ++g) {
    EXPECT_EQ(hits[size_t(g)], 1) << "thread " << g;
    const int t = g % per_block;
    EXPECT_EQ(where[size_t(g)], (t % 4) * 100 + (t / 4 % 3) * 10 + t / 12) << "thread " << g;
  }
}

// The same on the fiber path: warps are runs of 32 linear thread indices (x fastest), so a 2-D
// block's shuffle partners follow threadIdx.x + blockDim.x * threadIdx.y.
TEST(EmuKernels, MultiDimensionalBlocksShuffleAlongLinearThreadIndices) {
  const dim3 block(16, 4, 2);  // 128 threads: 4 warps, each two rows of 16
  std::vector<int> got(128, -1);
  cuda_emu::run_grid(cuda_emu::KernelSite{"dims_shfl", __FILE__, __LINE__, true}, dim3(1), block, 0, [&] {
    const int t = static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
    got[size_t(t)] = __shfl_xor_sync(0xffffffffu, t, 16);  // the thread in the other row of the warp
  });
  for (int t = 0; t < 128; ++t) EXPECT_EQ(got[size_t(t)], t ^ 16);
}

// A grid or block with a 0 dimension is refused at the launch, as a GPU refuses it (the limits
// at the top end are in test_emu_runtime.cpp).
TEST(EmuKernels, EmptyGridsAndBlocksAreRefusedAtTheLaunch) {
  struct Config {
    dim3 grid, block;
  };
  for (const Config& c : {Config{dim3(0), dim3(32)}, Config{dim3(1, 0), dim3(32)}, Config{dim3(1), dim3(0)}}) {
    bool ran = false;
    EXPECT_EQ(cuda_emu::launch(cuda_emu::KernelSite{"empty", __FILE__, __LINE__, false}, c.grid, c.block, 0, nullptr,
                               [&] { ran = true; }, {}),
              cudaErrorInvalidConfiguration);
    const cudaError_t e = cudaGetLastError();
    EXPECT_EQ(e, cudaErrorInvalidConfiguration);
    EXPECT_NE(std::string(cudaGetErrorString(e)).find("dimension is 0"), std::string::npos) << cudaGetErrorString(e);
    EXPECT_FALSE(ran);
  }
}

TEST(EmuKernelsDeathTest, DivergentSyncthreadsAborts) {
  dies(
      [] {
        run(1, 64, [](int t) {
          if (t < 32) {
            __syncthreads();
          } else {
            __syncthreads();  // another call site (sites are source lines)
          }
        });
      },
      "divergent code");
}

TEST(EmuKernelsDeathTest, SyncthreadsAfterAThreadExitedAborts) {
  dies(
      [] {
        run(1, 64, [](int t) {
          if (t >= 40) return;
          __syncthreads();
        });
      },
      "exited");
}

TEST(EmuKernelsDeathTest, ShuffleInDivergentCodeAborts) {
  dies(
      [] {
        run(1, 64, [](int t) {
          if (t % 32 < 16) (void)__shfl_xor_sync(0xffffffffu, t, 1);
        });
      },
      "exited");
}

// Warp 0 shuffles then waits at one __syncthreads, warp 1 waits at another then would shuffle:
// the block barrier sees two call sites.
TEST(EmuKernelsDeathTest, CrossedBarriersAbort) {
  dies(
      [] {
        run(1, 64, [](int t) {
          if (t < 32) {
            (void)__shfl_xor_sync(0xffffffffu, t, 1);
            __syncthreads();
          } else {
            __syncthreads();
            (void)__shfl_xor_sync(0xffffffffu, t, 1);
          }
        });
      },
      "deadlock|divergent code");
}

// Half of warp 0 waits at a shuffle for lanes that wait at __syncthreads for it: nothing can move.
TEST(EmuKernelsDeathTest, DeadlockAborts) {
  dies(
      [] {
        run(1, 64, [](int t) {
          if (t < 16) (void)__shfl_xor_sync(0xffffffffu, t, 1);
          __syncthreads();
        });
      },
      "deadlock");
}

TEST(EmuKernelsDeathTest, MoreThan48KiBOfSharedMemoryAborts) {
  dies(
      [] {
        run(
            1, 32,
            [](int) {
              auto& a = ::cuda_emu::shared<float[8192]>(1);  // 32 KiB
              auto& b = ::cuda_emu::shared<float[4097]>(2);  // and 16 KiB + 4 bytes
              a[threadIdx.x] = b[threadIdx.x] = 0.f;
            },
            false);
      },
      "48 KiB");
}

}  // namespace
