// Self-tests of the emulator (cuda_emu.h) on small hand-written kernels: the warp shuffles' lane
// arithmetic, fresh poisoned shared memory per block, and that misuse which is undefined on a GPU
// aborts (divergent barriers, a barrier after a thread exited, a deadlock, oversized launches)
// instead of passing, so that the kernel-file tests can be trusted to catch it.
#include "tests/cuda_emu/cuda_emu.h"
// (cuda_emu.h first)
#include "tests/cuda_emu/emu_harness.h"

namespace bnas::testing {
namespace {

// Runs body(t) on a 1-D grid, t the global thread index.
void run(unsigned blocks, unsigned threads, const std::function<void(int)>& body) {
  ::emu::launch(dim3(blocks), dim3(threads), 0,
                [&] { body(static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x)); });
}

// Death tests re-run the binary (the emulator's worker threads do not survive a fork).
void dies(const std::function<void()>& f, const char* message) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(f(), message);
}

std::vector<EmuCase> cases() {
  return {
      {"shfl_xor_butterfly", [] {
         std::vector<int> got(64, -1);
         run(1, 64, [&](int t) { got[size_t(t)] = __shfl_xor_sync(0xffffffffu, t, 5); });
         for (int t = 0; t < 64; ++t) EXPECT_EQ(got[size_t(t)], t ^ 5);
       }},
      {"shfl_down_keeps_own_past_lane_31", [] {
         std::vector<double> got(64, -1);
         run(1, 64, [&](int t) { got[size_t(t)] = __shfl_down_sync(0xffffffffu, double(t), 4); });
         for (int t = 0; t < 64; ++t) EXPECT_EQ(got[size_t(t)], (t & 31) < 28 ? t + 4 : t);
       }},
      {"shared_memory_fresh_and_poisoned", [] {
         std::vector<float> seen(4, 0.f);
         run(4, 32, [&](int t) {
           auto& s = ::emu::shared<float[32]>(1);
           if (threadIdx.x == 0) seen[blockIdx.x] = s[31];  // read before any write: poison
           __syncthreads();
           s[threadIdx.x] = float(t);
         });
         for (float v : seen) EXPECT_TRUE(std::isnan(v));
       }},
      {"divergent_syncthreads_aborts", [] {
         dies([] {
           run(1, 64, [](int t) {
             if (t < 32) {
               __syncthreads();
             } else {
               __syncthreads();  // another call site (sites are source lines)
             }
           });
         }, "different");
       }},
      {"syncthreads_after_exit_aborts", [] {
         dies([] {
           run(1, 64, [](int t) {
             if (t >= 40) return;
             __syncthreads();
           });
         }, "exited");
       }},
      {"shuffle_in_divergent_code_aborts", [] {
         dies([] {
           run(1, 64, [](int t) {
             if (t % 32 < 16) (void)__shfl_xor_sync(0xffffffffu, t, 1);
           });
         }, "exited");
       }},
      {"deadlock_aborts", [] {
         dies([] {
           run(1, 64, [](int t) {
             if (t < 32) {
               (void)__shfl_xor_sync(0xffffffffu, t, 1);  // warp 0 waits for warp 1 here,
               __syncthreads();
             } else {
               __syncthreads();  // warp 1 for warp 0 here
               (void)__shfl_xor_sync(0xffffffffu, t, 1);
             }
           });
         }, "deadlock|different");
       }},
      {"launch_limits_throw", [] {
         EXPECT_THROW(run(0, 64, [](int) {}), Error);
         EXPECT_THROW(run(1, 1025, [](int) {}), Error);
         EXPECT_THROW(::emu::launch(dim3(1, 65536), dim3(32), 0, [] {}), Error);
       }},
  };
}
INSTANTIATE_TEST_SUITE_P(emu_selftest, CudaEmu, ::testing::ValuesIn(cases()), emu_case_name);

}  // namespace
}  // namespace bnas::testing
